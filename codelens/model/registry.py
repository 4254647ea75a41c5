"""Base models codelens supports and has measured: a plain dict, read by `codelens models` and the docs.

Any Hugging Face causal LM loads (a local folder or a hub id); these are the ones the adapter recipes
are sized for. Sizes are total parameters; licences are the model weights' own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BaseModelInfo:
    """What a user needs to know before choosing a base."""

    architecture: str
    """transformers model_type (llama, qwen2, starcoder2)."""
    params: str
    """Total parameter count, rounded."""
    licence: str
    """Licence of the weights."""
    notes: str
    """Why one would pick it, and what it costs to run."""


SUPPORTED_BASES: dict[str, BaseModelInfo] = {
    "codelens-nano": BaseModelInfo(
        architecture="llama",
        params="see its model card in models/codelens-nano",
        licence="MIT (weights trained by codelens' own recipes on permissively licensed code)",
        notes="The embedded default: shipped with codelens, loads offline with no flags, fast on any CPU.",
    ),
    "deepseek-ai/deepseek-coder-1.3b-base": BaseModelInfo(
        architecture="llama",
        params="1.3B",
        licence="DeepSeek License Agreement (commercial use permitted)",
        notes="The base of the published multi-task PEFT study; about one function per second on a 2-core CPU "
              "in bf16, fast on a GPU with NF4 (QLoRA training).",
    ),
    "Qwen/Qwen2.5-Coder-0.5B": BaseModelInfo(
        architecture="qwen2",
        params="0.5B",
        licence="Apache-2.0",
        notes="The smallest real code model here: the CPU choice when nano is not accurate enough.",
    ),
    "Qwen/Qwen2.5-Coder-1.5B": BaseModelInfo(
        architecture="qwen2",
        params="1.5B",
        licence="Apache-2.0",
        notes="A peer of DeepSeek-Coder-1.3B with a larger vocabulary; GPU or patient CPU.",
    ),
    "bigcode/starcoder2-3b": BaseModelInfo(
        architecture="starcoder2",
        params="3B",
        licence="BigCode OpenRAIL-M",
        notes="The largest supported base; trained on The Stack v2 (permissive sources). GPU recommended.",
    ),
}


def base_info(model: str) -> BaseModelInfo | None:
    """The registry entry for a hub id or short name, matched case-insensitively; None if not listed."""
    lowered = model.lower()
    return next((info for name, info in SUPPORTED_BASES.items() if name.lower() == lowered), None)
