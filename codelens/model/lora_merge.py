"""Folding a plain LoRA adapter into its base's weights for inference, without importing peft.

At inference a LoRA layer costs two extra small matrix products per projection and peft's Python
wrapper around each; on a small model those dominate (they were over half the prefill time of
codelens-nano). ``W + scale * B @ A`` computed once at load time removes both, and importing peft
(seconds at start-up) is only needed for what this module does not handle: DoRA, LoRA on
embeddings or quantised layers, trained biases, per-module rank or alpha patterns, modules saved
whole. ``merge_plan`` says why an adapter needs peft; the loader then merges through peft itself or
keeps the layers unmerged (quantised bases).

A fully fine-tuned module (method "full") has no update to fold: ``replace_weights`` copies its weights
over the base's, once the base has passed the fingerprint check (the fingerprint names the base training
started from).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codelens.errors import ModelError

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
_PREFIX = "base_model.model."
_ENDINGS = (".lora_A.weight", ".lora_B.weight")

# Settings that change what a LoRA layer computes beyond ``W + scale * B @ A``, with the value under
# which they do not. Anything set otherwise goes through peft.
_PLAIN = {
    "peft_type": "LORA", "use_dora": False, "bias": "none", "lora_bias": False, "fan_in_fan_out": False,
    "modules_to_save": None, "layer_replication": None, "trainable_token_indices": None,
    "target_parameters": None, "use_qalora": False, "use_bdlora": None, "alora_invocation_tokens": None,
    "rank_pattern": {}, "alpha_pattern": {},
}


@dataclass(frozen=True)
class MergePlan:
    """What one adapter folder adds to which base weight."""

    modules: tuple[str, ...]
    """Dotted names in the causal LM (``model.layers.0.self_attn.q_proj``)."""
    scale: float
    """lora_alpha / r (lora_alpha / sqrt(r) with rsLoRA)."""


def merge_plan(adapter: Path) -> tuple[MergePlan | None, str]:
    """(plan, "") when the adapter is plain LoRA this module can merge; (None, reason) otherwise."""
    try:
        config = json.loads((adapter / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"{CONFIG_FILE} unreadable ({exc})"
    for key, plain in _PLAIN.items():
        value = config.get(key, plain)
        if value != plain and not (plain in (None, False, {}) and not value):
            return None, f"{key} = {value!r}"
    rank, alpha = config.get("r"), config.get("lora_alpha")
    if not isinstance(rank, int) or rank < 1 or not isinstance(alpha, (int, float)):
        return None, f"r = {rank!r}, lora_alpha = {alpha!r}"
    try:
        from safetensors import safe_open

        with safe_open(str(adapter / WEIGHTS_FILE), framework="pt") as weights:
            keys = list(weights.keys())
    except Exception as exc:  # noqa: BLE001 - a missing or corrupt file is peft's to report in detail
        return None, f"{WEIGHTS_FILE} unreadable ({exc})"
    modules = sorted({key[len(_PREFIX):-len(_ENDINGS[0])] for key in keys if key.endswith(_ENDINGS)
                      and key.startswith(_PREFIX)})
    expected = {f"{_PREFIX}{m}{end}" for m in modules for end in _ENDINGS}
    if not modules or set(keys) != expected:
        return None, "weights other than lora_A / lora_B pairs"
    scale = alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank
    return MergePlan(tuple(modules), float(scale)), ""


def merge_into(lm: Any, adapter: Path, plan: MergePlan) -> None:
    """Add every ``scale * B @ A`` of the adapter to its nn.Linear in ``lm``, in place.

    The sum is formed in fp32 and rounded once to the weight's dtype, so a bf16 base loses no more
    than one rounding. Raises ModelError when the adapter does not fit the model.
    """
    import torch
    from safetensors.torch import load_file

    tensors = load_file(str(adapter / WEIGHTS_FILE))
    targets = dict(lm.named_modules())
    with torch.no_grad():
        for name in plan.modules:
            layer = targets.get(name)
            if type(layer) is not torch.nn.Linear:  # a subclass (a quantised layer) cannot take the sum
                raise ModelError(f"cannot load the LoRA weights in {adapter}: {name} is not a plain linear layer "
                                 "of this base", hint="re-create the adapter with `codelens train`")
            down, up = tensors[f"{_PREFIX}{name}.lora_A.weight"], tensors[f"{_PREFIX}{name}.lora_B.weight"]
            weight = layer.weight
            if down.shape[1] != weight.shape[1] or up.shape[0] != weight.shape[0] or up.shape[1] != down.shape[0]:
                raise ModelError(
                    f"cannot load the LoRA weights in {adapter}: {name} has shapes A {tuple(down.shape)}, "
                    f"B {tuple(up.shape)} but the base weight is {tuple(weight.shape)}",
                    hint="re-create the adapter with `codelens train`")
            delta = (up.to(weight.device, torch.float32) @ down.to(weight.device, torch.float32)) * plan.scale
            weight.copy_((weight.float() + delta).to(weight.dtype))


def replace_weights(lm: Any, adapter: Path) -> None:
    """Copy every weight of a fully fine-tuned model (``FULL_WEIGHTS_FILE``) over ``lm``'s, in place, each
    rounded once to the base's dtype. Raises ModelError when the names or shapes differ from the base's."""
    import torch
    from safetensors.torch import load_file

    from codelens.model.adapter_meta import FULL_WEIGHTS_FILE

    hint = "re-create the adapter with `codelens train --method full` on this base"
    tensors = load_file(str(adapter / FULL_WEIGHTS_FILE))
    # Tied weights (an output layer sharing the input embedding) appear once, under the name
    # named_parameters gives them: the trainer saved them that way.
    params = dict(lm.named_parameters())
    missing, extra = sorted(set(params) - set(tensors)), sorted(set(tensors) - set(params))
    if missing or extra:
        what = "; ".join(part for part in (f"missing {', '.join(missing[:3])}" if missing else "",
                                           f"unknown {', '.join(extra[:3])}" if extra else "") if part)
        raise ModelError(f"{adapter / FULL_WEIGHTS_FILE} does not hold this base's weights ({what})", hint=hint)
    with torch.no_grad():
        for name, param in params.items():
            value = tensors[name]
            if value.shape != param.shape:
                raise ModelError(f"{adapter / FULL_WEIGHTS_FILE}: {name} has shape {tuple(value.shape)} but the base's "
                                 f"is {tuple(param.shape)}", hint=hint)
            param.copy_(value.to(param.device, param.dtype))
