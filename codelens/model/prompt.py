"""Turning a function into token ids, identically at training and at scan time."""

from __future__ import annotations

from dataclasses import dataclass

from codelens.model.adapter_meta import PromptFormat


def _split_template(template: str) -> tuple[str, str]:
    if template.count("{code}") != 1:
        raise ValueError(f"prompt template must contain '{{code}}' exactly once: {template!r}")
    prefix, suffix = template.split("{code}")
    return prefix, suffix


@dataclass(frozen=True)
class Prompt:
    """A function's prompt ids, and where its code tokens sit in them and in the code text."""

    ids: list[int]
    code_start: int
    """Index in ``ids`` of the first code token."""
    offsets: list[tuple[int, int]]
    """Character span in the code of each code token kept (``ids[code_start + i]``)."""


def build_prompt(tokenizer, code: str, fmt: PromptFormat) -> Prompt:
    """The prompt for ``code``: [BOS] prefix code[:max_code_tokens] suffix, with the code tokens' offsets.

    Pieces are tokenised separately so the cut never splits the suffix, and so training and scanning
    produce the same ids for the same function.
    """
    prefix, suffix = _split_template(fmt.template)
    encode = lambda text: tokenizer.encode(text, add_special_tokens=False) if text else []  # noqa: E731
    ids: list[int] = []
    if tokenizer.bos_token_id is not None:
        ids.append(tokenizer.bos_token_id)
    ids += encode(prefix)
    code_ids, offsets = _encode_with_offsets(tokenizer, code)
    code_start = len(ids)
    ids += code_ids[: fmt.max_code_tokens]
    ids += encode(suffix)
    return Prompt(ids, code_start, offsets[: fmt.max_code_tokens])


def _encode_with_offsets(tokenizer, code: str) -> tuple[list[int], list[tuple[int, int]]]:
    if not code:
        return [], []
    if getattr(tokenizer, "is_fast", False):
        encoded = tokenizer(code, add_special_tokens=False, return_offsets_mapping=True)
        return list(encoded["input_ids"]), [tuple(span) for span in encoded["offset_mapping"]]
    # A slow tokenizer has no offsets: each token's span is what its text adds to the decoded prefix.
    ids = tokenizer.encode(code, add_special_tokens=False)
    offsets, done = [], 0
    for i in range(len(ids)):
        upto = len(tokenizer.decode(ids[: i + 1]))
        offsets.append((min(done, len(code)), min(upto, len(code))))
        done = upto
    return ids, offsets


def build_prompt_ids(tokenizer, code: str, fmt: PromptFormat) -> list[int]:
    """Token ids of the prompt for ``code`` (see ``build_prompt``)."""
    return build_prompt(tokenizer, code, fmt).ids


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
