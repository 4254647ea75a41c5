"""The size sweep: which base model size makes the best use of a compute budget on this machine (IsoFLOP).

Every size is trained on the same token files for the same number of FLOPs (a FLOP budget, not a time
budget, so a machine busy with other work changes the wall-clock but not the result); the size with the lowest
held-out loss at a budget is compute-optimal there, and the trend across budgets says where the optimum moves
for the long run. Runs use the wsd schedule, so the chosen size's largest run can be continued from where its
decay began (``training.pretrain.branch``; build_small's ``--branch-from``) instead of starting over.

    python -m training.sweep run --data runs/v3/tokens --out runs/sweep --budgets 2e13 6e13 \\
        --sizes 192x4 256x4 384x6 --threads 2
    python -m training.sweep table --out runs/sweep          # Markdown table + plot (sweep.png)

Each cell is one pretraining run in ``<out>/<size>-<budget>``; a finished cell is never rerun and an
interrupted one resumes from its checkpoint.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Size:
    """One model shape of the sweep: hidden size x layers (head size 64)."""

    d_model: int
    n_layers: int

    @classmethod
    def parse(cls, text: str) -> "Size":
        d, layers = text.lower().split("x")
        return cls(int(d), int(layers))

    @property
    def name(self) -> str:
        return f"{self.d_model}x{self.n_layers}"

    @property
    def n_heads(self) -> int:
        return max(1, self.d_model // 64)


def cell_config(size: Size, budget: float, data: Path, out: Path, threads: int, seq_len: int,
                batch_size: int, compile: bool):
    """The PretrainConfig of one cell: the budget in FLOPs becomes a token budget at this size."""
    from training.pretrain import PretrainConfig, flops_per_token

    meta = json.loads((data / "meta.json").read_text())
    probe = PretrainConfig(d_model=size.d_model, n_layers=size.n_layers, n_heads=size.n_heads, seq_len=seq_len,
                           batch_size=batch_size, minutes=0, max_tokens=10**12, vocab_size=meta["vocab_size"])
    tokens = int(budget / flops_per_token(probe))
    # Smaller models take larger steps; the peak is lowered for the larger shapes (a common rule of thumb
    # for models of this scale), the same for every budget so budgets compare like with like.
    lr = 2e-3 if size.d_model <= 192 else 1.5e-3 if size.d_model <= 256 else 1e-3
    steps = max(1, tokens // (seq_len * batch_size))
    return PretrainConfig(out=str(out / f"{size.name}-{budget:.0e}"), data_dir=str(data), minutes=0,
                          max_tokens=tokens, vocab_size=meta["vocab_size"], tokenizer=meta["tokenizer"],
                          max_package_mb=meta["max_package_mb"], site_packages=meta["site_packages"],
                          d_model=size.d_model, n_layers=size.n_layers, n_heads=size.n_heads, seq_len=seq_len,
                          batch_size=batch_size, lr=lr, min_lr=lr / 20, warmup_steps=min(100, steps // 10),
                          eval_every=max(50, steps // 8), eval_batches=16, log_every=20, ckpt_minutes=5.0,
                          threads=threads, compile=compile, seed=1234)


def run(data: Path, out: Path, sizes: list[Size], budgets: list[float], threads: int,
        seq_len: int = 512, batch_size: int = 8, compile: bool = True, progress=print) -> list[dict]:
    """Train every (size, budget) cell not finished yet; returns the table rows."""
    from training.pretrain import train

    out.mkdir(parents=True, exist_ok=True)
    cells = [(s, b) for b in sorted(budgets) for s in sizes]
    for index, (size, budget) in enumerate(cells, 1):
        cfg = cell_config(size, budget, data, out, threads, seq_len, batch_size, compile)
        done = Path(cfg.out) / "result.json"
        if done.is_file():
            continue
        progress(f"[{index}/{len(cells)}] {size.name} at {budget:.1e} FLOPs: {cfg.max_tokens:,} tokens")
        resume = (Path(cfg.out) / "config.json").is_file()
        state = train(cfg, resume=resume)
        done.write_text(json.dumps(_row(cfg, state, data, budget), indent=1) + "\n")
    return rows(out)


def _row(cfg, state: dict, data: Path, budget: float) -> dict:
    from training.pretrain import build_model, flops_per_token

    meta = json.loads((data / "meta.json").read_text())
    log = [json.loads(line) for line in (Path(cfg.out) / "log.jsonl").read_text().splitlines()]
    rates = [r["gflops"] for r in log if "gflops" in r][1:] or [0.0]  # the first row holds the compile
    ratios = [r["ceiling_ratio"] for r in log if "ceiling_ratio" in r][1:] or [0.0]
    params = sum(p.numel() for p in build_model(cfg).parameters())
    bits = state["val_loss"] * meta["tokens"]["val"] / meta["bytes"]["val"] / math.log(2)
    return {"size": f"{cfg.d_model}x{cfg.n_layers}", "d_model": cfg.d_model, "n_layers": cfg.n_layers,
            "parameters": params, "budget_flops": budget, "flops": flops_per_token(cfg) * state["tokens"],
            "tokens": state["tokens"],
            "steps": state["step"], "val_loss": state["val_loss"], "val_bits_per_byte": round(bits, 4),
            "seconds": round(state["elapsed"], 1), "gflops": round(sorted(rates)[len(rates) // 2], 1),
            "ceiling_ratio": round(sorted(ratios)[len(ratios) // 2], 3), "ceiling_gflops": state["ceiling_gflops"],
            "lr": cfg.lr}


def rows(out: Path) -> list[dict]:
    """Every finished cell's result, by budget then size."""
    found = [json.loads(p.read_text()) for p in sorted(Path(out).glob("*/result.json"))]
    return sorted(found, key=lambda r: (r["budget_flops"], r["parameters"]))


def table(results: list[dict]) -> str:
    """The Markdown table of the sweep, the best size of each budget in bold."""
    best = {}
    for r in results:
        key = f"{r['budget_flops']:.0e}"
        if key not in best or r["val_loss"] < best[key]["val_loss"]:
            best[key] = r
    lines = ["| budget (FLOPs) | size (d x layers) | parameters | tokens | tokens / parameter | val loss | "
             "val bits / byte | wall-clock | GFLOP/s (median) | of the matmul ceiling |", "|---" * 10 + "|"]
    for r in results:
        mark = "**" if best[f"{r['budget_flops']:.0e}"] is r else ""
        lines.append(f"| {r['budget_flops']:.1e} | {mark}{r['size']}{mark} | {r['parameters'] / 1e6:.1f} M | "
                     f"{r['tokens'] / 1e6:.1f} M | {r['tokens'] / r['parameters']:.1f} | {mark}{r['val_loss']:.3f}{mark} | "
                     f"{r['val_bits_per_byte']:.3f} | {r['seconds'] / 60:.1f} min | {r['gflops']:.0f} | "
                     f"{r['ceiling_ratio']:.0%} |")
    return "\n".join(lines)


def plot(results: list[dict], path: Path) -> Path | None:
    """Validation loss against parameters, one line per budget (the IsoFLOP curves); None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    budgets = sorted({f"{r['budget_flops']:.0e}" for r in results}, key=float)
    for budget in budgets:
        points = sorted((r["parameters"], r["val_loss"]) for r in results if f"{r['budget_flops']:.0e}" == budget)
        ax.plot([p / 1e6 for p, _ in points], [v for _, v in points], marker="o", label=f"{float(budget):.0e} FLOPs")
    ax.set_xscale("log")
    ax.set_xlabel("parameters (millions)")
    ax.set_ylabel("validation loss (nats / token)")
    ax.set_title("IsoFLOP sweep on 2 CPU cores")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.sweep", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    runner = sub.add_parser("run", help="train every cell not finished yet, then print the table")
    runner.add_argument("--data", type=Path, required=True, help="token files (training.tokens.prepare_data)")
    runner.add_argument("--out", type=Path, required=True)
    runner.add_argument("--sizes", nargs="+", default=["192x4", "256x4", "384x6"], help="d_model x layers")
    runner.add_argument("--budgets", nargs="+", type=float, default=[2e13, 6e13], help="training FLOPs per cell")
    runner.add_argument("--threads", type=int, default=2)
    runner.add_argument("--batch-size", type=int, default=8)
    runner.add_argument("--no-compile", action="store_true")
    shower = sub.add_parser("table", help="print the table and write the plot")
    shower.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.data, args.out, [Size.parse(s) for s in args.sizes], args.budgets, args.threads,
            batch_size=args.batch_size, compile=not args.no_compile)
    results = rows(args.out)
    print(table(results))
    drawn = plot(results, args.out / "sweep.png")
    print(f"plot: {drawn}" if drawn else "plot: matplotlib is not installed (pip install '.[plots]')")


if __name__ == "__main__":
    main()
