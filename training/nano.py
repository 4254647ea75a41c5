"""The codelens-nano recipe: stage the corpus by package, then train and evaluate its adapters.

    python -m training.nano stage --out runs/nano-corpus      # corpus folders + split manifest
    python -m training.nano adapter --out models/codelens-nano/adapter --max-steps 1500
    python -m training.nano single --task defect --out runs/nano-single/defect --max-steps 500
    python -m training.nano refit --adapter models/codelens-nano/adapter   # thresholds again on validation
    python -m training.nano table models/codelens-nano/adapter runs/nano-single/*   # the model card's table
    python -m training.nano kinds --adapter models/codelens-nano/adapter           # defect scores per bug kind
    python -m training.nano ship --adapter runs/nano/adapter   # into models/codelens-nano/adapter
    python -m training.nano ship --adapter runs/v3/codelens-nano/adapter --base-from runs/v3/codelens-nano  # + base

The corpus is the one the base was pretrained on (training/corpus.py: the standard library and the
permissively licensed packages of the venv), with the same package-level split, so packages held
out of pretraining stay held out of the adapter: validation and test scores are on code the model
never saw. Each package becomes one folder of file links, and one "repository" for the split.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from codelens.core import TASKS

DEFAULT_BASE = Path(__file__).resolve().parent.parent / "models" / "codelens-nano" / "base"


@dataclass
class StageConfig:
    """How the corpus is cut into per-package folders."""

    out: Path = Path("runs/nano-corpus")
    """Folder to create: one sub-folder per package, plus manifest.json (package -> split)."""
    site_packages: Path | None = None
    """The venv's site-packages (default: this interpreter's purelib)."""
    max_files_per_package: int = 5
    """Cap per package, chosen by a hash of the path, so no big package dominates the data."""


def _folder_name(package: str) -> str:
    return package.replace("/", ".").replace(" ", "_")


def _pick(files: list[Path], limit: int) -> list[Path]:
    ranked = sorted(files, key=lambda p: hashlib.sha256(str(p).encode()).hexdigest())
    return sorted(ranked[:limit])


def stage(cfg: StageConfig) -> dict:
    """Create the per-package corpus folders (copies of the files) and the split manifest; return a summary."""
    from training.corpus import collect_corpus, write_manifest

    site = cfg.site_packages or Path(sysconfig.get_paths()["purelib"])
    packages = collect_corpus(site)
    cfg.out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, str] = {}
    counts = {"train": 0, "val": 0, "test": 0}
    for package in packages:
        name = _folder_name(package.name)
        folder = cfg.out / name
        folder.mkdir(exist_ok=True)
        for index, path in enumerate(_pick(package.files, cfg.max_files_per_package)):
            # A copy, not a link: a scan (and the corpus reader, which is codelens' own discovery) does not
            # follow links out of the folder it reads.
            copy = folder / f"{index:03d}_{path.name}"
            if not copy.exists():
                shutil.copy2(path, copy)
        manifest[name] = package.split
        counts[package.split] += 1
    (cfg.out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    write_manifest(packages, cfg.out / "provenance.json")
    return {"packages": len(packages), "by_split": counts, "out": str(cfg.out)}


def train_adapter(out: Path, corpus: Path, tasks: list[str], max_steps: int, seed: int, threads: int,
                  batch_size: int, base: Path = DEFAULT_BASE, checkpoint_every: int = 100, resume: bool = False,
                  device: str = "auto"):
    """Train one adapter on the staged corpus (all tasks, or one for a single-task baseline)."""
    from codelens.train.trainer import train
    from codelens.train_config import TrainConfig

    cfg = TrainConfig(
        model=str(base), corpus=[str(corpus)], out=str(out), split_by="subdir",
        manifest=str(corpus / "manifest.json"), tasks=tasks, max_steps=max_steps, batch_size=batch_size,
        seed=seed, threads=threads, checkpoint_every=checkpoint_every, resume=resume, max_code_tokens=256,
        eval_every=0, device=device, data_cache=str(corpus / ".taskdata"),
    )
    return train(cfg, progress=_print_progress)


SCORE_COLUMNS = (
    ("defect", "roc_auc", "defect ROC-AUC"), ("defect", "localisation", "defect localisation"),
    ("defect", "joint", "defect joint"), ("defect", "false_alarms_per_1000", "false alarms / 1,000"),
    ("clone", "pair_f1", "clone F1"), ("clone", "map_at_r", "clone MAP@R"),
    ("clone", "independent_map_at_r", "independent MAP@R"), ("clone", "independent_map_at_r_jaccard", "Jaccard"),
    ("summary", "bleu4", "summary BLEU-4"), ("summary", "rouge_l", "summary ROUGE-L"),
    ("summary", "shown", "summaries shown"),
)
"""Columns of the model card's score tables (task, metric key, heading); "-" where an adapter has none."""


def score_table(adapters: list[Path], split: str = "test") -> str:
    """One markdown row per adapter: its stored scores on ``split`` ("-" for a task it was not trained on)."""
    from codelens.model.adapter_meta import AdapterMetadata

    lines = ["| adapter | tasks | steps | " + " | ".join(c[2] for c in SCORE_COLUMNS) + " |",
             "|---" * (3 + len(SCORE_COLUMNS)) + "|"]
    for folder in adapters:
        meta = AdapterMetadata.load(folder)
        scores = meta.metrics.get(split, {})
        cells = []
        for task, key, _ in SCORE_COLUMNS:
            # Metrics of a task the adapter was not trained for (an untrained head) are not shown.
            value = scores.get(task, {}).get(key) if task in meta.tasks else None
            cells.append("-" if value is None else f"{value:.3f}" if key not in ("bleu4", "rouge_l", "false_alarms_per_1000")
                         else f"{value:.2f}" if key != "false_alarms_per_1000" else f"{value:.1f}")
        lines.append(f"| {folder} | {', '.join(meta.tasks)} | {meta.training.get('steps', '?')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def kind_table(adapter: Path, corpus: Path, split: str = "test") -> str:
    """Markdown rows of an adapter's defect scores per bug kind on ``split``: those its codelens.json
    stores, else recomputed from the corpus."""
    from codelens.errors import ConfigError
    from codelens.model.adapter_meta import AdapterMetadata
    from codelens.train.evaluate import evaluate

    meta = AdapterMetadata.load(adapter)
    if "defect" not in meta.tasks:
        raise ConfigError(f"{adapter} was not trained for defects: it has no per-kind defect scores",
                          hint="pass an adapter whose codelens.json lists the defect task")
    defect = meta.metrics.get(split, {}).get("defect")
    if not defect or "by_kind" not in defect:
        defect = evaluate(str(adapter), data=[str(corpus)], split=split, max_summaries=0)["metrics"]["defect"]
    lines = [f"| bug kind | {split} examples | ROC-AUC against clean code | localisation | joint | reported at the threshold |",
             "|---|---|---|---|---|---|"]
    rows = [(kind, row["n"], row["roc_auc"], row.get("localisation"), row.get("joint"), row["recall"])
            for kind, row in defect["by_kind"].items()]
    rows.append(("all kinds", defect["tp"] + defect["fn"], defect["roc_auc"], defect.get("localisation"),
                 defect.get("joint"), defect["recall"]))

    def cell(value) -> str:  # no ROC-AUC where the split has no clean example
        return "-" if value is None else f"{value:.3f}"

    for kind, n, auc, located, joint, recall in rows:
        lines.append(f"| {kind} | {n} | {cell(auc)} | {cell(located)} | {cell(joint)} | {recall:.3f} |")
    return "\n".join(lines)


def _print_progress(update) -> None:  # a recipe script, not library code: it reports as it goes
    if update.phase == "train" and update.losses and update.step % 25 == 0:
        print(f"step {update.step}/{update.max_steps} " + " ".join(f"{k}={v:.4f}" for k, v in sorted(update.losses.items())), flush=True)
    elif update.message:
        print(f"[{update.phase}] {update.message}", flush=True)


def _stage(args) -> None:
    print(json.dumps(stage(StageConfig(out=args.out, max_files_per_package=args.max_files_per_package)), indent=2))


def _train(args) -> None:
    tasks = [args.task] if getattr(args, "task", None) else list(TASKS)
    result = train_adapter(args.out, args.corpus, tasks, args.max_steps, args.seed, args.threads, args.batch_size,
                           base=args.base, resume=args.resume, device=args.device)
    print(json.dumps({"out": str(result.out), "trainable_params": result.trainable_params,
                      "trainable_share": result.trainable_share, "data_hash": result.data_hash,
                      "metrics": result.metrics}, indent=2, default=str))


def _refit(args) -> None:
    from training.refit import refit_decisions

    print(json.dumps(refit_decisions(str(args.adapter), [str(args.corpus)]), indent=2, default=str))


def _train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--corpus", type=Path, default=StageConfig.out)
    p.add_argument("--base", type=Path, default=DEFAULT_BASE)
    p.add_argument("--max-steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--device", default="auto")


def _single_arguments(p: argparse.ArgumentParser) -> None:
    _train_arguments(p)
    p.add_argument("--task", choices=TASKS, required=True)


def _stage_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=StageConfig.out)
    p.add_argument("--max-files-per-package", type=int, default=StageConfig.max_files_per_package)


def _refit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--adapter", type=Path, required=True)
    p.add_argument("--corpus", type=Path, default=StageConfig.out)


def _table_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("adapters", nargs="+", type=Path)
    p.add_argument("--split", default="test")


def _kinds_arguments(p: argparse.ArgumentParser) -> None:
    _refit_arguments(p)
    p.add_argument("--split", default="test")


def _ship_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--adapter", type=Path, required=True, help="the trained adapter folder")
    p.add_argument("--into", type=Path, default=DEFAULT_BASE.parent / "adapter")
    p.add_argument("--base-from", type=Path, default=None,
                   help="a build's model folder (build_small's <out>/codelens-nano) whose base and manifest ship too")


def _ship(args) -> None:
    from training.shipping import ship_adapter, ship_base

    if args.base_from is not None:
        print(ship_base(args.base_from, args.into.parent))
    print(ship_adapter(args.adapter, args.into, "codelens-nano"))


COMMANDS = {
    "stage": ("stage the corpus folders and split manifest", _stage_arguments, _stage),
    "adapter": ("train the multi-task adapter", _train_arguments, _train),
    "single": ("train a single-task adapter (a baseline)", _single_arguments, _train),
    "refit": ("fit an adapter's thresholds and calibration again on validation", _refit_arguments, _refit),
    "table": ("markdown table of the test scores stored in adapters' codelens.json", _table_arguments,
              lambda args: print(score_table(args.adapters, args.split))),
    "kinds": ("markdown table of an adapter's defect scores per bug kind", _kinds_arguments,
              lambda args: print(kind_table(args.adapter, args.corpus, args.split))),
    "ship": ("install a trained adapter as the shipped codelens-nano's", _ship_arguments, _ship),
}
"""Subcommand -> (help, arguments, what it runs)."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.nano", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    COMMANDS[args.command][2](args)


if __name__ == "__main__":
    main()
