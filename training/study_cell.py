"""One cell of the study (training/study.py): train a module with `codelens train`'s library, then measure it.

A cell is (method, setting, seed). Its folder holds the saved module (``module/``, an adapter folder as
`codelens train` writes it), ``trained.json`` once training is over (its wall-clock, kept so that a study
interrupted while measuring does not train again) and ``result.json`` once everything is measured: a cell
with result.json is never run again. Training writes checkpoints, so a cell cut short resumes where it was.

    trainable parameters, bytes    read back from the saved module's safetensors files
    training FLOPs                 counted by torch (FlopCounterMode) over the forward and backward of the
                                   cell's first steps, the very batches training drew, times its steps
    scan cost                      functions/s of the scan's forward (codelens.model.forward.score_functions)
                                   with the module loaded as a scan loads it (folded into the base)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from codelens.core import TASKS

SETTINGS = {
    "defect": ("defect",), "clone": ("clone",), "summary": ("summary",),
    "defect+clone": ("defect", "clone"), "defect+summary": ("defect", "summary"), "clone+summary": ("clone", "summary"),
    "mft": TASKS,
}
"""Setting -> the tasks trained together: each alone (SFT), each pair, all three (MFT)."""
METHOD_LR = {"full": 5e-5, "lora": 1e-3, "ia3": 5e-3, "loha": 1e-3}
"""Peak learning rate of each method's module (the heads keep TrainConfig's): full fine-tuning moves every
weight and wants the smallest; (IA)^3 scales start at 1 and want the largest (its paper used 3e-3)."""
FLOP_STEPS = 3
"""Steps whose forward and backward are counted for the FLOPs (then scaled by the cell's steps)."""
MODULE, TRAINED, RESULT = "module", "trained.json", "result.json"


@dataclass(frozen=True)
class Cell:
    """One point of the grid."""

    method: str
    setting: str
    seed: int

    @property
    def tasks(self) -> tuple[str, ...]:
        return SETTINGS[self.setting]

    @property
    def name(self) -> str:
        return f"{self.method}-{self.setting}-s{self.seed}"


@dataclass(frozen=True)
class CellPlan:
    """What every cell of one study shares (from training/study.py's StudyConfig)."""

    base: str
    corpus: str
    manifest: str
    data_cache: str
    steps: int
    batch_size: int
    max_code_tokens: int
    max_functions_per_repository: int | None
    max_eval_functions: int | None
    max_eval_summaries: int
    head_hidden: int
    clone_dim: int
    bug_width: int
    threads: int
    device: str


def train_config(plan: CellPlan, cell: Cell, out: Path, steps: int | None = None):
    """The `codelens train` config of ``cell``."""
    from codelens.train_config import TrainConfig

    steps = steps or plan.steps
    return TrainConfig(
        model=plan.base, corpus=[plan.corpus], split_by="subdir", manifest=plan.manifest, out=str(out),
        method=cell.method, tasks=list(cell.tasks), seed=cell.seed, max_steps=steps, batch_size=plan.batch_size,
        lr=METHOD_LR[cell.method], max_code_tokens=plan.max_code_tokens, max_eval_summaries=plan.max_eval_summaries,
        max_functions_per_repository=plan.max_functions_per_repository, max_eval_functions=plan.max_eval_functions,
        data_cache=plan.data_cache,
        head_hidden=plan.head_hidden, clone_dim=plan.clone_dim, bug_width=plan.bug_width, threads=plan.threads,
        # A checkpoint every quarter of a cell, so a study cut short loses little; a short cell (a sizing probe,
        # the quick grid) starts over instead of timing its checkpoint writes.
        device=plan.device, checkpoint_every=steps // 4 if steps >= 40 else 0, resume=True)


def write_json(path: Path, value) -> None:
    """``value`` as JSON at ``path``, replaced in one rename (a study killed mid-write leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.tmp-")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(json.dumps(value, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def run_cell(plan: CellPlan, cell: Cell, folder: Path, data, scan_codes: list[str], steps: int | None = None) -> dict:
    """Train and measure ``cell`` in ``folder`` (``data``: the seed's TaskData, for the FLOP count); its
    result, read back when the cell was finished before."""
    done = folder / RESULT
    if done.is_file():
        return json.loads(done.read_text(encoding="utf-8"))
    cfg = train_config(plan, cell, folder / MODULE, steps)
    trained_file = folder / TRAINED
    if trained_file.is_file() and (folder / MODULE / "codelens.json").is_file():
        trained = json.loads(trained_file.read_text(encoding="utf-8"))
    else:
        # A module saved by a run killed before it noted its timing is trained again (its checkpoint is gone).
        shutil.rmtree(folder / MODULE, ignore_errors=True)
        trained = _train(cfg)
        write_json(trained_file, trained)
    from codelens.model.adapter_meta import AdapterMetadata

    meta = AdapterMetadata.load(folder / MODULE)
    flops = training_flops(cfg, data)
    result = {
        **asdict(cell), "tasks": list(cell.tasks), "steps": meta.training["steps"], "batch_size": cfg.batch_size,
        "lr": cfg.lr, **trained, **module_counts(folder / MODULE, cell.method),
        "trainable_params": meta.training["trainable_params"], "total_params": meta.training["total_params"],
        "flops_per_step": flops["per_step"], "tokens_per_step": flops["tokens_per_step"],
        "train_flops": flops["per_step"] * meta.training["steps"],
        **scan_cost(plan, folder / MODULE, scan_codes),
        "test": scalar_metrics(meta.metrics.get("test", {}), cell.tasks),
    }
    write_json(done, result)
    return result


def scalar_metrics(metrics: dict, tasks) -> dict:
    """The scalar test metrics of ``tasks`` (those a cell trained: an untrained head's scores say nothing).

    ``map_at_r`` is the clone score a scan uses (the embedding fused with identifier Jaccard by the weight
    fitted on validation); ``map_at_r_embedding`` is always set here, to the embedding's alone (the same
    number when the fitted weight is 0)."""
    out = {task: {k: v for k, v in metrics[task].items() if isinstance(v, (int, float)) or v is None}
           for task in tasks if task in metrics}
    if "map_at_r" in out.get("clone", {}):
        out["clone"].setdefault("map_at_r_embedding", out["clone"]["map_at_r"])
    return out


def _train(cfg) -> dict:
    """Run `codelens train`'s library on ``cfg``; wall-clock seconds of the whole run and of its steps."""
    from codelens.train.trainer import train

    stamps: dict[str, float] = {}
    first: list[int] = []

    def progress(event) -> None:
        now = time.perf_counter()
        if event.phase == "train":
            if not first:
                first.append(event.step)
                stamps["first"] = now
            stamps["last"], stamps["last_step"] = now, event.step
        elif event.phase == "save":
            stamps["save"] = now

    start, cpu = time.perf_counter(), time.process_time()
    result = train(cfg, progress)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    timed = stamps.get("last_step", 0) - (first[0] if first else 0)
    # The first step of a run is slower (allocation, kernel choice) and a resumed run skips some: the
    # time per step is taken between the first and the last step seen, for every step of the cell.
    per_step = (stamps["last"] - stamps["first"]) / timed if timed > 0 else None
    # CPU seconds beside the wall-clock: on a machine shared with other work they say what the cell costs.
    return {"seconds": total, "cpu_seconds": cpu, "train_seconds": per_step * result.steps if per_step else None,
            "seconds_per_step": per_step, "resumed": bool(first and first[0] > 1),
            # From the last step to the saved adapter: thresholds fitted on validation, both splits scored.
            "eval_seconds": stamps["save"] - stamps["last"] if "save" in stamps and "last" in stamps else None}


def module_counts(module: Path, method: str) -> dict:
    """Parameters and bytes of the saved module (peft's weights, or every base weight for full) and heads."""
    from safetensors import safe_open

    from codelens.model.adapter_meta import FULL_WEIGHTS_FILE, HEADS_FILE
    from codelens.model.lora_merge import WEIGHTS_FILE

    def numel(path: Path) -> int:
        total = 0
        with safe_open(str(path), framework="pt") as weights:
            for key in weights.keys():
                count = 1
                for size in weights.get_slice(key).get_shape():
                    count *= size
                total += count
        return total

    weights = module / (FULL_WEIGHTS_FILE if method == "full" else WEIGHTS_FILE)
    heads = module / HEADS_FILE
    return {"module_params": numel(weights), "module_bytes": weights.stat().st_size,
            "head_params": numel(heads), "head_bytes": heads.stat().st_size}


def training_flops(cfg, data) -> dict:
    """FLOPs of one training step of ``cfg`` (forward and backward, counted by torch over its first
    FLOP_STEPS steps: the batches its seeded sampler drew) and the tokens it fed per step."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from codelens.model.adapter_meta import PromptFormat
    from codelens.model.heads import TaskHeads
    from codelens.model.loading import load_base
    from codelens.train.batches import Encoder, TaskSampler, step_losses
    from codelens.train.methods import attach

    lm, tokenizer = load_base(cfg.model, "cpu", "float32")
    torch.manual_seed(cfg.seed)
    model = attach(lm, cfg)
    model.train()
    heads = TaskHeads(lm.config.hidden_size, cfg.head_hidden, cfg.clone_dim, cfg.bug_head())
    sampler = TaskSampler(data.split("train"), cfg.tasks, cfg.batch_size, cfg.seed, cfg.sampling,
                          cfg.sampling_temperature)
    encoder = Encoder(tokenizer, PromptFormat(max_code_tokens=cfg.max_code_tokens,
                                              max_summary_tokens=cfg.max_summary_tokens))
    flops = tokens = 0
    for _ in range(FLOP_STEPS):
        inputs = encoder.encode(sampler.next())
        with FlopCounterMode(display=False) as counter:
            losses = step_losses(model, heads, inputs, cfg.clone_temperature, torch.device("cpu"),
                                 contextlib.nullcontext())
            sum(losses.values()).backward()
        flops += counter.get_total_flops()
        tokens += inputs.tokens
    return {"per_step": flops / FLOP_STEPS, "tokens_per_step": tokens / FLOP_STEPS}


def scan_cost(plan: CellPlan, module: Path, codes: list[str]) -> dict:
    """Functions per second through the scan's forward (no summaries: the per-function work of every scan),
    with the module loaded as a scan loads it; and the seconds that loading took."""
    from codelens.core import FunctionText
    from codelens.model.forward import score_functions
    from codelens.model.loading import ModelSpec, load_model

    start = time.perf_counter()
    loaded = load_model(ModelSpec(model=plan.base, adapter=str(module), device=plan.device))
    load_seconds = time.perf_counter() - start
    functions = {i: FunctionText(code) for i, code in enumerate(codes)}
    score_functions(loaded, dict(list(functions.items())[:4]))  # first calls pay for allocation
    start, cpu = time.perf_counter(), time.process_time()
    score_functions(loaded, functions)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"scan_functions_per_second": len(codes) / seconds, "scan_functions_per_cpu_second": len(codes) / cpu,
            "scan_load_seconds": load_seconds}
