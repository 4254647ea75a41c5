"""`codelens train`: rebuild the multi-task adapter from code (training is imported lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

Opt = typer.Option


def train(
    model: Annotated[str, Opt(help="Base model: local folder or hub id ('codelens-nano' = the shipped base).")] = "codelens-nano",
    corpus: Annotated[Optional[list[Path]], Opt(help="A repository of code to learn from (repeatable).")] = None,
    codexglue: Annotated[Optional[list[Path]], Opt(help="A CodeXGLUE-format file: Devign, BigCloneBench, POJ-104, CodeSearchNet JSONL (repeatable).")] = None,
    out: Annotated[Path, Opt(help="Adapter folder to write (replaced atomically at the end).")] = Path("codelens-adapter"),
    split_by: Annotated[str, Opt(help="What one repository is: 'dir' (each --corpus) or 'subdir' (each top-level folder of it).")] = "dir",
    manifest: Annotated[Optional[Path], Opt(help="JSON mapping repository -> train/val/test, instead of the hash split.")] = None,
    tasks: Annotated[str, Opt(help="Comma-separated tasks to train (single-task baselines: e.g. 'defect').")] = "defect,clone,summary",
    max_steps: Annotated[int, Opt(help="Optimiser steps.")] = 1000,
    batch_size: Annotated[int, Opt(help="Examples per task per step.")] = 8,
    lr: Annotated[float, Opt(help="LoRA learning rate.")] = 2e-4,
    lora_r: Annotated[int, Opt(help="LoRA rank.")] = 16,
    lora_alpha: Annotated[int, Opt(help="LoRA alpha.")] = 32,
    sampling: Annotated[str, Opt(help="Task sampling: round_robin or temperature.")] = "round_robin",
    seed: Annotated[int, Opt(help="Seed for data, sampling and initialisation.")] = 0,
    device: Annotated[str, Opt(help="auto, cpu, cuda or cuda:N.")] = "auto",
    dtype: Annotated[str, Opt(help="auto, float32, bfloat16 or float16.")] = "auto",
    quantize: Annotated[str, Opt(help="none, int8 or nf4 (QLoRA).")] = "none",
    max_code_tokens: Annotated[int, Opt(help="Code is cut to this many tokens.")] = 384,
    eval_every: Annotated[int, Opt(help="Validate every N steps (0 = only at the end).")] = 0,
    checkpoint_every: Annotated[int, Opt(help="Checkpoint every N steps (0 = never).")] = 0,
    resume: Annotated[bool, Opt("--resume", help="Continue from the last checkpoint of this --out.")] = False,
    threads: Annotated[int, Opt(help="CPU threads (0 = one per core).")] = 0,
    trust_remote_code: Annotated[bool, Opt("--trust-remote-code", help="Let a hub model run its own code.")] = False,
    quiet: Annotated[bool, Opt("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Train ONE LoRA adapter plus task heads for defects, clones and summaries from unlabelled code."""
    from codelens.cli.console import error_console
    from codelens.train.trainer import TrainConfig, train as run_training

    cfg = TrainConfig(
        model=model, corpus=[str(p) for p in corpus or []], codexglue=[str(p) for p in codexglue or []],
        out=str(out), split_by=split_by, manifest=str(manifest) if manifest else None,
        tasks=[t.strip() for t in tasks.split(",") if t.strip()], max_steps=max_steps, batch_size=batch_size,
        lr=lr, lora_r=lora_r, lora_alpha=lora_alpha, sampling=sampling, seed=seed, device=device, dtype=dtype,
        quantize=quantize, max_code_tokens=max_code_tokens, eval_every=eval_every,
        checkpoint_every=checkpoint_every, resume=resume, threads=threads, trust_remote_code=trust_remote_code,
    )
    console = error_console()

    def progress(update) -> None:
        if quiet:
            return
        if update.phase == "train" and update.losses:
            losses = " ".join(f"{k}={v:.4f}" for k, v in sorted(update.losses.items()))
            console.print(f"step {update.step}/{update.max_steps} {losses}", highlight=False)
        elif update.message:
            console.print(f"[{update.phase}] {update.message}", highlight=False)

    result = run_training(cfg, progress=progress)
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
