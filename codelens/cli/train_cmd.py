"""`codelens train`: rebuild the multi-task adapter from code (training is imported lazily).

Its options are ``TrainConfig``'s fields (names, types, defaults and help from the dataclass), so the
command line and the config stored in the adapter's codelens.json cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated

import typer

from codelens.cli.config_options import Option, config_options, given
from codelens.train.config import TrainConfig

LIST_SEPARATED = ("tasks", "bug_kinds", "target_modules")
"""List settings that also take comma-separated values (``--tasks defect,clone``)."""

TRAIN_OPTIONS = (
    Option("model", metavar="MODEL", default="default",
           help="Base model: local folder or hub id ('default' = the embedded default's base; codelens-small "
                "and codelens-nano name a shipped one)."),
    Option("corpus", metavar="DIR"), Option("codexglue", metavar="FILE"), Option("out", metavar="DIR"),
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
    from codelens.cli.console import error_console
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
    console = error_console()

    def progress(update) -> None:
        if quiet:
            return
        if update.phase == "train" and update.losses:
            losses = " ".join(f"{k}={v:.4f}" for k, v in sorted(update.losses.items()))
            console.print(f"step {update.step}/{update.max_steps} {losses}", highlight=False)
        elif update.message:
            console.print(f"[{update.phase}] {update.message}", highlight=False, markup=False)

    result = run_training(cfg, progress=progress)
    if result.rank:
        return  # under torchrun / accelerate launch, rank 0 alone reports
    typer.echo(f"adapter written to {result.out}")
    typer.echo(f"trainable parameters: {result.trainable_params:,} of {result.total_params:,} ({100 * result.trainable_share:.3f}%)")
    typer.echo(f"data hash: {result.data_hash}")
    for split, scores in sorted(result.metrics.items()):
        if isinstance(scores, dict):
            typer.echo(f"{split}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(_flat(scores).items())))


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
