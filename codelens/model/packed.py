"""Base weights stored in int8 with one scale per output channel: the shipped default's "quantised model".

A 25-35 M-parameter base is 50-70 MB in bf16, too much to ship in the repository (and to carry to the GPU
machine, 64 MiB in all); in int8 it is a quarter of fp32. Every matrix with enough elements is stored as
int8 rows plus an fp16 scale per row (``round(W / s)``, ``s = max|row| / 127``); vectors (norms) stay bf16.
The folder keeps config.json and the tokenizer files of a transformers model, so its architecture is a
plain transformers class, built from the config with no remote code, and the weights are dequantised at
load time. The adapter is trained on the dequantised weights, so what a scan runs is what it learned on.

    model.int8.safetensors   the packed weights (metadata: format = codelens-int8)
"""

from __future__ import annotations

import json
from pathlib import Path

PACKED_FILE = "model.int8.safetensors"
FORMAT = "codelens-int8"
MIN_ELEMENTS = 4096
"""Smaller tensors (norm weights, biases) stay bf16: int8 would save nothing worth the error."""
_SCALE = ".__scale"


def is_packed(folder: Path) -> bool:
    return (Path(folder) / PACKED_FILE).is_file()


def pack_state(state: dict) -> dict:
    """int8 rows + fp16 scales for every large matrix of a state dict; bf16 for the rest."""
    import torch

    out = {}
    for name, tensor in state.items():
        tensor = tensor.detach().float().cpu()
        if tensor.dim() == 2 and tensor.numel() >= MIN_ELEMENTS:
            scale = (tensor.abs().amax(dim=1, keepdim=True) / 127.0).clamp(min=1e-12)
            out[name] = torch.round(tensor / scale).clamp(-127, 127).to(torch.int8).contiguous()
            out[name + _SCALE] = scale.to(torch.float16).contiguous()
        else:
            out[name] = tensor.to(torch.bfloat16).contiguous()
    return out


def unpack_state(packed: dict, dtype) -> dict:
    """The state dict in ``dtype`` (each int8 matrix times its row scales)."""
    out = {}
    for name, tensor in packed.items():
        if name.endswith(_SCALE):
            continue
        scale = packed.get(name + _SCALE)
        out[name] = (tensor.float() * scale.float()).to(dtype) if scale is not None else tensor.to(dtype)
    return out


def pack_folder(source: Path, target: Path) -> dict:
    """Write ``source`` (a transformers model folder with safetensors weights) to ``target`` packed; returns sizes."""
    import shutil

    from safetensors.torch import load_file, save_file

    source, target = Path(source), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    state = {}
    for weights in sorted(source.glob("*.safetensors")):
        state.update(load_file(str(weights)))
    if not state:
        raise FileNotFoundError(f"no safetensors weights in {source}")
    save_file(pack_state(state), str(target / PACKED_FILE), metadata={"format": FORMAT})
    for item in source.iterdir():
        if item.is_file() and item.suffix != ".safetensors" and item.name != "model.safetensors.index.json":
            shutil.copy2(item, target / item.name)
    return {"parameters": sum(t.numel() for t in state.values()),
            "bytes": (target / PACKED_FILE).stat().st_size}


def load_packed(folder: Path, dtype, device):
    """The causal LM of a packed folder: its transformers class built from config.json, weights dequantised."""
    from safetensors import safe_open
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM

    folder = Path(folder)
    with safe_open(str(folder / PACKED_FILE), framework="pt") as handle:
        if (handle.metadata() or {}).get("format") != FORMAT:
            raise ValueError(f"{folder / PACKED_FILE} is not a {FORMAT} file")
    config = AutoConfig.from_pretrained(str(folder), trust_remote_code=False)
    model = AutoModelForCausalLM.from_config(config, trust_remote_code=False, dtype=dtype)
    missing, unexpected = model.load_state_dict(unpack_state(load_file(str(folder / PACKED_FILE)), dtype),
                                                strict=False)
    if getattr(config, "tie_word_embeddings", False):
        model.tie_weights()  # the output projection is the embedding: it is not stored twice
        missing = [name for name in missing if not name.startswith("lm_head.")]
    if missing or unexpected:
        raise ValueError(f"{folder / PACKED_FILE} does not fit its config.json: missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]}")
    model.to(device)
    model.eval()
    return model


def unpack_folder(folder: Path, target: Path) -> Path:
    """A plain transformers folder (bf16 safetensors) with a packed folder's weights, for loaders that need
    one (bitsandbytes quantisation goes through ``from_pretrained``)."""
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    folder, target = Path(folder), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    save_file(unpack_state(load_file(str(folder / PACKED_FILE)), torch.bfloat16), str(target / "model.safetensors"),
              metadata={"format": "pt"})
    for item in folder.iterdir():
        if item.is_file() and item.name != PACKED_FILE:
            shutil.copy2(item, target / item.name)
    return target


def manifest(folder: Path) -> dict:
    """What a packed folder holds, for model cards."""
    folder = Path(folder)
    return {"format": FORMAT, "file": PACKED_FILE, "bytes": (folder / PACKED_FILE).stat().st_size,
            "config": json.loads((folder / "config.json").read_text(encoding="utf-8"))}
