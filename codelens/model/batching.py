"""Grouping prompts into batches by length, under a budget of padded tokens."""

from __future__ import annotations

DEFAULT_TOKEN_BUDGET = 8192
"""Most padded tokens (batch size x longest prompt) in one forward pass: bounds memory."""
DEFAULT_MAX_BATCH = 64
"""Most prompts in one forward pass."""


def plan_batches(lengths: list[int], token_budget: int, max_batch: int) -> list[list[int]]:
    """Indices into ``lengths``, grouped so that len(batch) * longest <= token_budget and len(batch) <= max_batch.

    Items are sorted by length first, so a batch holds prompts of similar length and little padding.
    An item longer than the whole budget still runs, alone in its batch.
    """
    if token_budget < 1 or max_batch < 1:
        raise ValueError("token_budget and max_batch must be positive")
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        # Sorted ascending, so the newcomer is the longest item of the batch it joins.
        if current and (len(current) >= max_batch or (len(current) + 1) * lengths[index] > token_budget):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches
