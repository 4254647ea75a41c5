"""Pretrain the codelens-nano base model: a small Llama on the permissive Python corpus, on CPU.

Read top to bottom: config -> data (tokenizer + token memmaps) -> model -> train loop with checkpoints -> export.

    python -m training.pretrain --out runs/pretrain --minutes 68 --d-model 256 --n-layers 4 --n-heads 4 \\
        --batch-size 4 --site-packages .venv/lib/python3.11/site-packages --export models/codelens-nano/base
    python -m training.pretrain --out runs/pretrain --resume        # continue a stopped run exactly
    python -m training.pretrain --out runs/pretrain --export-only DIR   # export its last checkpoint

models/codelens-nano/PRETRAINING.md records the size sweep, the exact commands and the loss curve.

The run writes ``<out>/log.jsonl`` (one JSON object per log step: step, tokens, train_loss, val_loss,
lr, tok_s, elapsed) and ``<out>/ckpt.pt`` (model, optimizer, step, RNG states, data sampler state, elapsed
time), replaced atomically every ``ckpt_minutes``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from codelens.field_docs import field_docs


@dataclass
class PretrainConfig:
    """Everything a pretraining run depends on; saved in the checkpoint and in the exported folder."""

    out: str = "runs/pretrain"
    """Run folder: log.jsonl, ckpt.pt, config.json."""
    data_dir: str = "runs/data"
    """Shared cache of the tokenizer and the uint16 token files (train.bin, val.bin); reused across runs."""
    site_packages: str = ""
    """A venv site-packages whose permissive distributions join the stdlib in the corpus ('' = stdlib only)."""
    export: str = ""
    """Folder to save the final model + tokenizer to (safetensors); '' = no export."""
    minutes: float = 60.0
    """Wall-clock budget of training (evaluation included); 0 = use max_tokens."""
    max_tokens: int = 0
    """Token budget of training; used when minutes is 0."""
    stop_at_step: int = 0
    """Stop (with a checkpoint) after this step without finishing the schedule; 0 = off. For resume tests."""
    vocab_size: int = 8192
    """BPE vocabulary size, special tokens included."""
    max_package_mb: float = 6.0
    """Cap on text tokenised from one package, so torch / transformers do not make up most of the data (0: no
    cap, for a corpus large enough that no package dominates)."""
    tokenizer: str = ""
    """An existing tokenizer folder to use ('' = train one on the corpus's train split)."""
    device: str = "cpu"
    """cpu or cuda: where the model trains (bf16 autocast on either; weights and optimizer stay fp32)."""
    compile: bool = False
    """torch.compile the model (pays off only for runs much longer than its compile time)."""
    seq_len: int = 512
    """Training window; covers the 384-token code cut of the adapter prompt plus its summary."""
    batch_size: int = 4
    """Windows per optimizer step."""
    d_model: int = 256
    """Hidden size."""
    n_layers: int = 4
    """Transformer blocks."""
    n_heads: int = 4
    """Attention heads (head size = d_model / n_heads)."""
    ffn_mult: float = 8 / 3
    """SwiGLU inner size = ffn_mult * d_model, rounded up to a multiple of 64."""
    lr: float = 1.5e-3
    """Peak learning rate."""
    min_lr: float = 1e-4
    """Learning rate at the end of the cosine decay."""
    warmup_steps: int = 100
    """Linear warm-up steps."""
    weight_decay: float = 0.1
    """AdamW decay, on matrices only (not norms)."""
    beta2: float = 0.95
    """AdamW second-moment decay."""
    grad_clip: float = 1.0
    """Global gradient-norm clip."""
    eval_every: int = 50
    """Steps between validation losses."""
    eval_batches: int = 8
    """Batches of the fixed validation windows per evaluation."""
    log_every: int = 10
    """Steps between train-loss log lines."""
    ckpt_minutes: float = 5.0
    """Minutes between checkpoints."""
    calib_steps: int = 20
    """Steps timed to turn a minutes budget into a step count for the schedule."""
    threads: int = 1
    """torch intra-op threads (the machine is shared)."""
    seed: int = 1234
    """Seeds model init, window sampling and validation windows."""
    bf16: bool = True
    """bf16 autocast (weights and optimizer stay fp32)."""

    def __post_init__(self) -> None:
        from codelens.errors import ConfigError

        if self.minutes <= 0 and self.max_tokens < self.tokens_per_step:
            raise ConfigError("pretraining has no budget", hint="give --minutes N or --max-tokens N")
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model {self.d_model} is not a multiple of n_heads {self.n_heads}",
                              hint="pick --n-heads so that d_model / n_heads is a whole head size (e.g. 64)")
        if self.vocab_size > 65536:
            raise ConfigError(f"vocab_size {self.vocab_size} does not fit the uint16 token files",
                              hint="use --vocab-size 65536 or less")

    @property
    def tokens_per_step(self) -> int:
        return self.seq_len * self.batch_size


# ---------------------------------------------------------------- data


def prepare_data(cfg: PretrainConfig, packages=None) -> Path:
    """Train the tokenizer and write train.bin / val.bin (uint16) under cfg.data_dir, once.

    ``packages`` (CorpusPackage list) replaces the machine's corpus, e.g. in tests.
    """
    import numpy as np

    from training.corpus import collect_corpus, write_manifest
    from training.tokenizer import save_tokenizer, train_tokenizer, training_texts

    data = Path(cfg.data_dir)
    meta_path = data / "meta.json"
    want = {"vocab_size": cfg.vocab_size, "max_package_mb": cfg.max_package_mb, "site_packages": cfg.site_packages,
            "tokenizer": cfg.tokenizer}
    if meta_path.exists() and {k: v for k, v in json.loads(meta_path.read_text()).items() if k in want} == want:
        return data
    data.mkdir(parents=True, exist_ok=True)
    if packages is None:
        packages = collect_corpus(Path(cfg.site_packages) if cfg.site_packages else None)
    if cfg.tokenizer:
        from transformers import AutoTokenizer

        from training.tokenizer import make_portable

        AutoTokenizer.from_pretrained(cfg.tokenizer).save_pretrained(str(data / "tokenizer"))
        make_portable(data / "tokenizer")
    else:
        save_tokenizer(train_tokenizer(training_texts(packages), cfg.vocab_size), data / "tokenizer")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(data / "tokenizer"))
    counts, sizes, per_package = {}, {}, {}
    cap = int(cfg.max_package_mb * 1e6) if cfg.max_package_mb > 0 else None
    for split in ("train", "val", "test"):
        chunks, size = [], 0
        for p in packages:
            if p.split != split:
                continue
            texts, used = [], 0
            for f in p.files:
                if cap is not None and used >= cap:
                    break
                try:
                    texts.append(f.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError):
                    continue
                used += len(texts[-1].encode("utf-8"))
            size += used
            # Each file is one document: <|bos|> text <|eos|>, as the adapter prompts start with <|bos|>.
            encoded = tok(texts, add_special_tokens=False, verbose=False)["input_ids"] if texts else []
            per_package[p.name] = sum(len(ids) for ids in encoded)
            for ids in encoded:
                chunks.append(np.asarray([tok.bos_token_id, *ids, tok.eos_token_id], dtype=np.uint16))
        arr = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.uint16)
        tmp = data / f"{split}.bin.tmp"
        arr.tofile(tmp)
        os.replace(tmp, data / f"{split}.bin")
        counts[split], sizes[split] = int(arr.size), size
    # The manifest records each package's tokens too (the card's data table); bytes per token of the held-out
    # text turn a validation loss into bits per byte, comparable across tokenizers.
    write_manifest(packages, data / "manifest.json", tokens=per_package)
    meta_path.write_text(json.dumps({**want, "tokens": counts, "bytes": sizes}, indent=1) + "\n")
    return data


class WindowSampler:
    """Random seq_len+1 windows from a uint16 token file; its state is the RNG state (saved in checkpoints)."""

    def __init__(self, path: Path, seq_len: int, seed: int):
        import numpy as np

        self.tokens = np.memmap(path, dtype=np.uint16, mode="r")
        self.seq_len = seq_len
        self.rng = np.random.default_rng(seed)

    def batch(self, batch_size: int):
        import numpy as np
        import torch

        starts = self.rng.integers(0, len(self.tokens) - self.seq_len - 1, size=batch_size)
        rows = np.stack([self.tokens[s : s + self.seq_len + 1].astype(np.int64) for s in starts])
        t = torch.from_numpy(rows)
        return t[:, :-1], t[:, 1:]


# ---------------------------------------------------------------- model


def build_model(cfg: PretrainConfig):
    """A LlamaForCausalLM with tied input/output embeddings, sized by cfg."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    inner = int(math.ceil(cfg.ffn_mult * cfg.d_model / 64) * 64)
    config = LlamaConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.d_model,
        intermediate_size=inner,
        num_hidden_layers=cfg.n_layers,
        num_attention_heads=cfg.n_heads,
        num_key_value_heads=cfg.n_heads,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=2,
        rope_theta=10000.0,
    )
    torch.manual_seed(cfg.seed)
    return LlamaForCausalLM(config)


def lr_at(step: int, total_steps: int, cfg: PretrainConfig) -> float:
    """Linear warm-up to cfg.lr, then cosine decay to cfg.min_lr at total_steps."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps))
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * progress))


def make_optimizer(model, cfg: PretrainConfig):
    import torch

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # the fused kernel does the whole update in a few launches: on a GPU, small models are launch-bound
    fused = {"fused": True} if cfg.device.startswith("cuda") else {}
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, cfg.beta2), eps=1e-8, **fused)


def loss_of(model, x, y, cfg: PretrainConfig):
    import torch
    import torch.nn.functional as F

    with torch.autocast(cfg.device.split(":")[0], dtype=torch.bfloat16, enabled=cfg.bf16):
        logits = model(input_ids=x).logits
    return F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1))


def evaluate(model, val_batches, cfg: PretrainConfig) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        losses = [loss_of(model, x, y, cfg).item() for x, y in val_batches]
    model.train()
    return sum(losses) / len(losses)


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(path: Path, model, opt, state: dict, sampler: WindowSampler) -> None:
    """Write model, optimizer, loop state and RNG states to ``path`` atomically (tmp file, then rename)."""
    import torch

    blob = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "state": state,
        "torch_rng": torch.get_rng_state(),
        "sampler_rng": sampler.rng.bit_generator.state,
    }
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, model, opt, sampler: WindowSampler) -> dict:
    import torch

    blob = torch.load(path, map_location="cpu", weights_only=False)  # our own file, holds numpy RNG state
    model.load_state_dict(blob["model"])
    opt.load_state_dict(blob["optimizer"])
    torch.set_rng_state(blob["torch_rng"])
    sampler.rng.bit_generator.state = blob["sampler_rng"]
    return blob["state"]


# ---------------------------------------------------------------- train


def train(cfg: PretrainConfig, resume: bool = False, packages=None) -> dict:
    """Run (or resume) pretraining; returns the final loop state (step, tokens, val_loss, ...).

    ``packages`` replaces the machine's corpus when the token cache in cfg.data_dir is built (tests).
    """
    import torch

    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "ckpt.pt"
    if resume and not (out / "config.json").exists():
        from codelens.errors import ConfigError

        raise ConfigError(f"there is no run to resume in {out}", hint="start it without --resume, or fix --out")
    if resume:
        # The run's own config wins; only where to stop and where to export may change on resume.
        saved = json.loads((out / "config.json").read_text())
        cfg = PretrainConfig(**{**saved, "out": cfg.out, "stop_at_step": cfg.stop_at_step,
                                "export": cfg.export or saved["export"]})
    else:
        (out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=1) + "\n")
    data = prepare_data(cfg, packages)
    device = torch.device(cfg.device)
    model = build_model(cfg).to(device)
    model.train()
    opt = make_optimizer(model, cfg)
    step_model = torch.compile(model) if cfg.compile else model
    sampler = WindowSampler(data / "train.bin", cfg.seq_len, cfg.seed)
    val = WindowSampler(data / "val.bin", cfg.seq_len, cfg.seed + 1)
    val_batches = [tuple(t.to(device) for t in val.batch(cfg.batch_size))
                   for _ in range(cfg.eval_batches)]  # fixed for the whole run

    total = cfg.max_tokens // cfg.tokens_per_step if not cfg.minutes else 0
    state = {"step": 0, "tokens": 0, "elapsed": 0.0, "total_steps": total, "val_loss": None}
    if resume and ckpt.exists():
        state = load_checkpoint(ckpt, model, opt, sampler)
    log = (out / "log.jsonl").open("a", encoding="utf-8")
    budget_s = cfg.minutes * 60
    start = time.perf_counter() - state["elapsed"]
    last_ckpt = time.perf_counter()
    window_loss, window_n, window_t, window_tok = 0.0, 0, time.perf_counter(), 0

    def done() -> bool:
        if cfg.stop_at_step and state["step"] >= cfg.stop_at_step:
            return True
        if state["total_steps"] and state["step"] >= state["total_steps"]:
            return True
        return bool(budget_s) and state["elapsed"] >= budget_s

    while not done():
        step = state["step"]
        lr = lr_at(step, state["total_steps"] or 10**9, cfg)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = (t.to(device, non_blocking=True) for t in sampler.batch(cfg.batch_size))
        loss = loss_of(step_model, x, y, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        state["step"] += 1
        state["tokens"] += cfg.tokens_per_step
        window_loss, window_n, window_tok = window_loss + loss.item(), window_n + 1, window_tok + cfg.tokens_per_step
        state["elapsed"] = time.perf_counter() - start

        if budget_s and state["step"] == cfg.calib_steps // 2:
            state["calib"] = [state["step"], state["elapsed"]]  # the first steps are slow; time from here
        if budget_s and state["step"] >= cfg.calib_steps and (
            not state["total_steps"] or (state["step"] % cfg.eval_every == 0 and state["step"] < state["total_steps"] / 2)
        ):
            # Turn the time budget into a step count so the cosine schedule ends when the time does
            # (re-estimated in the first half, as the machine is shared). Until an evaluation has been
            # timed, one is taken to cost about eval_batches / 3 training steps.
            per_step = (state["elapsed"] - state["calib"][1]) / (state["step"] - state["calib"][0])
            evals_timed = state["step"] // cfg.eval_every - state["calib"][0] // cfg.eval_every
            eval_share = 1 if evals_timed else 1 + cfg.eval_batches / 3 / cfg.eval_every
            state["total_steps"] = state["step"] + int((budget_s - state["elapsed"]) / (per_step * eval_share))

        is_eval = state["step"] % cfg.eval_every == 0 or done()
        if state["step"] % cfg.log_every == 0 or is_eval:
            now = time.perf_counter()
            row = {"step": state["step"], "tokens": state["tokens"], "train_loss": round(window_loss / window_n, 4),
                   "lr": round(lr, 6), "tok_s": round(window_tok / (now - window_t), 1),
                   "elapsed": round(state["elapsed"], 1)}
            if is_eval:
                state["val_loss"] = round(evaluate(model, val_batches, cfg), 4)
                row["val_loss"] = state["val_loss"]
                state["elapsed"] = time.perf_counter() - start
            log.write(json.dumps(row) + "\n")
            log.flush()
            window_loss, window_n, window_t, window_tok = 0.0, 0, time.perf_counter(), 0
        if time.perf_counter() - last_ckpt >= cfg.ckpt_minutes * 60 or done():
            save_checkpoint(ckpt, model, opt, state, sampler)
            last_ckpt = time.perf_counter()
    log.close()
    finished = not (cfg.stop_at_step and state["step"] >= cfg.stop_at_step and state["step"] != state["total_steps"])
    if cfg.export and finished:
        export(model, data / "tokenizer", Path(cfg.export), cfg, state)
    return state


def export(model, tokenizer_dir: Path, folder: Path, cfg: PretrainConfig, state: dict) -> None:
    """Save the model (bf16 safetensors) and tokenizer so AutoModelForCausalLM / AutoTokenizer load them."""
    import torch
    from transformers import AutoTokenizer

    from training.tokenizer import make_portable

    folder.mkdir(parents=True, exist_ok=True)
    model = model.to("cpu", torch.bfloat16)
    model.config.dtype = torch.bfloat16
    model.save_pretrained(str(folder), safe_serialization=True)
    AutoTokenizer.from_pretrained(str(tokenizer_dir)).save_pretrained(str(folder))
    make_portable(folder)
    summary = {"config": dataclasses.asdict(cfg), "steps": state["step"], "tokens": state["tokens"],
               "val_loss": state["val_loss"], "train_seconds": round(state["elapsed"], 1),
               "parameters": sum(p.numel() for p in model.parameters()),
               "flops": 6 * sum(p.numel() for p in model.parameters()) * state["tokens"]}
    meta = Path(cfg.data_dir) / "meta.json"
    if meta.is_file() and state["val_loss"] is not None:
        counts = json.loads(meta.read_text())
        if counts.get("bytes", {}).get("val"):
            # nats per token x tokens per byte / ln 2: comparable with a model of another tokenizer
            summary["val_bits_per_byte"] = round(state["val_loss"] * counts["tokens"]["val"] / counts["bytes"]["val"]
                                                 / math.log(2), 4)
    (folder / "pretraining.json").write_text(json.dumps(summary, indent=1) + "\n")


def export_from_checkpoint(run: Path, folder: Path) -> None:
    """Export the model of a run's last checkpoint (e.g. one cut short) to ``folder``."""
    import torch

    cfg = PretrainConfig(**json.loads((Path(run) / "config.json").read_text()))
    model = build_model(cfg)
    blob = torch.load(Path(run) / "ckpt.pt", map_location="cpu", weights_only=False)
    model.load_state_dict(blob["model"])
    export(model, Path(cfg.data_dir) / "tokenizer", Path(folder), cfg, blob["state"])


def parse_args(argv: list[str] | None = None) -> tuple[PretrainConfig, bool, str]:
    """Build a PretrainConfig from ``--field-name value`` flags (one per config field)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--export-only", default="", help="export --out's checkpoint to this folder and stop")
    docs = field_docs(PretrainConfig)
    for f in dataclasses.fields(PretrainConfig):
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{docs.get(f.name, '')} (default: {f.default})".replace("%", "%%")
        if f.type == "bool":
            parser.add_argument(flag, type=lambda s: s.lower() in {"1", "true", "yes"}, default=f.default,
                                help=help_text)
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(flag, type=kind, default=f.default, help=help_text)
    args = vars(parser.parse_args(argv))
    resume, export_only = args.pop("resume"), args.pop("export_only")
    return PretrainConfig(**args), resume, export_only


def main(argv: list[str] | None = None) -> None:
    cfg, resume, export_only = parse_args(argv)
    os.environ.setdefault("RAYON_NUM_THREADS", str(cfg.threads))  # tokenizers' thread pool
    if export_only:
        export_from_checkpoint(Path(cfg.out), Path(export_only))
        return
    train(cfg, resume=resume)


if __name__ == "__main__":
    main()
