"""`codelens train`: one LoRA adapter + task heads for defects, clones and summaries, from unlabelled code.

    from codelens.train_config import TrainConfig
    from codelens.train.trainer import train
    result = train(TrainConfig(model="./base", corpus=["./repos"], split_by="subdir", out="./adapter"))

Three parts around one ``Run``, as a torchtune recipe reads:

    setup   the task data, the base model with its trainable module, the heads, the optimiser, a resumed checkpoint
    loop    task-balanced steps under a learning-rate schedule, checkpoints, validation every ``eval_every``
    finish  thresholds and calibration fitted on validation, val / test metrics (``evaluate.fit_and_measure``),
            the adapter folder saved atomically

Library code: progress goes to the ``progress`` callback, never to the terminal.

Under torchrun or accelerate launch every rank trains on its slice of each global batch
(``codelens.train.distributed``); rank 0 alone reports progress, evaluates and writes checkpoints and the
adapter, and the others wait for it.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from codelens.errors import CodelensError
from codelens.train.batches import Encoder, TaskSampler, lr_at, step_losses
from codelens.train.checkpoints import check_out, checkpoint_path, resume, save_adapter, save_checkpoint
from codelens.train.data.dataset import DataConfig, TaskData, cached_task_data
from codelens.train.distributed import (World, agree, broadcast_parameters, detect, device_for, dropout_seed,
                                        from_main, main_first, process_group, shard_backward)
from codelens.train.methods import attach
from codelens.train_config import TrainConfig


@dataclass
class TrainProgress:
    """One progress report: ``phase`` is data, model, train, eval, checkpoint or save."""

    phase: str
    step: int = 0
    max_steps: int = 0
    losses: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    message: str = ""
    done: int = 0
    """Of a counted stage (data building, scoring, fitting; ``message`` names it): how much is done of ``total``."""
    total: int = 0
    """The size of the counted stage; 0 for a report that is not a count."""


@dataclass
class TrainResult:
    """What a training run produced."""

    out: Path
    trainable_params: int
    total_params: int
    trainable_share: float
    metrics: dict
    data_hash: str
    steps: int
    losses: list[dict] = field(default_factory=list)
    """Per step losses by task (this run's steps only when resumed)."""
    rank: int = 0
    """This process's rank under torchrun / accelerate launch (0 alone). Only rank 0 reported progress and
    wrote the adapter; every rank returns the same result."""


class StepBudget:
    """How many steps a run takes: ``max_steps``, or fewer when the steps timed so far say that many would
    not fit in ``seconds`` (0: no time limit). Re-estimated a few times early on, as the first steps run
    slower (allocation, kernel choice) than the rest."""

    CHECKS = (5, 20, 60)
    """Steps after the start at which the rate is measured (from the first check on)."""

    def __init__(self, seconds: float, max_steps: int, start: int) -> None:
        self.seconds, self.total, self.start = seconds, max_steps, start
        self.max_steps = max_steps
        self.clock: tuple[int, float] | None = None

    def tick(self, step: int) -> bool:
        """Note that ``step`` steps are done; True when ``total`` was re-estimated."""
        if not self.seconds:
            return False
        done = step - self.start
        now = time.perf_counter()
        if self.clock is None:
            self.clock = (step, now)  # the first step (slow) is not timed
            self.began = now
            return False
        if done in self.CHECKS:
            per_step = (now - self.clock[1]) / max(1, step - self.clock[0])
            left = self.seconds - (now - self.began)
            self.total = min(self.max_steps, step + max(0, int(left / per_step)))
            return True
        return False


@dataclass
class Run:
    """One training run: what ``setup`` builds, ``loop`` advances and ``finish`` saves."""

    cfg: TrainConfig
    world: World | None
    """The ranks under torchrun / accelerate launch; None for one process."""
    report: Callable[[TrainProgress], None]
    data: TaskData
    data_hash: str
    model: Any
    """The base with the method's trainable module inside (``codelens.train.methods.attach``)."""
    tokenizer: Any
    heads: Any
    fingerprint: str
    """The base's fingerprint, recorded in the adapter."""
    autocast: Any
    device: Any
    compute: Any
    """The compute dtype (bf16 / fp16 through autocast, else fp32)."""
    fmt: Any
    """The adapter's ``PromptFormat``."""
    sampler: TaskSampler
    optimizer: Any
    params: list
    """Every trained parameter (the module's, then the heads')."""
    trainable: int
    total: int
    checkpoint: Path
    manifest: dict
    """The split manifest the data was built with (stored in the adapter)."""
    step: int = 0
    """Steps done, a resumed run's included."""
    history: list[dict] = field(default_factory=list)
    """This process's per-step losses by task."""
    skipped_steps: int = 0
    """Steps whose loss or gradient was not finite (no update)."""

    @property
    def main(self) -> bool:
        """Whether this process reports, evaluates and writes (rank 0, or the only one)."""
        return self.world is None or self.world.main

    def counted(self, phase: str):
        """A ``progress(stage, done, total)`` callback that reports a counted stage of ``phase``."""
        return lambda stage, done, total: self.report(TrainProgress(phase, message=stage, done=done, total=total))

    def metadata(self):
        """The adapter's ``AdapterMetadata`` as far as the model says it: the tasks it was trained on (a task
        without data was skipped), prompt format, head shapes, languages, method."""
        from codelens.model.adapter_meta import AdapterMetadata
        from codelens.model.loading import DEFAULT_MODEL, shipped_model_dir

        cfg = self.cfg
        # "default" means whichever model is shipped now; the adapter records which one it was trained on
        base = shipped_model_dir().name if cfg.model == DEFAULT_MODEL else cfg.model
        return AdapterMetadata(base, self.fingerprint, list(self.sampler.tasks), self.fmt,
                               pooled_dim=2 * self.model.config.hidden_size, clone_dim=cfg.clone_dim,
                               head_hidden=cfg.head_hidden, bug_head=cfg.bug_head().to_dict(),
                               languages=trained_languages(cfg.codexglue), method=cfg.method.value,
                               # the kinds a scan and `codelens eval` weigh (AdapterMetadata.bug_kinds): the
                               # numbers chosen and measured here must see the same sites as they do
                               training={"config": {"bug_kinds": list(cfg.bug_kinds)}})

    def loaded(self, meta):
        """This run's model as the runtime's ``LoadedModel``: evaluation scores through the scan's forward."""
        from codelens.model.loading import LoadedModel

        return LoadedModel(model=self.model, tokenizer=self.tokenizer, heads=self.heads, meta=meta, device=self.device,
                           dtype=self.compute, base_fingerprint=meta.base_fingerprint, adapter_hash="",
                           model_id=self.cfg.model, quantize=self.cfg.quantize)


def trained_languages(codexglue: list) -> list[str]:
    """The languages of a run's training code: those the corpus reader takes (DataConfig.languages), or
    none known when CodeXGLUE files join in (their records carry C, Java, C++ or any language)."""
    return [] if codexglue else list(DataConfig.languages)


def train(cfg: TrainConfig, progress: Callable[[TrainProgress], None] | None = None) -> TrainResult:
    """Train the shared LoRA + heads, pick thresholds on validation, save the adapter folder atomically."""
    import torch

    from codelens.model.forward import quiet_int8

    world = detect()
    check_out(Path(cfg.out), cfg.overwrite)  # before hours of training, not after them
    device = device_for(world, cfg.device) if world else cfg.device
    if world is not None and not world.main:
        progress = None  # rank 0 alone reports
    previous_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        with quiet_int8(), process_group(world, device):
            run = setup(cfg, progress or (lambda event: None), world, device)
            loop(run)
            return finish(run)
    finally:
        torch.set_num_threads(previous_threads)


def setup(cfg: TrainConfig, report: Callable[[TrainProgress], None], world: World | None, device_choice: str) -> Run:
    """The run's data, model, heads and optimiser, resumed from its checkpoint when asked; ``device_choice``
    is ``cfg.device``, or the GPU of this rank."""
    import torch

    from codelens.model.adapter_meta import PromptFormat

    _seed_all(cfg.seed)
    data_config = cfg.data_config()
    data, data_hash = _task_data(cfg, data_config, report, world)
    model, tokenizer, heads, fingerprint, autocast, device, compute = _load(cfg, device_choice)
    sampler = TaskSampler(data.split("train"), cfg.tasks, cfg.batch_size, cfg.seed, cfg.sampling,
                          cfg.sampling_temperature)
    if not sampler.tasks:
        raise CodelensError(f"no training examples for the tasks {', '.join(cfg.tasks)}",
                            hint="add repositories (with docstrings) to the corpus, or check the split manifest")
    skipped = sorted(set(cfg.tasks) - set(sampler.tasks))
    if skipped:
        report(TrainProgress("data", message=f"no training data for {', '.join(skipped)}: task skipped"))
    module = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": module, "lr": cfg.lr},
                                   {"params": list(heads.parameters()), "lr": cfg.head_lr}],
                                  weight_decay=cfg.weight_decay)
    params = module + list(heads.parameters())
    if world is not None:
        broadcast_parameters(params)
    trainable = sum(p.numel() for p in params)
    total = sum(p.numel() for p in model.parameters()) + sum(p.numel() for p in heads.parameters())
    report(TrainProgress("model", message=f"trainable {trainable:,} of {total:,} parameters "
                                          f"({trainable / total:.3%})"))
    fmt = PromptFormat(max_code_tokens=cfg.max_code_tokens, max_summary_tokens=cfg.max_summary_tokens)
    run = Run(cfg, world, report, data, data_hash, model, tokenizer, heads, fingerprint, autocast, device, compute,
              fmt, sampler, optimizer, params, trainable, total, checkpoint_path(cfg), data_config.manifest)
    run.step = _resumed(run)
    return run


def _task_data(cfg: TrainConfig, data_config: DataConfig, report: Callable[[TrainProgress], None],
               world: World | None) -> tuple[TaskData, str]:
    """The task data (built, or read from --data-cache) and its hash, the same on every rank."""
    def counted(stage, done, total):
        report(TrainProgress("data", message=stage, done=done, total=total))

    data = main_first(world if cfg.data_cache else None, lambda: cached_task_data(
        [Path(p) for p in cfg.corpus], [Path(p) for p in cfg.codexglue], data_config,
        Path(cfg.data_cache) if cfg.data_cache else None, cfg.data_workers, counted))
    # Every rank draws the same batches from its own copy of the data: copies that differ would train on
    # batches that no rank drew in full.
    data_hash = agree(world, data.hash(), "training data",
                      hint="give every machine the same corpus at the same path, or share one --data-cache")
    repos = data.provenance.get("repositories", [])
    report(TrainProgress("data", message=(
        f"{len(repos)} repositories, {data.provenance.get('functions', 0)} functions "
        f"({data.provenance.get('skipped_files', 0)} files skipped); train examples {data.split('train').counts()}, "
        f"data hash {data_hash[:12]}")))
    for split in ("val", "test"):
        if not any(data.split(split).counts().values()):
            note = " (thresholds keep their defaults)" if split == "val" else ""
            report(TrainProgress("data", message=f"no {split} examples: add repositories or name some {split} "
                                                 f"in a --manifest{note}"))
    return data, data_hash


def _resumed(run: Run) -> int:
    """The step to start from: the checkpoint's with --resume, else 0 (the same on every rank)."""
    cfg, start = run.cfg, 0
    if cfg.resume and run.checkpoint.is_file():
        start = resume(run.checkpoint, run.model, run.heads, run.optimizer, run.sampler, run.data_hash, cfg)
    # A rank that does not see the checkpoint would start over while the others go on.
    start = agree(run.world, start, "step to resume from",
                  hint="put the checkpoint where every machine reads it (--checkpoint-dir on a shared file system)")
    if start:
        run.report(TrainProgress("checkpoint", start, cfg.max_steps,
                                 message=f"resumed from {run.checkpoint} at step {start}"))
    return start


def loop(run: Run) -> None:
    """The training steps, from ``run.step`` to ``max_steps`` (fewer under --max-minutes): one task-balanced
    batch each, a non-finite one skipped; checkpoints and validation on rank 0 as configured."""
    cfg = run.cfg
    encoder = Encoder(run.tokenizer, run.fmt)
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else max(1, cfg.max_steps // 20)
    budget = StepBudget(cfg.max_minutes * 60, cfg.max_steps, run.step)
    run.model.train()
    run.heads.train()
    while run.step < budget.total:
        for group, peak in zip(run.optimizer.param_groups, (cfg.lr, cfg.head_lr)):
            group["lr"] = lr_at(run.step, budget.total, warmup, peak)
        values = _step(run, encoder)
        run.history.append(values)
        run.step += 1
        if budget.tick(run.step):
            budget.total = from_main(run.world, budget.total)  # rank 0's clock decides for all
        run.report(TrainProgress("train", run.step, budget.total, losses=values))
        # The other ranks go on to the next step, and wait in its first collective until rank 0 is done.
        if run.main and cfg.checkpoint_every and run.step % cfg.checkpoint_every == 0 and run.step < budget.total:
            save_checkpoint(run.checkpoint, run.step, run.model, run.heads, run.optimizer, run.sampler, run.data_hash,
                            cfg)
            run.report(TrainProgress("checkpoint", run.step, budget.total,
                                     message=f"checkpoint written to {run.checkpoint}"))
        if run.main and cfg.eval_every and run.step % cfg.eval_every == 0 and run.step < budget.total:
            _validate(run, budget.total)
    run.model.eval()
    run.heads.eval()


def _step(run: Run, encoder: Encoder) -> dict[str, float]:
    """One optimiser step on the sampler's next batch; its losses by task. A non-finite loss or gradient would
    turn every weight into NaN: that step is skipped (as AMP's scaler does)."""
    import torch

    cfg, world = run.cfg, run.world
    run.optimizer.zero_grad(set_to_none=True)
    if world is None:
        losses = step_losses(run.model, run.heads, encoder.encode(run.sampler.next()), cfg.clone_temperature,
                             run.device, run.autocast)
        loss = sum(losses.values())
        values = {k: float(v.detach()) for k, v in losses.items()}
        finite = math.isfinite(float(loss.detach()))
        if finite:
            loss.backward()
    else:
        torch.manual_seed(dropout_seed(cfg.seed, run.step, world.rank))
        # The same global batch on every rank; the gradients come back summed over the ranks.
        values = shard_backward(run.model, run.heads, encoder, run.sampler.next(), run.params, cfg.clone_temperature,
                                cfg.clone_dim, run.device, run.autocast, world)
        finite = math.isfinite(sum(values.values()))
    if finite:
        norm = torch.nn.utils.clip_grad_norm_(run.params, cfg.grad_clip if cfg.grad_clip else float("inf"))
        finite = bool(torch.isfinite(norm))
        if finite:
            run.optimizer.step()
    run.skipped_steps += 0 if finite else 1
    return values


def _validate(run: Run, steps: int) -> None:
    """Metrics on validation in the middle of training (the test split is looked at once, at the end)."""
    from codelens.train.evaluate import fit_and_measure

    run.model.eval()
    run.heads.eval()
    *_, metrics = fit_and_measure(run.loaded(run.metadata()), run.data, run.cfg.max_eval_summaries,
                                  run.cfg.max_eval_functions, ("val",), run.counted("eval"))
    run.model.train()
    run.heads.train()
    run.report(TrainProgress("eval", run.step, steps, metrics=metrics["val"]))


def finish(run: Run) -> TrainResult:
    """On rank 0: thresholds and calibration fitted on validation, val / test metrics, the adapter folder saved
    (and the checkpoint removed); the other ranks wait for it. Every rank returns its metrics."""
    from codelens.train.evaluate import fit_and_measure, loss_history

    cfg, metrics = run.cfg, None
    if run.main:
        meta = run.metadata()
        run.report(TrainProgress("eval", run.step, run.step, message="choosing thresholds on validation"))
        meta.thresholds, meta.calibration, notes, metrics = fit_and_measure(
            run.loaded(meta), run.data, cfg.max_eval_summaries, cfg.max_eval_functions, ("val", "test"),
            run.counted("eval"))
        meta.metrics = metrics
        meta.training = {
            "config": {**asdict(cfg), "manifest_splits": run.manifest},
            "data_hash": run.data_hash, "seed": cfg.seed, "steps": run.step, "skipped_steps": run.skipped_steps,
            "trainable_params": run.trainable, "total_params": run.total, "trainable_share": run.trainable / run.total,
            "tasks_trained": run.sampler.tasks, "calibration": notes, "provenance": run.data.provenance,
            "counts": {s: run.data.split(s).counts() for s in ("train", "val", "test")},
            "world_size": run.world.size if run.world else 1, "global_batch_size": cfg.batch_size,
            # The loss curves of the model card (training/plots.py); a resumed run has the steps since it resumed.
            "loss_history": loss_history(run.history, first_step=run.step - len(run.history) + 1),
        }
        save_adapter(Path(cfg.out), run.model, run.heads, meta)
        if run.checkpoint.is_file():
            run.checkpoint.unlink()
            with contextlib.suppress(OSError):
                run.checkpoint.parent.rmdir()  # only when nothing else is in it
        run.report(TrainProgress("save", run.step, run.step, metrics=metrics,
                                 message=f"adapter saved to {Path(cfg.out)}"))
    # The other ranks wait here until rank 0 has saved the adapter, and return its metrics.
    metrics = from_main(run.world, metrics)
    return TrainResult(Path(cfg.out).resolve(), run.trainable, run.total, run.trainable / run.total, metrics,
                       run.data_hash, run.step, run.history, run.world.rank if run.world else 0)


def _seed_all(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _load(cfg: TrainConfig, device_choice: str):
    """Base model (the method's trainable module inside), tokenizer, heads, base fingerprint, autocast context, device;
    ``device_choice`` is ``cfg.device``, or the GPU of this rank."""
    import torch
    from peft import prepare_model_for_kbit_training

    from codelens.model.heads import TaskHeads
    from codelens.model.loading import base_fingerprint, load_base, resolve_base
    from codelens.model.options import resolve_device, resolve_dtype

    device = resolve_device(device_choice)
    compute = resolve_dtype(cfg.dtype, device)
    # On CPU the frozen weights stay fp32 (bf16 runs through autocast): fp32 master copies keep tiny
    # LoRA updates from vanishing in bf16 rounding. Full fine-tuning keeps fp32 weights on any device, for the
    # same reason (its optimiser steps are as small).
    weights = "float32" if (device.type == "cpu" or cfg.method == "full") and cfg.quantize == "none" else cfg.dtype
    lm, tokenizer = load_base(resolve_base(cfg.model), device_choice, weights, cfg.quantize, cfg.trust_remote_code)
    fingerprint = base_fingerprint(lm, tokenizer)
    if cfg.quantize != "none":
        lm = prepare_model_for_kbit_training(lm, use_gradient_checkpointing=cfg.gradient_checkpointing)
    elif cfg.gradient_checkpointing:
        lm.gradient_checkpointing_enable()
        lm.enable_input_require_grads()
    torch.manual_seed(cfg.seed)
    model = attach(lm, cfg)  # the method's trainable module (codelens.train.methods)
    heads = TaskHeads(lm.config.hidden_size, cfg.head_hidden, cfg.clone_dim, cfg.bug_head()).to(device)
    use_autocast = compute in (torch.bfloat16, torch.float16)
    autocast = torch.autocast(device.type, dtype=compute) if use_autocast else contextlib.nullcontext()
    return model, tokenizer, heads, fingerprint, autocast, device, compute
