"""``TrainConfig``: every setting of `codelens train`, one dataclass with a docstring per field.

The command line is built from it (``codelens/cli/train_cmd.py``) and the resolved config is stored in the
adapter's codelens.json, so the two cannot drift apart. Light to import: `codelens --help` reads it, and so
does every `codelens scan`, whose CLI registers `codelens train` beside it; that is why it lives outside the
``codelens.train`` package, which the scan never imports.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Mapping

from codelens.choices import Method, Quantize, Sampling, SplitBy, choice
from codelens.core import TASKS
from codelens.errors import ConfigError
from codelens.model.options import ModelOptions
from codelens.parsing.sites import BUG_KINDS


@dataclass
class TrainConfig(ModelOptions):
    """Everything `codelens train` needs; stored, resolved, in the adapter's codelens.json. The model settings
    (device, quantize, dtype, trust-remote-code) are ``ModelOptions``'; on CPU the frozen weights stay fp32
    and bf16 runs through autocast, and --quantize trains a QLoRA."""

    model: str
    """Base causal LM: a local folder or a hub id (already in the local cache)."""
    corpus: list[str] = field(default_factory=list)
    """Folders of code to learn from (no labels needed)."""
    codexglue: list[str] = field(default_factory=list)
    """CodeXGLUE files (Devign / POJ-104 / CodeSearchNet JSONL) or BigCloneBench folders."""
    out: str = "codelens-adapter"
    """Adapter folder to write (replaced atomically at the end). It must be new, empty, or an adapter folder
    (replaced only with --overwrite); anything else is refused before training starts."""
    overwrite: bool = False
    """Replace the adapter already in --out."""
    split_by: SplitBy = SplitBy.DIR
    """dir: each corpus folder is one repository; subdir: each top-level folder of it is one."""
    manifest: str | None = None
    """JSON file mapping repository -> train / val / test; others are split by sha256 of their name."""
    max_steps: int = 1000
    """Optimiser steps."""
    batch_size: int = 8
    """Rows per task per step (defect: clean / buggy pairs of functions; clone: batch_size / 2 pairs). Under
    torchrun / accelerate launch this is the global batch, split among the processes."""
    method: Method = Method.LORA
    """What trains: lora, ia3 or loha (peft's parameter-efficient modules) or full (every base weight)."""
    lr: float = 2e-4
    """Peak learning rate of the trained module's weights (the LoRA's, or the base's with --method full)."""
    head_lr: float = 1e-3
    """Peak learning rate of the task heads (small, freshly initialised: they can move faster)."""
    warmup_steps: int | None = None
    """Linear warm-up steps (default: 5% of max_steps), then cosine decay to 10% of the peak."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    grad_clip: float = 1.0
    """Gradient norm clip (0 = off)."""
    lora_r: int = 16
    """LoRA rank (LoHa's too)."""
    lora_alpha: int = 32
    """LoRA scaling numerator (scale = alpha / r; LoHa's alpha)."""
    lora_dropout: float = 0.05
    """Dropout on the LoRA input."""
    target_modules: list[str] | None = None
    """Modules that get LoRA or LoHa (default: every known attention / MLP projection the model has), or IA3
    (default: peft's choice for the architecture, keys, values and the MLP's down projection for Llama)."""
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    """Tasks trained (a subset gives the single-task baselines)."""
    sampling: Sampling = Sampling.ROUND_ROBIN
    """round_robin: every step takes one batch of each task; temperature: each step draws len(tasks)
    batches, task t with probability proportional to n_t ** (1 / sampling_temperature)."""
    sampling_temperature: float = 2.0
    """Temperature of the temperature sampling (1 = proportional to data size)."""
    clone_temperature: float = 0.05
    """InfoNCE temperature of the clone loss."""
    seed: int = 0
    """Seeds data building, sampling, LoRA / head initialisation and dropout."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass (saves memory on large bases)."""
    eval_every: int = 0
    """Report validation metrics every N steps (0 = only at the end)."""
    checkpoint_every: int = 0
    """Write a resumable checkpoint every N steps (0 = never)."""
    checkpoint_dir: str | None = None
    """Where checkpoints go (default: ``<out>.checkpoint`` next to the adapter)."""
    resume: bool = False
    """Continue from the checkpoint when there is one (same data and settings required)."""
    max_code_tokens: int = 384
    """Code is cut to this many tokens (stored in the adapter's prompt format)."""
    max_summary_tokens: int = 32
    """Longest summary generated at scan time (a 20-word sentence fits in most tokenisers)."""
    threads: int = 0
    """CPU threads for torch; 0 = leave torch's default."""
    clone_variants: int = 3
    """Transform chains per corpus function (clone class size - 1)."""
    bugs_per_function: int = 4
    """Injected bugs per corpus function (as many clean examples are kept)."""
    bug_kinds: list[str] = field(default_factory=lambda: list(BUG_KINDS))
    """Bug kinds injected (see codelens/parsing/sites.py); a subset for ablations."""
    head_hidden: int = 256
    """Hidden size of the clone head."""
    clone_dim: int = 128
    """Size of the clone embedding."""
    bug_width: int = 256
    """Width of the defect head's bidirectional block over the code tokens."""
    bug_layers: int = 2
    """Layers of that block (0: each token's decoder state alone, which cannot see the code to its right)."""
    bug_heads: int = 4
    """Attention heads of that block."""
    relation_bias: bool = True
    """Let that block bias attention between tokens of the same name (an ablation switch)."""
    max_eval_summaries: int | None = 200
    """Summaries generated per split at evaluation (generation is the slow part; None in Python: all)."""
    codexglue_limit: int | None = None
    """Read at most this many records per CodeXGLUE file."""
    max_minutes: float = 0.0
    """Train for at most this many minutes (0: no limit): after a few timed steps the step count, and with it
    the learning-rate schedule, is fitted to the time. Evaluation and saving come after it."""
    data_workers: int = 1
    """Processes that build the task data (the result does not depend on their number)."""
    max_functions_per_repository: int | None = None
    """Build examples from at most this many functions of one repository (chosen by a hash; None: all)."""
    held_out_rewrites_per_repository: int | None = None
    """The rewrite cap of validation and test repositories (None: rewrite_functions_per_repository)."""
    max_eval_functions: int | None = None
    """Evaluate (fit thresholds, measure) on at most this many functions of each split, chosen by a hash, with
    their rewrites and clone classes (None: every one; a corpus-sized split takes hours to score)."""
    rewrite_functions_per_repository: int | None = None
    """Make bug and clone rewrites (the costly examples) from at most this many functions of one repository
    (chosen by a hash); every function still gives its summary example. None: all."""
    data_cache: str | None = None
    """Folder where built task data is kept (gzipped JSON keyed by the data settings and the corpus files'
    names and sizes): runs over the same corpus (single-task baselines, resumes) build it once."""

    def __post_init__(self) -> None:
        unknown = set(self.tasks) - set(TASKS)
        if not self.tasks or unknown:
            raise ConfigError(f"unknown or no tasks: {sorted(unknown) or self.tasks}",
                              hint=f"choose from {', '.join(TASKS)}")
        self.sampling = choice(Sampling, "sampling", self.sampling)
        self.split_by = choice(SplitBy, "split-by", self.split_by)
        self.check_model_options()
        self.method = choice(Method, "method", self.method)
        if self.method == Method.FULL and self.quantize != Quantize.NONE:
            raise ConfigError("full fine-tuning cannot train a quantised base (its weights are frozen integers)",
                              hint="pass --quantize none, or a parameter-efficient --method (lora, ia3, loha)")
        if not self.corpus and not self.codexglue:
            raise ConfigError("no training data", hint="pass --corpus DIR and/or --codexglue FILE")
        for name in ("max_steps", "batch_size", "lora_r", "max_code_tokens", "max_summary_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        bad_kinds = set(self.bug_kinds) - set(BUG_KINDS)
        if not self.bug_kinds or bad_kinds:
            raise ConfigError(f"unknown or no bug kinds: {sorted(bad_kinds) or self.bug_kinds}",
                              hint=f"choose from {', '.join(BUG_KINDS)}")
        if self.bug_width % self.bug_heads or self.bug_layers < 0:
            raise ConfigError(f"bug_width {self.bug_width} must be a multiple of bug_heads {self.bug_heads}, and "
                              f"bug_layers ({self.bug_layers}) 0 or more", hint="pass --bug-width and --bug-heads")
        if self.batch_size < 4 and "clone" in self.tasks:
            raise ConfigError("the clone loss needs batch_size >= 4 (two pairs: in-batch negatives)",
                              hint="raise --batch-size")
        if self.max_minutes < 0 or self.data_workers < 1:
            raise ConfigError("max_minutes must be 0 or more and data_workers at least 1",
                              hint="pass --max-minutes 0 for no limit, --data-workers 1 or more")
        for name in ("eval_every", "checkpoint_every", "threads"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 or more, got {getattr(self, name)}")

    def data_config(self):
        """How the task data is built from the corpus (``codelens.train.data.dataset.DataConfig``): the trainer's,
        and that of anything that must rebuild the same examples (training/study.py)."""
        from pathlib import Path

        from codelens.train.data.functions import load_manifest

        return data_config(vars(self), load_manifest(Path(self.manifest)) if self.manifest else {})

    def bug_head(self):
        """The defect head's shape (``codelens.model.heads.BugHeadConfig``)."""
        from codelens.model.heads import BugHeadConfig

        return BugHeadConfig(self.bug_width, self.bug_layers, self.bug_heads, self.relation_bias)


DATA_SETTINGS = ("seed", "clone_variants", "bugs_per_function", "bug_kinds", "split_by", "codexglue_limit",
                 "max_functions_per_repository", "rewrite_functions_per_repository", "held_out_rewrites_per_repository")
"""The ``TrainConfig`` fields the task data depends on."""


def data_config(settings: Mapping[str, Any], manifest: dict[str, str]):
    """The ``DataConfig`` of a run's settings: a ``TrainConfig``'s fields, or those an adapter's codelens.json
    stores (one missing, from an older codelens, takes ``TrainConfig``'s default); ``manifest`` maps
    repositories to splits."""
    from codelens.train.data.dataset import DataConfig

    defaults = {f.name: f.default if f.default is not MISSING else f.default_factory()
                for f in fields(TrainConfig) if f.name in DATA_SETTINGS}
    value = {name: settings.get(name) if settings.get(name) is not None else defaults[name] for name in DATA_SETTINGS}
    return DataConfig(seed=int(value["seed"]), clone_variants=int(value["clone_variants"]),
                      bugs_per_function=int(value["bugs_per_function"]), bug_kinds=tuple(value["bug_kinds"] or BUG_KINDS),
                      split_by=value["split_by"], manifest=manifest, codexglue_limit=value["codexglue_limit"],
                      max_functions_per_repository=value["max_functions_per_repository"],
                      rewrite_functions_per_repository=value["rewrite_functions_per_repository"],
                      held_out_rewrites_per_repository=value["held_out_rewrites_per_repository"])
