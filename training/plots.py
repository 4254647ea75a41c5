"""The plots of a model card, drawn from what training and evaluation stored: PNG files, never drawn by hand.

    python -m training.plots --adapter models/codelens-nano/adapter --out models/codelens-nano/plots \\
        [--pretrain-log runs/pretrain/log.jsonl] [--data runs/nano-corpus]

Writes into ``--out``:

    loss-pretraining.png  the base model's training and validation loss against tokens (the log's rows:
                          step, tokens, train_loss, val_loss)
    loss-adapter.png      the adapter's training loss per task against step (codelens.json
                          ``training.loss_history``, stored by the trainer)
    reliability.png       per task, the confidence a scan reports against how often it is right
    threshold.png         per task, precision and recall against the threshold, the shipped threshold marked

The last two read an adapter's stored metrics of ``--split`` (``reliability`` and ``threshold_curve``, see
``codelens.train.evaluate.task_curves``). An adapter trained before those were stored (codelens-nano) is
scored again through ``codelens.train.evaluate.evaluate`` on the corpus it was trained on, rebuilt with its
own settings: only that split's repositories are read (its split manifest says which), and the rebuilt
split's example counts are checked against those the adapter recorded. A plot whose data is missing (no
pretraining log given, an adapter without a loss history) is left out and the command says why.
Needs the ``plots`` extra (matplotlib); the ``codelens`` package itself never imports it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from codelens.core import TASKS
from codelens.errors import ConfigError
from codelens.field_docs import field_docs

TASK_TITLES = {"defect": "defects (CL100)", "clone": "clones (CL200)", "summary": "summaries (CL300)"}
CONFIDENCE_LABELS = {
    "defect": ("calibrated P(bug)", "share that are bugs"),
    "clone": ("clone confidence of a pair", "share that are clones"),
    "summary": ("exp(mean token log-probability)", "share beating the split name"),
}
THRESHOLD_LABELS = {"defect": "P(bug) threshold", "clone": "clone score threshold",
                    "summary": "gate: mean token log-probability"}


@dataclass
class PlotConfig:
    """What to plot and where."""

    adapter: Path = Path("models/codelens-nano/adapter")
    """Adapter folder: its codelens.json holds the thresholds, the metrics and the loss history."""
    out: Path = Path("models/codelens-nano/plots")
    """Folder the PNG files are written to (created if missing)."""
    pretrain_log: Path | None = None
    """The base model's pretraining log.jsonl (training/pretrain.py); without it no pretraining loss plot."""
    split: str = "test"
    """Split whose reliability and threshold curves are drawn (val: where the thresholds were fitted)."""
    data: list[Path] = field(default_factory=list)
    """Corpus folders to score again when the adapter's codelens.json lacks the curves; default: the corpus
    its training config names."""
    max_summaries: int = 200
    """Summaries generated when scoring again (as training evaluates)."""
    dpi: int = 100
    """Resolution of the PNG files."""


@dataclass
class PlotResult:
    written: list[Path]
    skipped: list[str]
    """One line per plot left out, saying why."""
    rescored: bool = False
    """The curves came from scoring the split again, not from codelens.json."""


def read_log(path: Path) -> list[dict]:
    """The rows of a pretraining log.jsonl (blank lines skipped; a broken line is an error naming it), or of the
    loss table a PRETRAINING.md recorded from it (``| step | tokens | train loss | val loss | ...``: codelens-nano's
    run kept that table, not its log)."""
    if Path(path).suffix == ".md":
        return _log_table(Path(path))
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}:{number} is not JSON ({exc.msg})", hint="pass the run's log.jsonl") from None
    return rows


def _log_table(path: Path) -> list[dict]:
    rows, columns = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip().replace(",", "") for c in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells is None:
            columns = None
        elif cells[:4] == ["step", "tokens", "train loss", "val loss"]:
            columns = cells
        elif columns and not set(cells[0]) <= set("-: "):
            rows.append({"step": int(cells[0]), "tokens": int(cells[1]), "train_loss": float(cells[2]),
                         "val_loss": float(cells[3])})
    if not rows:
        raise ConfigError(f"{path} holds no table with the columns step | tokens | train loss | val loss",
                          hint="pass the run's log.jsonl")
    return rows


def split_folders(corpus: list[Path], manifest: dict[str, str], split: str) -> list[Path]:
    """The repository folders (sub-folders of the corpus folders) that ``manifest`` puts in ``split``."""
    chosen = [p for folder in corpus for p in sorted(Path(folder).iterdir())
              if p.is_dir() and manifest.get(p.name) == split]
    if not chosen:
        raise ConfigError(f"no repository of the {split} split under {', '.join(map(str, corpus))}",
                          hint="stage the corpus the adapter was trained on (python -m training.nano stage --out DIR) "
                               "and pass it with --data DIR")
    return chosen


def split_metrics(cfg: PlotConfig, meta) -> tuple[dict, bool]:
    """(metrics of ``cfg.split`` with their curves, whether they were scored again)."""
    stored = meta.metrics.get(cfg.split, {})
    if all("reliability" in stored.get(task, {}) for task in meta.tasks):
        return stored, False
    from codelens.train.evaluate import evaluate

    trained = meta.training.get("config", {})
    corpus = cfg.data or [Path(p) for p in trained.get("corpus", [])]
    missing = [str(p) for p in corpus if not Path(p).is_dir()]
    if not corpus or missing:
        raise ConfigError(f"{cfg.adapter} stores no {cfg.split} curves, and its corpus is not here "
                          f"({', '.join(missing) or 'none named'})",
                          hint="stage it (python -m training.nano stage --out DIR) and pass --data DIR")
    manifest = trained.get("manifest_splits") or {}
    folders = split_folders(corpus, manifest, cfg.split) if trained.get("split_by") == "subdir" and manifest \
        else corpus
    result = evaluate(str(cfg.adapter), data=[str(p) for p in folders], split=cfg.split,
                      split_by="dir" if folders is not corpus else None, max_summaries=cfg.max_summaries)
    expected = meta.training.get("counts", {}).get(cfg.split)
    if expected and {k: v for k, v in result["counts"].items() if v} != {k: v for k, v in expected.items() if v}:
        raise ConfigError(f"the {cfg.split} split rebuilt from {', '.join(map(str, corpus))} is not the one "
                          f"{cfg.adapter} was tested on: {result['counts']} examples, it recorded {expected}",
                          hint="stage the corpus from the environment the adapter was trained in")
    return result["metrics"], True


def _figure(columns: int):
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, whatever the environment says
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False,
                         "axes.spines.right": False})
    return plt, *plt.subplots(1, columns, figsize=(3.6 * columns + 0.4, 3.3), squeeze=False)


def _save(plt, fig, path: Path, dpi: int) -> Path:
    fig.tight_layout()
    # No software / date stamp: the same numbers give the same file.
    fig.savefig(path, dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return path


def plot_pretraining(rows: list[dict], path: Path, dpi: int = 100) -> Path:
    """Training loss of every logged row and validation loss of the evaluated ones, against tokens seen."""
    plt, fig, axes = _figure(1)
    ax = axes[0][0]
    train = [(r["tokens"] / 1e6, r["train_loss"]) for r in rows if "train_loss" in r]
    val = [(r["tokens"] / 1e6, r["val_loss"]) for r in rows if r.get("val_loss") is not None]
    ax.plot(*zip(*train), label="train", color="tab:blue", linewidth=1)
    if val:
        ax.plot(*zip(*val), label="validation", color="tab:orange", marker="o", markersize=3)
    ax.set(xlabel="tokens seen (millions)", ylabel="cross-entropy (nats / token)", title="Base model pretraining")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return _save(plt, fig, path, dpi)


def plot_adapter_losses(history: dict, path: Path, dpi: int = 100) -> Path:
    """Each task's training loss (window means, ``codelens.train.evaluate.loss_history``) against step."""
    plt, fig, axes = _figure(1)
    ax = axes[0][0]
    for task in [t for t in TASKS if t in history]:
        points = [(s, v) for s, v in zip(history["step"], history[task]) if v is not None]
        if points:
            ax.plot(*zip(*points), label=task, linewidth=1.2)
    ax.set(xlabel="step", ylabel="loss", title="Adapter training loss per task")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return _save(plt, fig, path, dpi)


def plot_reliability(metrics: dict, tasks: list[str], split: str, path: Path, dpi: int = 100) -> Path:
    """One reliability diagram per task: mean confidence of each bin against its share of positives."""
    plt, fig, axes = _figure(len(tasks))
    for ax, task in zip(axes[0], tasks):
        bins = metrics[task]["reliability"]
        xlabel, ylabel = CONFIDENCE_LABELS[task]
        counts = ax.twinx()
        counts.bar([(b[0] + b[1]) / 2 for b in bins], [b[2] for b in bins], width=[b[1] - b[0] for b in bins],
                   color="0.85", zorder=0)
        counts.set_ylabel("examples per bin", color="0.5")
        counts.tick_params(axis="y", colors="0.5")
        ax.set_zorder(counts.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.plot([0, 1], [0, 1], linestyle="--", color="0.4", linewidth=1, label="calibrated")
        ax.plot([b[3] for b in bins], [b[4] for b in bins], marker="o", color="tab:blue", label="measured")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel=xlabel, ylabel=ylabel, title=f"{TASK_TITLES[task]}, {split}")
        ax.legend(frameon=False, loc="upper left")
    return _save(plt, fig, path, dpi)


def plot_thresholds(metrics: dict, thresholds: dict, tasks: list[str], split: str, path: Path,
                    dpi: int = 100) -> Path:
    """Precision and recall against the threshold, per task, with the threshold the adapter ships marked."""
    plt, fig, axes = _figure(len(tasks))
    for ax, task in zip(axes[0], tasks):
        curve = metrics[task]["threshold_curve"]
        x = [c[0] for c in curve]
        ax.plot(x, [c[1] for c in curve], label="precision", color="tab:blue")
        ax.plot(x, [c[2] for c in curve], label="recall", color="tab:orange")
        shipped = thresholds.get(task)
        if shipped is not None and x and min(x) <= shipped <= max(x):
            ax.axvline(shipped, color="tab:red", linestyle="--", linewidth=1, label=f"shipped {shipped:.3g}")
        elif shipped is not None:
            ax.text(0.02, 0.02, f"shipped threshold {shipped:.3g}\n(outside the scores: nothing reported)",
                    transform=ax.transAxes, fontsize=8, color="tab:red")
        ax.set(ylim=(0, 1.02), xlabel=THRESHOLD_LABELS[task], ylabel="precision / recall",
               title=f"{TASK_TITLES[task]}, {split}")
        ax.legend(frameon=False)
        ax.grid(alpha=0.3)
    return _save(plt, fig, path, dpi)


def make_plots(cfg: PlotConfig) -> PlotResult:
    """Every plot whose data exists, into ``cfg.out``."""
    from codelens.model.adapter_meta import AdapterMetadata

    if cfg.split not in ("val", "test"):
        raise ConfigError(f"unknown split {cfg.split!r}", hint="use val or test")
    meta = AdapterMetadata.load(Path(cfg.adapter))
    cfg.out.mkdir(parents=True, exist_ok=True)
    written, skipped = [], []
    if cfg.pretrain_log is None:
        skipped.append("loss-pretraining.png: no --pretrain-log given")
    else:
        rows = [r for r in read_log(cfg.pretrain_log) if "tokens" in r and "train_loss" in r]
        if rows:
            written.append(plot_pretraining(rows, cfg.out / "loss-pretraining.png", cfg.dpi))
        else:
            skipped.append(f"loss-pretraining.png: {cfg.pretrain_log} has no rows with tokens and train_loss")
    history = meta.training.get("loss_history")
    if history:
        written.append(plot_adapter_losses(history, cfg.out / "loss-adapter.png", cfg.dpi))
    else:
        skipped.append(f"loss-adapter.png: {cfg.adapter} stores no loss history (trained before it was kept)")
    metrics, rescored = split_metrics(cfg, meta)
    tasks = [t for t in TASKS if t in meta.tasks and metrics.get(t, {}).get("reliability")]
    if tasks:
        thresholds = {"defect": meta.thresholds.defect, "clone": meta.thresholds.clone,
                      "summary": meta.thresholds.summary}
        written.append(plot_reliability(metrics, tasks, cfg.split, cfg.out / "reliability.png", cfg.dpi))
        written.append(plot_thresholds(metrics, thresholds, tasks, cfg.split, cfg.out / "threshold.png", cfg.dpi))
    else:
        skipped.append(f"reliability.png, threshold.png: no {cfg.split} examples to draw them from")
    return PlotResult(written, skipped, rescored)


def parse_args(argv: list[str] | None = None) -> PlotConfig:
    """A PlotConfig from ``--field-name value`` flags, their help the fields' docstrings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    docs = field_docs(PlotConfig)
    for f in dataclasses.fields(PlotConfig):
        flag = "--" + f.name.replace("_", "-")
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        help_text = f"{docs.get(f.name, '')} (default: {default})".replace("%", "%%")
        if f.name == "data":
            parser.add_argument(flag, type=Path, nargs="+", default=default, help=help_text)
        else:
            kind = int if f.type == "int" else str if f.name == "split" else Path
            parser.add_argument(flag, type=kind, default=default, help=help_text)
    return PlotConfig(**vars(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> None:
    cfg = parse_args(argv)
    try:
        result = make_plots(cfg)
    except ConfigError as exc:
        raise SystemExit(f"error: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else "")) from None
    if result.rescored:
        print(f"{cfg.adapter} stores no {cfg.split} curves: scored the {cfg.split} split again")
    for path in result.written:
        print(f"wrote {path}")
    for line in result.skipped:
        print(f"left out {line}")


if __name__ == "__main__":
    main()
