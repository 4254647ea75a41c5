"""Which model runs and how: ``ModelOptions``, the one declaration of the model settings that `codelens scan`,
`codelens train` and `codelens eval` share (their options and help come from its fields), and ``ModelSpec``,
what ``codelens.model.loading`` loads (the options plus the adapter).

``ScanConfig`` and ``TrainConfig`` extend ``ModelOptions``, so a model setting is named, typed, checked and
described once.

The device and dtype a model runs on are resolved here too: as names (cheap, no torch) and as torch objects
(at load time). The names are part of the result-cache key, so they are worked out without importing torch
where the machine allows it: a scan whose functions all come from the cache then never imports torch (about
a second of a warm re-scan). On a machine with an NVIDIA driver, whether CUDA is usable takes torch to
answer, and the names import it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from codelens.choices import Dtype, Quantize, check_device, choice
from codelens.errors import CodelensError, ConfigError, ModelError


@dataclass
class ModelOptions:
    """The base model and how it runs: device, precision, quantisation, remote-code trust."""

    model: str | None = None
    """Base model: a local folder or a Hugging Face hub id (default: the embedded model, codelens-small where
    installed, else codelens-nano)."""
    device: str = "auto"
    """auto, cpu, cuda or cuda:N."""
    quantize: Quantize = Quantize.NONE
    """Weight quantisation through bitsandbytes: none, int8 or nf4."""
    dtype: Dtype = Dtype.AUTO
    """Compute dtype: auto (bf16 where the hardware supports it), float32, bfloat16, float16."""
    trust_remote_code: bool = False
    """Allow a hub model's own Python code to run; off unless you trust the model's authors."""

    def check_model_options(self, error: type[CodelensError] = ConfigError) -> None:
        """Turn the choices into their Enums, raising ``error`` (naming the setting and what is allowed) for
        a value that is not one."""
        self.device = check_device("device", self.device, error)
        self.quantize = choice(Quantize, "quantize", self.quantize, error)
        self.dtype = choice(Dtype, "dtype", self.dtype, error)

    def __post_init__(self) -> None:
        self.check_model_options()


@dataclass
class ModelSpec(ModelOptions):
    """Which model to load and how (``codelens.model.loading.load_model``)."""

    adapter: str | None = None
    """Adapter folder written by `codelens train`. None = the embedded default's adapter; with ``model``
    None too, the default's base, and with ``adapter`` alone the base recorded in its codelens.json."""
    merge: bool = True
    """Fold the LoRA into the base's weights at load time (inference only; not possible for int8 /
    nf4 bases, whose layers keep the adapter beside them). Off leaves a peft.PeftModel, which can
    switch the adapter off."""

    def __post_init__(self) -> None:
        self.check_model_options(ModelError)

    @classmethod
    def of(cls, options: ModelOptions, adapter: str | None = None, **overrides) -> "ModelSpec":
        """The spec of ``options`` (a ``ScanConfig``, a ``TrainConfig``) with ``adapter``."""
        return cls(model=options.model, device=options.device, quantize=options.quantize, dtype=options.dtype,
                   trust_remote_code=options.trust_remote_code, adapter=adapter, **overrides)


def _cuda_possible() -> bool:
    """False when this machine certainly has no usable CUDA GPU (no NVIDIA driver): then torch need not ask."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    if sys.platform.startswith("linux"):
        return Path("/dev/nvidiactl").exists() or Path("/proc/driver/nvidia").exists()
    return sys.platform.startswith("win")  # no CUDA on macOS; elsewhere ask torch


def _cuda_available() -> bool:
    if not _cuda_possible():
        return False
    import torch

    return torch.cuda.is_available()


def _cpu_has_bf16() -> bool:
    # Without AVX512-BF16 or AMX, bf16 matmuls on CPU are emulated and slower than fp32.
    if not sys.platform.startswith("linux"):
        return False
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
            break
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def device_name(device: str) -> str:
    """"cpu" or "cuda:N" for 'auto' / 'cpu' / 'cuda' / 'cuda:N'; a missing GPU is a ModelError."""
    if device == "cpu":
        return "cpu"
    if device == "auto":
        return "cuda:0" if _cuda_available() else "cpu"
    if not _cuda_available():
        raise ModelError(f"device {device} was asked for, but no CUDA GPU is available", hint="use --device cpu")
    import torch

    index = int(device.split(":")[1]) if ":" in device else 0
    if index >= torch.cuda.device_count():
        raise ModelError(
            f"device {device} does not exist: {torch.cuda.device_count()} GPU(s) visible",
            hint=f"use cuda:0 .. cuda:{torch.cuda.device_count() - 1}, or --device cpu",
        )
    return f"cuda:{index}"


def dtype_name(dtype: str, device: str) -> str:
    """The compute dtype's name for a device name; 'auto' is bf16 where the hardware runs it natively."""
    if dtype != "auto":
        return str(dtype)
    if device.startswith("cuda"):
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    return "bfloat16" if _cpu_has_bf16() else "float32"


def resolve_device(device: str):
    """torch.device for 'auto' / 'cpu' / 'cuda' / 'cuda:N'; a missing GPU is a ModelError."""
    import torch

    return torch.device(device_name(device))


def resolve_dtype(dtype: str, device):
    """torch.dtype for a dtype name on a torch.device (or device name)."""
    import torch

    return getattr(torch, dtype_name(dtype, str(device)))
