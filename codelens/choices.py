"""The fixed choices of codelens' settings, as Enums: one definition for the config file, the dataclasses
(``ScanConfig``, ``ModelOptions``, ``TrainConfig``), the command-line options built from them, and the task
names. At the bottom of the import graph with ``codelens.core`` (it imports only ``codelens.errors``).

They are ``StrEnum``s, so a member compares equal to its value, formats as its value and serialises to
JSON and TOML as a plain string: ``Quantize.NF4 == "nf4"``, ``f"{Quantize.NF4}" == "nf4"``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TypeVar

from codelens.errors import CodelensError, ConfigError


class Task(StrEnum):
    """The jobs of the one adapter, in report order (``codelens.core.TASKS``): the names in codelens.json,
    `codelens train --tasks` and the task data; each has its finding code (``codelens.rules``)."""

    DEFECT = "defect"
    """Likely defects (CL100)."""
    CLONE = "clone"
    """Clones (CL200)."""
    SUMMARY = "summary"
    """One-line summaries for missing docstrings (CL300)."""


class ReportFormat(StrEnum):
    """Output formats (one reporter each, ``codelens.report.REPORTERS``)."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    GITHUB = "github"
    GITLAB = "gitlab"
    JUNIT = "junit"
    JSONL = "jsonl"
    HTML = "html"
    """One self-contained page to browse in a browser (``codelens.report.html``)."""
    CONCISE = "concise"
    """The text report without source lines: one line per finding (``codelens.report.text``)."""


class SummaryMode(StrEnum):
    """Which functions get a generated summary."""

    MISSING = "missing"
    """Those without a docstring (the CL300 case)."""
    ALL = "all"
    NONE = "none"


class Quantize(StrEnum):
    """Weight quantisation of the base model through bitsandbytes."""

    NONE = "none"
    INT8 = "int8"
    NF4 = "nf4"


class Dtype(StrEnum):
    """Compute dtype; auto is bf16 where the hardware runs it natively, else fp32."""

    AUTO = "auto"
    FLOAT32 = "float32"
    BFLOAT16 = "bfloat16"
    FLOAT16 = "float16"


class Sampling(StrEnum):
    """How multi-task training picks each step's batches."""

    ROUND_ROBIN = "round_robin"
    """Every step takes one batch of each task."""
    TEMPERATURE = "temperature"
    """Each step draws as many batches as there are tasks, task t with probability ~ n_t ** (1 / T)."""


class Method(StrEnum):
    """How `codelens train` tunes the base model (``codelens.train.methods``)."""

    LORA = "lora"
    """LoRA: a low-rank update ``B @ A`` beside each attention / MLP projection."""
    IA3 = "ia3"
    """(IA)³: learned per-channel scales of the keys, the values and the MLP's inner activations."""
    LOHA = "loha"
    """LoHa: a low-rank update made of the Hadamard product of two LoRA products (higher rank per parameter)."""
    FULL = "full"
    """Full fine-tuning: every weight of the base trains, and the adapter folder stores them all."""


class SplitBy(StrEnum):
    """What one repository of a training corpus is (the unit of the train / val / test split)."""

    DIR = "dir"
    """Each corpus folder."""
    SUBDIR = "subdir"
    """Each top-level folder of a corpus folder."""


class FailOn(StrEnum):
    """The lowest finding severity that makes a scan exit with 1 (never: always exit 0)."""

    NEVER = "never"
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ServerMode(StrEnum):
    """Whether a scan runs its model in the user's background server (``codelens server``)."""

    AUTO = "auto"
    """Use a server that runs; in a git hook, start one on first use."""
    ON = "on"
    """Use the server, starting one on first use wherever the scan runs."""
    OFF = "off"
    """Always run the model in the scan's own process."""


E = TypeVar("E", bound=StrEnum)

_DEVICE = re.compile(r"^(auto|cpu|cuda|cuda:\d+)$")
DEVICE_HINT = "use auto, cpu, cuda or cuda:N"


def choice(kind: type[E], name: str, value: object, error: type[CodelensError] = ConfigError) -> E:
    """``value`` as a member of ``kind``; ``error`` naming the setting and the allowed values otherwise."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise error(f"{name} = {value!r} is not allowed", hint=f"use one of: {allowed}") from None


def check_device(name: str, value: object, error: type[CodelensError] = ConfigError) -> str:
    """A device name (auto, cpu, cuda, cuda:N) checked by form; whether it exists is known at load time."""
    if not isinstance(value, str) or not _DEVICE.match(value):
        raise error(f"{name} = {value!r} is not allowed", hint=DEVICE_HINT)
    return value
