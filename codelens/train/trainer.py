"""`codelens train`: one LoRA adapter + task heads for defects, clones and summaries, from unlabelled code.

    from codelens.train.config import TrainConfig
    from codelens.train.trainer import train
    result = train(TrainConfig(model="./base", corpus=["./repos"], split_by="subdir", out="./adapter"))

setup (data, base model, LoRA, heads, optimiser, resume) -> train (task-balanced steps, checkpoints) ->
finish (thresholds and calibration on validation, val / test metrics, atomic save of the adapter folder).
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
from typing import Callable

from codelens.errors import CodelensError
from codelens.train.batches import Encoder, TaskSampler, lr_at, step_losses
from codelens.train.checkpoints import check_out, checkpoint_path, resume, save_adapter, save_checkpoint
from codelens.train.config import TrainConfig
from codelens.train.data.dataset import DataConfig, TaskData, cached_task_data
from codelens.train.distributed import (World, agree, broadcast_parameters, detect, device_for, dropout_seed,
                                        from_main, main_first, process_group, shard_backward)
from codelens.train.methods import KNOWN_TARGETS, attach, resolve_targets  # noqa: F401 - their former home


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

    from codelens.model.devices import resolve_device, resolve_dtype
    from codelens.model.fingerprint import base_fingerprint
    from codelens.model.heads import TaskHeads
    from codelens.model.loading import load_base, resolve_base

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


def _metadata(cfg: TrainConfig, fingerprint: str, tasks: list[str], fmt, model):
    from codelens.model.adapter_meta import AdapterMetadata
    from codelens.model.loading import DEFAULT_MODEL, shipped_model_dir

    # "default" means whichever model is shipped now; the adapter records which one it was trained on
    base = shipped_model_dir().name if cfg.model == DEFAULT_MODEL else cfg.model
    return AdapterMetadata(base, fingerprint, list(tasks), fmt, pooled_dim=2 * model.config.hidden_size,
                           clone_dim=cfg.clone_dim, head_hidden=cfg.head_hidden, bug_head=cfg.bug_head().to_dict(),
                           languages=trained_languages(cfg.codexglue), method=cfg.method.value,
                           # the kinds a scan and `codelens eval` weigh (AdapterMetadata.bug_kinds): the numbers
                           # chosen and measured here must see the same sites as they do
                           training={"config": {"bug_kinds": list(cfg.bug_kinds)}})


def trained_languages(codexglue: list) -> list[str]:
    """The languages of a run's training code: those the corpus reader takes (DataConfig.languages), or
    none known when CodeXGLUE files join in (their records carry C, Java, C++ or any language)."""
    return [] if codexglue else list(DataConfig.languages)


def _evaluate_splits(model, tokenizer, heads, meta, device, compute, data: TaskData, cfg: TrainConfig,
                     names: tuple[str, ...] = ("val", "test"), progress=None):
    """Fit thresholds / calibration on val, then metrics of each split in ``names``, through the runtime forward;
    ``progress(stage, done, total)`` hears of each stage."""
    progress = progress or (lambda stage, done, total: None)
    from codelens.model.loading import LoadedModel
    from codelens.train.evaluate import fit_decisions, score_split, task_metrics

    loaded = LoadedModel(model=model, tokenizer=tokenizer, heads=heads, meta=meta, device=device, dtype=compute,
                         base_fingerprint=meta.base_fingerprint, adapter_hash="", model_id=cfg.model,
                         quantize=cfg.quantize)
    max_summaries = cfg.max_eval_summaries if "summary" in meta.tasks else 0
    # Sampled before the tasks are picked: the sample is drawn by the defect examples' functions, so every
    # adapter of a corpus, a clone-only one too, is scored on the same functions.
    splits = {name: data.split(name).sample_functions(cfg.max_eval_functions).for_tasks(meta.tasks) for name in names}
    scores = {}
    for name, part in splits.items():
        scores[name] = score_split(loaded, part, max_summaries,
                                   progress=lambda done, total, name=name: progress(f"scoring {name}", done, total))
    thresholds, calibration, notes = fit_decisions(splits["val"], scores["val"], progress)
    results = {}
    for done, (name, part) in enumerate(splits.items()):
        progress("metrics", done, len(splits))
        results[name] = task_metrics(part, scores[name], thresholds, calibration)
    progress("metrics", len(splits), len(splits))
    return thresholds, calibration, notes, results


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
            return _train(cfg, progress or (lambda event: None), world, device)
    finally:
        torch.set_num_threads(previous_threads)


def _train(cfg: TrainConfig, report: Callable[[TrainProgress], None], world: World | None,
           device_choice: str) -> TrainResult:
    import torch

    from codelens.model.adapter_meta import PromptFormat

    def counted(phase: str):
        return lambda stage, done, total: report(TrainProgress(phase, message=stage, done=done, total=total))

    _seed_all(cfg.seed)
    data_cfg = cfg.data_config()
    manifest = data_cfg.manifest
    data = main_first(world if cfg.data_cache else None, lambda: cached_task_data(
        [Path(p) for p in cfg.corpus], [Path(p) for p in cfg.codexglue], data_cfg,
        Path(cfg.data_cache) if cfg.data_cache else None, cfg.data_workers, counted("data")))
    # Every rank draws the same batches from its own copy of the data: copies that differ would train on
    # batches that no rank drew in full.
    data_hash = agree(world, data.hash(), "training data",
                      hint="give every machine the same corpus at the same path, or share one --data-cache")
    train_data = data.split("train")
    repos = data.provenance.get("repositories", [])
    report(TrainProgress("data", message=(
        f"{len(repos)} repositories, {data.provenance.get('functions', 0)} functions "
        f"({data.provenance.get('skipped_files', 0)} files skipped); train examples {train_data.counts()}, "
        f"data hash {data_hash[:12]}")))
    for split in ("val", "test"):
        if not any(data.split(split).counts().values()):
            note = " (thresholds keep their defaults)" if split == "val" else ""
            report(TrainProgress("data", message=f"no {split} examples: add repositories or name some {split} "
                                                 f"in a --manifest{note}"))

    model, tokenizer, heads, fingerprint, autocast, device, compute = _load(cfg, device_choice)
    fmt = PromptFormat(max_code_tokens=cfg.max_code_tokens, max_summary_tokens=cfg.max_summary_tokens)
    sampler = TaskSampler(train_data, cfg.tasks, cfg.batch_size, cfg.seed, cfg.sampling, cfg.sampling_temperature)
    if not sampler.tasks:
        raise CodelensError(f"no training examples for the tasks {', '.join(cfg.tasks)}",
                            hint="add repositories (with docstrings) to the corpus, or check the split manifest")
    skipped = sorted(set(cfg.tasks) - set(sampler.tasks))
    if skipped:
        report(TrainProgress("data", message=f"no training data for {', '.join(skipped)}: task skipped"))
    lora_params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": lora_params, "lr": cfg.lr},
                                   {"params": list(heads.parameters()), "lr": cfg.head_lr}],
                                  weight_decay=cfg.weight_decay)
    params = lora_params + list(heads.parameters())
    if world is not None:
        broadcast_parameters(params)
    trainable = sum(p.numel() for p in lora_params) + sum(p.numel() for p in heads.parameters())
    total = sum(p.numel() for p in model.parameters()) + sum(p.numel() for p in heads.parameters())
    report(TrainProgress("model", message=f"trainable {trainable:,} of {total:,} parameters "
                                          f"({trainable / total:.3%})"))

    checkpoint = checkpoint_path(cfg)
    start = 0
    if cfg.resume and checkpoint.is_file():
        start = resume(checkpoint, model, heads, optimizer, sampler, data_hash, cfg)
    # A rank that does not see the checkpoint would start over while the others go on.
    start = agree(world, start, "step to resume from",
                  hint="put the checkpoint where every machine reads it (--checkpoint-dir on a shared file system)")
    if start:
        report(TrainProgress("checkpoint", start, cfg.max_steps,
                             message=f"resumed from {checkpoint} at step {start}"))
    encoder = Encoder(tokenizer, fmt)
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else max(1, cfg.max_steps // 20)
    history: list[dict] = []
    skipped_steps = 0
    model.train()
    heads.train()
    budget = StepBudget(cfg.max_minutes * 60, cfg.max_steps, start)
    step = start
    main = world is None or world.main
    while step < budget.total:
        for group, peak in zip(optimizer.param_groups, (cfg.lr, cfg.head_lr)):
            group["lr"] = lr_at(step, budget.total, warmup, peak)
        optimizer.zero_grad(set_to_none=True)
        if world is None:
            inputs = encoder.encode(sampler.next())
            losses = step_losses(model, heads, inputs, cfg.clone_temperature, device, autocast)
            loss = sum(losses.values())
            values = {k: float(v.detach()) for k, v in losses.items()}
            finite = math.isfinite(float(loss.detach()))
            if finite:
                loss.backward()
        else:
            torch.manual_seed(dropout_seed(cfg.seed, step, world.rank))
            # The same global batch on every rank; the gradients come back summed over the ranks.
            values = shard_backward(model, heads, encoder, sampler.next(), params, cfg.clone_temperature,
                                    cfg.clone_dim, device, autocast, world)
            finite = math.isfinite(sum(values.values()))
        if finite:
            norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip if cfg.grad_clip else float("inf"))
            # A non-finite gradient would turn every weight into NaN: skip that step (as AMP's scaler does).
            if torch.isfinite(norm):
                optimizer.step()
            else:
                skipped_steps += 1
        else:
            skipped_steps += 1
        history.append(values)
        step += 1
        if budget.tick(step):
            budget.total = from_main(world, budget.total)  # rank 0's clock decides for all
        report(TrainProgress("train", step, budget.total, losses=values))
        # The other ranks go on to the next step, and wait in its first collective until rank 0 is done.
        if main and cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < budget.total:
            save_checkpoint(checkpoint, step, model, heads, optimizer, sampler, data_hash, cfg)
            report(TrainProgress("checkpoint", step, budget.total, message=f"checkpoint written to {checkpoint}"))
        if main and cfg.eval_every and step % cfg.eval_every == 0 and step < budget.total:
            meta = _metadata(cfg, fingerprint, sampler.tasks, fmt, model)
            model.eval()
            heads.eval()
            # Validation only: the test split is looked at once, at the end.
            *_, results = _evaluate_splits(model, tokenizer, heads, meta, device, compute, data, cfg, ("val",),
                                           counted("eval"))
            model.train()
            heads.train()
            report(TrainProgress("eval", step, budget.total, metrics=results["val"]))

    model.eval()
    heads.eval()
    results = None
    if main:
        # The adapter claims only the tasks it was trained on (a task without data was skipped).
        meta = _metadata(cfg, fingerprint, sampler.tasks, fmt, model)
        report(TrainProgress("eval", step, step, message="choosing thresholds on validation"))
        meta.thresholds, meta.calibration, notes, results = _evaluate_splits(
            model, tokenizer, heads, meta, device, compute, data, cfg, progress=counted("eval"))
        meta.metrics = results
        meta.training = {
            "config": {**asdict(cfg), "manifest_splits": manifest}, "data_hash": data_hash, "seed": cfg.seed,
            "steps": step, "skipped_steps": skipped_steps, "trainable_params": trainable, "total_params": total,
            "trainable_share": trainable / total, "tasks_trained": sampler.tasks, "calibration": notes,
            "provenance": data.provenance, "counts": {s: data.split(s).counts() for s in ("train", "val", "test")},
            "world_size": world.size if world else 1, "global_batch_size": cfg.batch_size,
        }
        from codelens.train.evaluate import loss_history

        # The loss curves of the model card (training/plots.py); a resumed run has the steps since it resumed.
        meta.training["loss_history"] = loss_history(history, first_step=step - len(history) + 1)
        out = Path(cfg.out)
        save_adapter(out, model, heads, meta)
        if checkpoint.is_file():
            checkpoint.unlink()
            with contextlib.suppress(OSError):
                checkpoint.parent.rmdir()  # only when nothing else is in it
        report(TrainProgress("save", step, step, metrics=results, message=f"adapter saved to {out}"))
    # The other ranks wait here until rank 0 has saved the adapter, and return its metrics.
    results = from_main(world, results)
    return TrainResult(Path(cfg.out).resolve(), trainable, total, trainable / total, results, data_hash, step,
                       history, world.rank if world else 0)
