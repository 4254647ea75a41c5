"""The forward pass's batching plan: prompts of similar length together, never over the padded-token budget."""

import random

import pytest

from codelens.model.forward import plan_batches


def test_sorted_by_length_and_cut_at_the_budget():
    lengths = [50, 10, 30, 10, 20]
    # Sorted: idx1 (10), idx3 (10), idx4 (20), idx2 (30), idx0 (50).
    assert plan_batches(lengths, token_budget=60, max_batch=8) == [[1, 3, 4], [2], [0]]


def test_max_batch():
    assert plan_batches([5] * 5, token_budget=1000, max_batch=2) == [[0, 1], [2, 3], [4]]


def test_an_item_longer_than_the_budget_runs_alone():
    assert plan_batches([500, 5, 5], token_budget=100, max_batch=8) == [[1, 2], [0]]


def test_empty():
    assert plan_batches([], token_budget=100, max_batch=8) == []


def test_every_item_once_and_budget_respected():
    rng = random.Random(0)
    lengths = [rng.randint(1, 200) for _ in range(500)]
    batches = plan_batches(lengths, token_budget=1024, max_batch=16)
    assert sorted(i for b in batches for i in b) == list(range(500))
    for batch in batches:
        assert len(batch) <= 16
        assert len(batch) * max(lengths[i] for i in batch) <= 1024


@pytest.mark.parametrize("budget,max_batch", [(0, 4), (10, 0)])
def test_rejects_non_positive_limits(budget, max_batch):
    with pytest.raises(ValueError):
        plan_batches([1], token_budget=budget, max_batch=max_batch)
