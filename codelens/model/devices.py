"""Which device and dtype a model runs on: as names (cheap, no torch) and as torch objects (at load time).

The names are part of the result-cache key, so they are worked out without importing torch where the
machine allows it: a scan whose functions all come from the cache then never imports torch (about a
second of a warm re-scan). On a machine with an NVIDIA driver, whether CUDA is usable takes torch to
answer, and the names import it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from codelens.errors import ModelError


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
