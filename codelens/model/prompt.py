"""Turning a function into token ids, identically at training and at scan time."""

from __future__ import annotations

from codelens.model.adapter_meta import PromptFormat


def _split_template(template: str) -> tuple[str, str]:
    if template.count("{code}") != 1:
        raise ValueError(f"prompt template must contain '{{code}}' exactly once: {template!r}")
    prefix, suffix = template.split("{code}")
    return prefix, suffix


def build_prompt_ids(tokenizer, code: str, fmt: PromptFormat) -> list[int]:
    """Token ids of the prompt for ``code``: [BOS] prefix code[:max_code_tokens] suffix.

    Pieces are tokenised separately so the cut never splits the suffix, and so training and
    scanning produce the same ids for the same function.
    """
    prefix, suffix = _split_template(fmt.template)
    encode = lambda text: tokenizer.encode(text, add_special_tokens=False) if text else []  # noqa: E731
    ids: list[int] = []
    if tokenizer.bos_token_id is not None:
        ids.append(tokenizer.bos_token_id)
    ids += encode(prefix)
    ids += encode(code)[: fmt.max_code_tokens]
    ids += encode(suffix)
    return ids


def summary_target_ids(tokenizer, summary: str) -> list[int]:
    """Token ids the model learns to generate after the prompt: " summary" + newline (+ EOS)."""
    ids = tokenizer.encode(" " + summary.strip() + "\n", add_special_tokens=False)
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return ids


def pad_left(batch: list[list[int]], pad_id: int):
    """Left-pad a batch: (input_ids, attention_mask, position_ids) as int64 tensors.

    Left padding keeps every prompt's last token in the final column, where generation continues.
    """
    import torch

    width = max(len(ids) for ids in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, ids in enumerate(batch):
        input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
        mask[row, width - len(ids):] = 1
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    return input_ids, mask, positions
