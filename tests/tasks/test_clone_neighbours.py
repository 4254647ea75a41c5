"""Blocked top-k search against the brute-force all-pairs answer."""

from __future__ import annotations

import numpy as np
import pytest

from codelens.tasks.clone import all_pairs_top_k, top_k_similar


def _random_unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


TIE = 1e-6
"""Products of one pair computed in different tiles (or by another BLAS kernel) can differ in the last
bit, so two candidates closer than this may come out in either order."""


def _assert_same_neighbours(emb, idx, ref_idx, ref_sims):
    """The brute-force lists, except that candidates tied within TIE may trade places."""
    assert idx.shape == ref_idx.shape
    rows, cols = np.nonzero(idx != ref_idx)
    for row, col in zip(rows.tolist(), cols.tolist()):
        ours, theirs = emb[row] @ emb[idx[row, col]], emb[row] @ emb[ref_idx[row, col]]
        assert abs(ours - theirs) <= TIE and abs(ours - ref_sims[row, col]) <= TIE, (row, col)
    assert len(rows) <= 0.001 * idx.size  # ties are rare on random data: this is not a way around the check


@pytest.mark.parametrize("block_size", [256, 300, 2048])
def test_blocked_top_k_equals_brute_force_on_random_data(block_size):
    emb = _random_unit_rows(2000, 64, seed=3)
    idx, sims = top_k_similar(emb, 10, block_size=block_size)
    ref_idx, ref_sims = all_pairs_top_k(emb, 10)
    assert idx.shape == sims.shape == (2000, 10)
    _assert_same_neighbours(emb, idx, ref_idx, ref_sims)
    np.testing.assert_allclose(sims, ref_sims, atol=1e-6)


def test_no_row_is_its_own_neighbour_and_lists_are_best_first():
    emb = _random_unit_rows(700, 16, seed=4)
    idx, sims = top_k_similar(emb, 12, block_size=128)
    assert not (idx == np.arange(700)[:, None]).any()
    assert (np.diff(sims, axis=1) <= 0).all()
    assert all(len(set(row)) == 12 for row in idx.tolist())


def test_min_similarity_keeps_only_neighbours_at_or_above_it():
    emb = _random_unit_rows(2000, 64, seed=5)
    idx, sims = top_k_similar(emb, 10, min_similarity=0.3, block_size=256)
    ref_idx, ref_sims = all_pairs_top_k(emb, 10)
    above = ref_sims >= 0.3
    assert (idx[~above] == -1).all()
    _assert_same_neighbours(emb, np.where(above, idx, ref_idx), ref_idx, ref_sims)
    assert np.isneginf(sims[~above]).all()
    assert 0 < above.sum() < above.size  # the threshold really cuts


def test_k_larger_than_the_other_rows_is_cut_to_n_minus_one():
    emb = _random_unit_rows(6, 4, seed=6)
    idx, sims = top_k_similar(emb, 50, block_size=4)
    assert idx.shape == (6, 5)
    assert sorted(idx[0].tolist()) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("n", [0, 1])
def test_too_few_rows_give_empty_lists(n):
    idx, sims = top_k_similar(np.ones((n, 4), np.float32), 3)
    assert idx.shape == sims.shape == (n, 0)


def test_identical_rows_are_each_others_best_neighbours():
    base = _random_unit_rows(10, 32, seed=7)
    emb = np.repeat(base, 3, axis=0)  # rows 3i, 3i+1, 3i+2 are copies
    idx, sims = top_k_similar(emb, 2, block_size=4)
    for row in range(30):
        copies = {3 * (row // 3) + j for j in range(3)} - {row}
        assert set(idx[row].tolist()) == copies
    np.testing.assert_allclose(sims, 1.0, atol=1e-6)


def test_non_finite_embeddings_are_rejected():
    emb = _random_unit_rows(5, 4, seed=8)
    emb[2, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        top_k_similar(emb, 2)


def test_exact_without_the_seed_bars_when_every_first_tile_is_a_flood(monkeypatch):
    # With no starting bars, each row's first tiles admit everything: the per-side and the
    # cut-to-k-per-row paths take over, and the answer must not change.
    import codelens.tasks.clone as clone

    monkeypatch.setattr(clone, "_seed_bars", lambda *args: None)
    emb = _random_unit_rows(1500, 32, seed=9)
    idx, sims = clone.top_k_similar(emb, 7, block_size=200)
    ref_idx, ref_sims = all_pairs_top_k(emb, 7)
    _assert_same_neighbours(emb, idx, ref_idx, ref_sims)
    np.testing.assert_allclose(sims, ref_sims, atol=1e-6)


def test_large_k_uses_per_row_bars_and_stays_exact():
    emb = _random_unit_rows(2500, 32, seed=10)
    idx, _ = top_k_similar(emb, 100, block_size=100)
    _assert_same_neighbours(emb, idx, *all_pairs_top_k(emb, 100))


def test_many_copies_keep_memory_bounded_and_neighbours_within_their_group():
    base = _random_unit_rows(3, 32, seed=11)
    emb = np.repeat(base, 100, axis=0)
    idx, sims = top_k_similar(emb, 5, block_size=64)
    assert ((idx // 100) == (np.arange(300) // 100)[:, None]).all()
    np.testing.assert_allclose(sims, 1.0, atol=1e-6)
