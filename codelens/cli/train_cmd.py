"""`codelens train`: rebuild the multi-task adapter from code (training is imported lazily).

Its options are ``TrainConfig``'s fields (names, types, defaults and help from the dataclass), so the
command line and the config stored in the adapter's codelens.json cannot drift apart.
"""

from __future__ import annotations

import time
from typing import Annotated, Callable

import typer

from codelens.cli.options import Option, config_options, given
from codelens.train_config import TrainConfig

LIST_SEPARATED = ("tasks", "bug_kinds", "target_modules")
"""List settings that also take comma-separated values (``--tasks defect,clone``)."""

TRAIN_OPTIONS = (
    Option("model", metavar="MODEL", default="default",
           help="Base model: local folder or hub id ('default' = the embedded default's base; codelens-small "
                "and codelens-nano name a shipped one)."),
    Option("corpus", metavar="DIR"), Option("codexglue", metavar="FILE"), Option("out", metavar="DIR"),
    Option("overwrite", ("--overwrite",)),
    Option("split_by"), Option("manifest", metavar="FILE"), Option("tasks", metavar="TASK[,TASK]"), Option("method"),
    *(Option(name) for name in (
        "max_steps", "batch_size", "lr", "head_lr", "warmup_steps", "weight_decay", "grad_clip", "lora_r",
        "lora_alpha", "lora_dropout")),
    Option("target_modules", metavar="NAME[,NAME]"), Option("sampling"),
    *(Option(name) for name in ("sampling_temperature", "clone_temperature", "seed", "device", "dtype", "quantize")),
    Option("trust_remote_code", ("--trust-remote-code",)),
    Option("gradient_checkpointing", ("--gradient-checkpointing",)),
    Option("eval_every"), Option("checkpoint_every"), Option("checkpoint_dir", metavar="DIR"),
    Option("resume", ("--resume",)),
    *(Option(name) for name in ("max_code_tokens", "max_summary_tokens", "threads", "clone_variants",
                                "bugs_per_function")),
    Option("bug_kinds", metavar="KIND[,KIND]"),
    *(Option(name) for name in ("head_hidden", "clone_dim", "bug_width", "bug_layers", "bug_heads")),
    Option("relation_bias", ("--relation-bias/--no-relation-bias",)),
    *(Option(name) for name in ("max_eval_summaries", "codexglue_limit", "max_minutes", "data_workers",
                                "max_functions_per_repository")),
    Option("data_cache", metavar="DIR"),
)


@config_options(TrainConfig, TRAIN_OPTIONS)
def train(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    **settings,
) -> None:
    """Train ONE LoRA adapter plus task heads for defects, clones and summaries from unlabelled code.

    Runs data-parallel when started by torchrun or accelerate launch (see docs/scale.md).
    """
    from codelens.cli.console import error_console, warn
    from codelens.rules.measured import unusable_tasks
    from codelens.train.trainer import train as run_training

    values = given(settings)
    for name in LIST_SEPARATED:
        if name in values:
            values[name] = [part.strip() for item in values[name] for part in item.split(",") if part.strip()]
    for name in ("corpus", "codexglue"):
        if name in values:
            values[name] = list(values[name])
    values.setdefault("model", "default")
    cfg = TrainConfig(**values)
    display = TrainDisplay(error_console(), quiet)
    try:
        result = run_training(cfg, progress=display)
    finally:
        display.close()
    if result.rank:
        return  # under torchrun / accelerate launch, rank 0 alone reports
    typer.echo(f"adapter written to {result.out}")
    typer.echo(f"trainable parameters: {result.trainable_params:,} of {result.total_params:,} ({100 * result.trainable_share:.3f}%)")
    typer.echo(f"data hash: {result.data_hash}")
    for split, scores in sorted(result.metrics.items()):
        if isinstance(scores, dict):
            typer.echo(f"{split}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(_flat(scores).items())))
    # A run can end without an error and still make a task useless: say so (--quiet or not), with the cause.
    for warning in unusable_tasks(result.metrics, written_thresholds(result.out)):
        warn(warning)


def _flat(scores: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in scores.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)):
            out[f"{prefix}{key}"] = value
    return out


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def written_thresholds(adapter) -> dict:
    """The thresholds the run wrote into its adapter's codelens.json, as written (a gate that shows nothing
    included); empty when they cannot be read."""
    import json
    from pathlib import Path

    try:
        thresholds = json.loads((Path(adapter) / "codelens.json").read_text(encoding="utf-8")).get("thresholds")
    except (OSError, ValueError, AttributeError):
        return {}
    return thresholds if isinstance(thresholds, dict) else {}


def eta(started: float, first: int, done: int, total: int, now: float) -> float | None:
    """Seconds left of a stage that went from ``first`` done at ``started`` to ``done`` of ``total`` now, at
    the rate so far; None before any progress."""
    if done <= first or now <= started:
        return None
    return (total - done) * (now - started) / (done - first)


def duration(seconds: float | None) -> str:
    """``1h02m``, ``3m05s`` or ``42s``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def headline(metrics: dict) -> str:
    """The few numbers of a validation run worth a line while training."""
    keys = {"defect": ("roc_auc", "recall"), "clone": ("map_at_r", "pair_f1"), "summary": ("bleu4", "shown")}
    parts = [f"{task} {key}={_fmt(metrics[task][key])}" for task, names in keys.items() if task in metrics
             for key in names if isinstance(metrics[task].get(key), (int, float))]
    return ", ".join(parts)


class TrainDisplay:
    """``codelens train``'s view of ``TrainProgress``: every counted stage (data building, the steps, scoring,
    threshold fitting) with an ETA, messages as lines. On a terminal, live rich bars; elsewhere (CI logs) a
    line at each tenth of a stage, with the ETA computed from the rate so far."""

    LOG_STEPS = 10
    """Lines per stage off a terminal (plus its start)."""

    def __init__(self, console, quiet: bool = False, live: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console, self.quiet, self.clock = console, quiet, clock
        live = console.is_terminal if live is None else live
        self.bar = None
        if live and not quiet:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("eta"), TimeRemainingColumn(), console=console)
            self.bar.start()
        self.tasks: dict[str, int] = {}
        self.started: dict[str, tuple[float, int]] = {}
        self.logged: dict[str, int] = {}

    def __call__(self, update) -> None:
        if self.quiet:
            return
        if update.total:
            self._count(f"[{update.phase}] {update.message}", update.done, update.total)
        elif update.phase == "train" and update.losses:
            losses = " ".join(f"{k}={v:.4f}" for k, v in sorted(update.losses.items()))
            self._count("[train] steps", update.step, update.max_steps, f" {losses}")
        elif update.phase == "eval" and update.metrics and not update.message:
            self._line(f"[eval] step {update.step}: {headline(update.metrics)}")
        elif update.message:
            self._line(f"[{update.phase}] {update.message}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def _line(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False)

    def _count(self, label: str, done: int, total: int, suffix: str = "") -> None:
        now = self.clock()
        if label not in self.started:
            self.started[label] = (now, done)
        if self.bar is not None:
            from rich.markup import escape

            if label not in self.tasks:
                self.tasks[label] = self.bar.add_task(escape(label), total=total)
            self.bar.update(self.tasks[label], completed=done, total=total, description=escape(label + suffix))
            return
        tenth = done * self.LOG_STEPS // max(1, total)
        if self.logged.get(label) == tenth:
            return
        self.logged[label] = tenth
        left = "done" if done >= total else f"eta {duration(eta(*self.started[label], done, total, now))}"
        self._line(f"{label} {done}/{total} ({left}){suffix}")
