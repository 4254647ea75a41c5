"""What trains and how it is kept: LoRA, IA3 and LoHa through peft, or every weight (``--method``).

    model = attach(lm, cfg)                   # peft's layers in the base (or the base itself, all trainable)
    state = module_state(model, cfg.method)   # the trained weights, for a checkpoint
    save_module(model, cfg.method, folder)    # peft's files, or FULL_WEIGHTS_FILE

The offered peft methods all inject their layers into the base's own modules, so the transformer body that
codelens calls directly (``codelens.model.generate.decoder_of``, for the heads' hidden states and the
summary's KV cache) runs with them. Prompt, prefix and P-tuning are left out on purpose: peft adds their
virtual tokens in ``PeftModel.forward``, which that body call never goes through, so they would train
something no head and no scan ever sees. A fully fine-tuned module stores the whole base: its folder
holds FULL_WEIGHTS_FILE instead of peft's files, and loading copies it over the base that the adapter's
fingerprint names, the one training started from (``codelens.model.lora_merge.replace_weights``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from codelens.choices import Method
from codelens.errors import CodelensError, ConfigError

KNOWN_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "c_fc",
                 "c_attn", "c_proj", "query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h", "Wqkv",
                 "out_proj", "fc1", "fc2", "w1", "w2", "w3")
"""Projection names LoRA / LoHa attach to when ``target_modules`` is left to auto (those the model has)."""
FEEDFORWARD_TARGETS = ("down_proj", "dense_4h_to_h", "fc2", "w2")
"""MLP output projections: IA3 scales their input (the inner activations) rather than their output."""


def resolve_targets(model, wanted: list[str] | None) -> list[str]:
    """LoRA target module names: ``wanted`` or the known projections present in the model."""
    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if "Linear" in type(module).__name__}
    names.discard("lm_head")
    if wanted:
        missing = sorted(set(wanted) - names)
        if missing:
            raise ConfigError(f"target modules not found in the model: {', '.join(missing)}",
                              hint=f"choose among {', '.join(sorted(names))}")
        return list(wanted)
    found = [n for n in KNOWN_TARGETS if n in names]
    if not found:
        raise ConfigError("no known attention / MLP projection found for LoRA",
                          hint=f"name them with --target-modules (linear layers: {', '.join(sorted(names))})")
    return found


def peft_config(lm, cfg):
    """The peft config of ``cfg.method`` (a TrainConfig) for the causal LM ``lm``; None for full fine-tuning."""
    from peft import LoHaConfig, LoraConfig

    method = Method(cfg.method)
    if method == Method.FULL:
        return None
    if method == Method.LORA:
        return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                          target_modules=resolve_targets(lm, cfg.target_modules), bias="none", task_type="CAUSAL_LM")
    if method == Method.LOHA:
        # LoHa has no input dropout (its rank and module dropouts stay off, peft's default).
        return LoHaConfig(r=cfg.lora_r, alpha=cfg.lora_alpha, target_modules=resolve_targets(lm, cfg.target_modules),
                          task_type="CAUSAL_LM")
    return _ia3_config(lm, cfg.target_modules)


def _ia3_config(lm, wanted: list[str] | None):
    from peft import IA3Config
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING as DEFAULTS

    if wanted:
        targets = resolve_targets(lm, wanted)
        return IA3Config(target_modules=targets, task_type="CAUSAL_LM",
                         feedforward_modules=[t for t in targets if t in FEEDFORWARD_TARGETS])
    model_type = getattr(lm.config, "model_type", None)
    if model_type not in DEFAULTS:
        raise ConfigError(f"peft has no default IA3 modules for the {model_type} architecture",
                          hint="name the key, value and MLP output projections with --target-modules")
    return IA3Config(task_type="CAUSAL_LM")  # peft picks keys, values and the MLP output for the architecture


def attach(lm, cfg):
    """``lm`` ready to train with ``cfg.method``: wrapped by peft with only the module trainable, or (full)
    itself with every weight trainable."""
    config = peft_config(lm, cfg)
    if config is None:
        for param in lm.parameters():
            param.requires_grad_(True)
        return lm
    from peft import get_peft_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # peft vs transformers 5 deprecation notices
        try:
            return get_peft_model(lm, config)
        except ValueError as exc:  # peft's word on a module it cannot wrap
            raise ConfigError(f"cannot attach {cfg.method} to the model: {exc}",
                              hint="choose other --target-modules or another --method") from exc


def module_state(model, method: str) -> dict:
    """The trained weights of ``model`` (CPU tensors by name): peft's state dict, or every parameter (full;
    a tied output layer once, under its input embedding's name)."""
    if Method(method) == Method.FULL:
        return {name: param.detach().cpu() for name, param in model.named_parameters()}
    from peft import get_peft_model_state_dict

    return {k: v.detach().cpu() for k, v in get_peft_model_state_dict(model).items()}


def load_module_state(model, method: str, state: dict) -> None:
    """Put weights saved by ``module_state`` back into ``model``."""
    if Method(method) != Method.FULL:
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, state)
        return
    import torch

    params = dict(model.named_parameters())
    if set(params) != set(state):
        raise CodelensError("the checkpoint's weights are not this model's",
                          hint="delete the checkpoint to start over")
    with torch.no_grad():
        for name, param in params.items():
            param.copy_(state[name])


def save_module(model, method: str, folder: Path) -> None:
    """Write the trained module into ``folder``: peft's adapter files, or FULL_WEIGHTS_FILE (full)."""
    if Method(method) == Method.FULL:
        from safetensors.torch import save_file

        from codelens.model.adapter_meta import FULL_WEIGHTS_FILE

        save_file({k: v.contiguous() for k, v in module_state(model, method).items()}, str(Path(folder) / FULL_WEIGHTS_FILE))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # peft's notes about the base config are not the user's business
        model.save_pretrained(str(folder))
