"""Resumable checkpoints and the atomic write of the finished adapter folder.

A checkpoint (``<out>.checkpoint/checkpoint.pt``, replaced atomically) holds the trained module's weights
(the LoRA, IA3 or LoHa; every base weight under --method full), the heads' weights, the optimiser, the step, the batch sampler's random state and the torch (CPU and CUDA) random states,
so a resumed run takes exactly the steps the interrupted one would have taken. It also records the data
hash and the settings that shape the run, and refuses to resume under different ones.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from enum import Enum
from pathlib import Path

from codelens.errors import CodelensError
from codelens.model.adapter_meta import FULL_WEIGHTS_FILE, HEADS_FILE, METADATA_FILE

CHECKPOINT_FILE = "checkpoint.pt"
_RESUME_KEYS = ("model", "method", "batch_size", "lora_r", "lora_alpha", "target_modules", "tasks", "sampling",
                "seed", "max_code_tokens", "head_hidden", "clone_dim", "bug_width", "bug_layers", "bug_heads",
                "relation_bias")
"""Settings a checkpoint must share with the run that resumes it."""
_BEFORE_RESUME_KEY = {"method": "lora"}
"""What a checkpoint written before a key was recorded was made with."""


def checkpoint_path(cfg) -> Path:
    folder = Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else Path(f"{Path(cfg.out)}.checkpoint")
    return folder / CHECKPOINT_FILE


def save_checkpoint(path: Path, step: int, model, heads, optimizer, sampler, data_hash: str, cfg) -> None:
    import torch

    from codelens.train.methods import module_state

    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "step": step, "data_hash": data_hash, "config": {k: _plain(getattr(cfg, k)) for k in _RESUME_KEYS},
        "lora": module_state(model, cfg.method),  # the trained module's weights, whatever the method
        "heads": {k: v.detach().cpu() for k, v in heads.state_dict().items()},
        "optimizer": optimizer.state_dict(), "sampler": sampler.state(), "torch_rng": torch.get_rng_state(),
        # Dropout on a GPU draws from the CUDA generators: without them a resumed run would diverge.
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix="checkpoint.tmp-")
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(state, stream)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _plain(value):
    """A setting as plain data: torch.load(weights_only=True) reads builtins only, not Enum members (nor a
    list of them, as ``tasks`` is)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value.value if isinstance(value, Enum) else value


def resume(path: Path, model, heads, optimizer, sampler, data_hash: str, cfg) -> int:
    """Restore a checkpoint; returns the step to continue from."""
    import torch

    from codelens.train.methods import load_module_state

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint gets the same advice
        raise CodelensError(f"cannot read the checkpoint {path}: {exc}", hint="delete it to start over") from exc
    changed = [k for k in _RESUME_KEYS if state["config"].get(k, _BEFORE_RESUME_KEY.get(k)) != getattr(cfg, k)]
    if state["data_hash"] != data_hash or changed:
        what = f"settings {', '.join(changed)}" if changed else "training data"
        raise CodelensError(f"the checkpoint {path} was made with other {what}",
                            hint="train with the same data and settings, or delete the checkpoint to start over")
    load_module_state(model, cfg.method, state["lora"])
    heads.load_state_dict(state["heads"])
    optimizer.load_state_dict(state["optimizer"])
    sampler.set_state(state["sampler"])
    torch.set_rng_state(state["torch_rng"])
    if state.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return int(state["step"])


ADAPTER_FILES = frozenset({METADATA_FILE, HEADS_FILE, FULL_WEIGHTS_FILE, "adapter_config.json",
                           "adapter_model.safetensors", "README.md"})
"""What an adapter folder written by ``save_adapter`` may hold: replacing it loses nothing else."""


def check_out(out: Path, overwrite: bool = False) -> Path:
    """``out`` resolved, or a CodelensError when saving the adapter there could destroy anything but an
    adapter: a link, a file, the working folder or one holding it (``--out .``), a non-empty folder that is
    not an adapter, an adapter folder with other files in it, or an adapter without ``overwrite``.
    Called before training starts (a refusal costs nothing) and again when saving."""
    given = Path(os.path.abspath(out))
    hint = "choose a new or empty folder for --out"
    if given.is_symlink():
        raise CodelensError(f"--out {out} is a symbolic link; codelens does not write through links", hint=hint)
    real = given.resolve()
    here = Path.cwd().resolve()
    if real == here or real in here.parents:
        raise CodelensError(f"--out {out} is the folder you are working in (or holds it): replacing it would delete "
                            "your files", hint=hint)
    if not os.path.lexists(real):
        return real
    if not real.is_dir():
        raise CodelensError(f"--out {out} exists and is not a folder", hint=hint)
    names = {entry.name for entry in real.iterdir()}
    if not names:
        return real
    if METADATA_FILE not in names:
        raise CodelensError(f"--out {out} is a folder that holds files and is not a codelens adapter", hint=hint)
    others = sorted(names - ADAPTER_FILES)
    if others:
        shown = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
        raise CodelensError(f"--out {out} is an adapter folder that also holds other files ({shown}): replacing it "
                            "would delete them", hint="move them out, or choose another --out")
    if not overwrite:
        raise CodelensError(f"--out {out} already holds an adapter", hint="pass --overwrite to replace it, or "
                                                                          "choose another --out")
    return real


def save_adapter(out: Path, model, heads, meta, overwrite: bool = True) -> None:
    """Write the adapter folder next to ``out`` and move it into place in one rename. ``check_out`` decides
    whether an existing ``out`` may be replaced: never unless it is an adapter folder; an adapter only with
    ``overwrite`` (the trainer checks ``--overwrite`` before training starts, so here it defaults to yes)."""
    from safetensors.torch import save_file

    from codelens.train.methods import save_module

    out = check_out(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f"{out.name}.tmp-"))
    try:
        save_module(model, meta.method, tmp)
        tensors = {k: v.detach().cpu().contiguous() for k, v in heads.state_dict().items()}
        save_file(tensors, str(tmp / HEADS_FILE))
        meta.save(tmp)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f"{out.name}.old-"))
            os.replace(out, old / "adapter")
        try:
            os.replace(tmp, out)
        except BaseException:
            if old is not None:  # put the previous adapter back where the user expects it
                os.replace(old / "adapter", out)
                old.rmdir()
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
