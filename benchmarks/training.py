"""Training benchmark: `train` step throughput against the matmul ceiling; one multi-task run against three
single-task runs with the same steps per task (time and trainable parameters).

Model: the default base (codelens-nano, or its random-weight stand-in); corpus: copies of stdlib
packages split by repository through a manifest. Tokens and step times come from the trainer itself:
its Encoder is wrapped to count each step's prompt tokens, and its progress callback timestamps steps.
The first step is left out of the rate (allocations, kernel selection).

FLOPs per step: the base is frozen, so the backward pass needs input gradients but no weight
gradients: linear layers cost 2 x their forward, attention 3 x (see ``train_flops``). LoRA and head
weights are small and not counted, so the figure slightly understates the work done.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from pathlib import Path

from benchmarks.common import BenchContext, Figure, ceilings, ratio_of
from codelens.core import TASKS

QUICK_SPLITS = {"train": ("json", "concurrent"), "val": ("tomllib",), "test": ("zoneinfo",)}
STANDARD_SPLITS = {"train": ("email", "http", "urllib", "logging"), "val": ("json", "concurrent"),
                   "test": ("wsgiref", "tomllib")}
QUICK_STEPS = (4, 4)
"""(steps, batch size per task) of --quick runs; the first step is not timed, so at least 2."""
STANDARD_STEPS = (20, 8)


def train_flops(config, lengths: list[int]) -> float:
    """Forward + backward FLOPs of one step through a frozen decoder over rows of these lengths."""
    from benchmarks.common import matmul_params

    d, layers = config.hidden_size, config.num_hidden_layers
    linear = sum(2 * matmul_params(config) * t for t in lengths)
    attention = sum(2 * layers * d * t * t for t in lengths)
    return 2 * linear + 3 * attention


@contextlib.contextmanager
def counting_encoder(log: list[list[int]]):
    """While active, every step the trainer encodes appends its rows' token counts to ``log``."""
    import codelens.train.trainer as trainer

    original = trainer.Encoder

    class CountingEncoder(original):
        def encode(self, batches):
            out = super().encode(batches)
            log.append([int(n) for n in out.attention_mask.sum(dim=1).tolist()])
            return out

    trainer.Encoder = CountingEncoder
    try:
        yield
    finally:
        trainer.Encoder = original


def build_corpus(ctx: BenchContext, splits: dict[str, tuple[str, ...]]) -> tuple[Path, Path]:
    """(corpus folder with one sub-folder per package, manifest file assigning each its split)."""
    corpus = ctx.workdir / "train-corpus"
    manifest = {}
    for split, packages in splits.items():
        for package in packages:
            shutil.copytree(ctx.stdlib((package,)) / package, corpus / package, dirs_exist_ok=True)
            manifest[package] = split
    path = ctx.workdir / "train-manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return corpus, path


def timed_train(ctx: BenchContext, base: str, corpus: Path, manifest: Path, tasks: tuple[str, ...], steps: int,
                batch_size: int) -> dict:
    """One `train` run: wall time, the timed steps' seconds and rows, trainable parameters."""
    from codelens.train.config import TrainConfig
    from codelens.train.trainer import train

    stamps: list[float] = []
    rows: list[list[int]] = []

    def progress(event) -> None:
        if event.phase == "train":
            stamps.append(time.perf_counter())

    out = ctx.workdir / f"adapter-{'-'.join(tasks)}"
    config = TrainConfig(model=base, corpus=[str(corpus)], split_by="subdir", manifest=str(manifest), out=str(out),
                         max_steps=steps, batch_size=batch_size, tasks=list(tasks), device=ctx.device,
                         threads=ctx.n_threads, max_eval_summaries=4, seed=0)
    start = time.perf_counter()
    with counting_encoder(rows):
        result = train(config, progress)
    total = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return {"total_s": total, "steps_s": stamps[-1] - stamps[0], "timed_rows": rows[1:len(stamps)],
            "all_steps_s": stamps[-1] - start if stamps else None, "trainable": result.trainable_params,
            "total_params": result.total_params}


def run(ctx: BenchContext) -> list[Figure]:
    from transformers import AutoConfig

    base, _, source = ctx.default_pair()
    corpus, manifest = build_corpus(ctx, QUICK_SPLITS if ctx.quick else STANDARD_SPLITS)
    steps, batch = QUICK_STEPS if ctx.quick else STANDARD_STEPS
    config = AutoConfig.from_pretrained(base)
    multi = timed_train(ctx, base, corpus, manifest, TASKS, steps, batch)
    singles = {task: timed_train(ctx, base, corpus, manifest, (task,), steps, batch) for task in TASKS}

    tokens = sum(sum(r) for r in multi["timed_rows"])
    flops = sum(train_flops(config, r) for r in multi["timed_rows"])
    gflops = flops / multi["steps_s"] / 1e9
    ceiling = ceilings(ctx)["bf16"]
    timed_steps = len(multi["timed_rows"])
    note = f"{timed_steps} timed steps of {steps}, batch {batch} per task; {source}"
    figures = [
        Figure("training", "train steps, 3 tasks", tokens / multi["steps_s"], "tokens/s", note=note,
               detail={"tokens": tokens, "steps_s": round(multi["steps_s"], 3)}),
        Figure("training", "train steps, 3 tasks", gflops, "GFLOP/s", "bf16 matmul 2048^3", ceiling,
               ratio_of(gflops, ceiling), note="frozen base: forward + input-gradient backward"),
    ]
    single_total = sum(s["total_s"] for s in singles.values())
    single_steps = sum(s["steps_s"] * steps / max(1, len(s["timed_rows"])) for s in singles.values())
    multi_steps = multi["steps_s"] * steps / max(1, timed_steps)
    single_params = sum(s["trainable"] for s in singles.values())
    detail = {"multi": {k: v for k, v in multi.items() if k != "timed_rows"},
              "singles": {t: {k: v for k, v in s.items() if k != "timed_rows"} for t, s in singles.items()}}
    figures += [
        Figure("training", "multi-task run, whole (data, steps, eval, save)", multi["total_s"], "s",
               "3 single-task runs", single_total, ratio_of(multi["total_s"], single_total),
               note=f"same {steps} steps per task", detail=detail),
        Figure("training", "multi-task run, steps only", multi_steps, "s", "3 single-task runs", single_steps,
               ratio_of(multi_steps, single_steps), note="step time scaled to all steps"),
        Figure("training", "trainable parameters, multi-task", multi["trainable"], "params", "3 single-task adapters",
               single_params, ratio_of(multi["trainable"], single_params), note="one LoRA + heads against three"),
    ]
    return figures
