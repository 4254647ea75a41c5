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

from benchmarks.common import BenchContext, Figure, ceilings, check, native_dtype_label, ratio_of, sync, torch_threads
from codelens.core import TASKS

QUICK_SPLITS = {"train": ("json", "concurrent"), "val": ("tomllib",), "test": ("zoneinfo",)}
STANDARD_SPLITS = {"train": ("email", "http", "urllib", "logging"), "val": ("json", "concurrent"),
                   "test": ("wsgiref", "tomllib")}
NANO_SHAPE = (256, 4)
"""(d_model, layers) of codelens-nano's base."""
CHOSEN_SHAPE = (256, 4)
"""(d_model, layers) the size sweep chose for the shipped base (models/codelens-nano/PRETRAINING.md)."""
PRETRAIN_TARGET = ">= 0.30"
"""Issue 16's bar: training steps at 30 % or more of the matmul ceiling of the dtype the machine runs natively."""
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
    from codelens.train.trainer import train
    from codelens.train_config import TrainConfig

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


def pretrain_steps(ctx: BenchContext, d_model: int, layers: int, steps: int, batch: int = 8, seq_len: int = 512,
                   compile: bool = False) -> dict:
    """Timed pretraining steps (forward, backward, fused AdamW) of a fresh base of that shape on random
    tokens, in the native dtype, as training/pretrain.py runs them; the first steps (and the compile) untimed."""
    import torch

    from training.pretrain import PretrainConfig, build_model, compute_dtype, flops_per_token, loss_of, make_optimizer

    cfg = PretrainConfig(d_model=d_model, n_layers=layers, n_heads=max(1, d_model // 64), seq_len=seq_len,
                         batch_size=batch, device=ctx.device, minutes=0, max_tokens=batch * seq_len * steps)
    model = build_model(cfg).to(ctx.device)
    opt = make_optimizer(model, cfg)
    step_model = torch.compile(model) if compile else model
    dtype = compute_dtype(cfg)
    generator = torch.Generator().manual_seed(0)
    x = torch.randint(3, cfg.vocab_size, (batch, seq_len), generator=generator).to(ctx.device)
    y = torch.randint(3, cfg.vocab_size, (batch, seq_len), generator=generator).to(ctx.device)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_of(step_model, x, y, dtype).backward()
        opt.step()

    with torch_threads(ctx.n_threads):
        for _ in range(2):
            step()
        sync(ctx.device)
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync(ctx.device)
        seconds = time.perf_counter() - start
    tokens = batch * seq_len * steps
    return {"tokens_per_s": tokens / seconds, "gflops": tokens * flops_per_token(cfg) / seconds / 1e9,
            "shape": f"{d_model}x{layers}", "seconds": seconds}


def pretrain_figures(ctx: BenchContext) -> list[Figure]:
    """Pretraining step throughput at nano's shape and at the chosen one, against the native ceiling."""
    figures = []
    for label, (d, layers) in dict.fromkeys([("nano", NANO_SHAPE), ("chosen", CHOSEN_SHAPE)]):
        if label == "chosen" and (d, layers) == NANO_SHAPE:
            continue
        got = pretrain_steps(ctx, d, layers, steps=2 if ctx.quick else 12, compile=not ctx.quick)
        ceiling = ceilings(ctx, remeasure=True)["native"]
        ratio = ratio_of(got["gflops"], ceiling)
        name = f"pretrain steps, {label} {got['shape']}"
        figures += [Figure("training", name, got["tokens_per_s"], "tokens/s",
                           note=f"batch 8 x 512, {native_dtype_label(ctx)}, fused AdamW"
                                f"{'' if ctx.quick else ', torch.compile'}"),
                    Figure("training", name, got["gflops"], "GFLOP/s", f"{native_dtype_label(ctx)} matmul ceiling",
                           ceiling, ratio, PRETRAIN_TARGET, check(ratio, PRETRAIN_TARGET),
                           note="6 x matmul weights + causal attention per token")]
    return figures


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
    ceiling = ceilings(ctx, remeasure=True)["native"]
    timed_steps = len(multi["timed_rows"])
    note = f"{timed_steps} timed steps of {steps}, batch {batch} per task; {source}"
    figures = [
        Figure("training", "train steps, 3 tasks", tokens / multi["steps_s"], "tokens/s", note=note,
               detail={"tokens": tokens, "steps_s": round(multi["steps_s"], 3)}),
        Figure("training", "train steps, 3 tasks", gflops, "GFLOP/s", f"{native_dtype_label(ctx)} matmul ceiling", ceiling,
               ratio_of(gflops, ceiling), PRETRAIN_TARGET, check(ratio_of(gflops, ceiling), PRETRAIN_TARGET),
               note="frozen base: forward + input-gradient backward"),
    ]
    figures += pretrain_figures(ctx)
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
