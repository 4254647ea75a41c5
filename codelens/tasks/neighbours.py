"""Exact top-k cosine neighbours over many embeddings, in bounded memory.

The similarity matrix of n embeddings is n x n (100k functions: 40 GB in float32), so it is never
built. It is computed tile by tile (``block_size`` x ``block_size``); only tiles on or above the
diagonal are multiplied, each one serving both its rows and its columns. Every row keeps its k best
(similarity, index) so far and an admission bar: its k-th best, or ``min_similarity``, or at the
start a lower bound from a sample of rows. One comparison of the tile with the lowest bar among its
rows and columns leaves a few entries (about 1% on random data, far fewer on clustered code), and
only those are checked against their own rows' bars and merged, so selection costs about as much as
one pass over the tile next to the matrix product.

The result is the brute-force top-k, listed by (similarity descending, index ascending). Where
several candidates tie exactly for a row's last slot, the one seen first keeps it; and products
computed in different tiles can differ in the last bit, so among copies of one embedding which copy
is listed can depend on the block size.
"""

from __future__ import annotations

import numpy as np

DEFAULT_BLOCK = 2048
"""Tile side: a 2048 x 2048 float32 tile is 16 MiB, small enough to stay near the CPU caches."""


def top_k_similar(embeddings: np.ndarray, k: int, *, min_similarity: float | None = None,
                  block_size: int = DEFAULT_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar other rows of each row, by dot product (cosine for L2-normalised rows).

    Returns ``(indices, similarities)``, both (n, min(k, n - 1)), best first. Slots a row could not
    fill (fewer than k other rows at or above ``min_similarity``) hold index -1 and similarity -inf.
    A row is never its own neighbour; identical rows elsewhere are.
    """
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (n, dim), got shape {emb.shape}")
    if not np.isfinite(emb).all():
        raise ValueError("embeddings must be finite; drop rows holding NaN or inf first")
    n = emb.shape[0]
    k = min(int(k), n - 1)
    if k <= 0:
        return np.full((n, 0), -1, np.int64), np.full((n, 0), -np.inf, np.float32)
    if block_size < 1:
        raise ValueError(f"block_size must be positive, got {block_size}")
    state = _TopK(n, k, min_similarity)
    state.raise_bars(_seed_bars(emb, k, block_size))
    hits_buffers: dict[tuple[int, int], np.ndarray] = {}
    tile_buffers: dict[tuple[int, int], np.ndarray] = {}
    for r0 in range(0, n, block_size):
        r1 = min(r0 + block_size, n)
        for c0 in range(r0, n, block_size):
            c1 = min(c0 + block_size, n)
            shape = (r1 - r0, c1 - c0)
            if shape not in tile_buffers:
                # One buffer per tile shape spares a page-faulting allocation per tile.
                tile_buffers[shape] = np.empty(shape, np.float32)
                hits_buffers[shape] = np.empty(shape, bool)
            tile = np.matmul(emb[r0:r1], emb[c0:c1].T, out=tile_buffers[shape])
            hits = hits_buffers[shape]
            if c0 == r0:
                np.fill_diagonal(tile, -np.inf)
            if not state.offer_both(tile, r0, c0, hits, both=c0 != r0):
                state.offer(tile, r0, c0, hits, by_row=True)
                if c0 != r0:
                    state.offer(tile, r0, c0, hits, by_row=False)
    return state.result()


def all_pairs_top_k(embeddings: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference top-k from the full n x n matrix: for tests and benchmarks on small n only."""
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = emb.shape[0]
    k = min(int(k), n - 1)
    if k <= 0:
        return np.full((n, 0), -1, np.int64), np.full((n, 0), -np.inf, np.float32)
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)
    cols = np.broadcast_to(np.arange(n), sims.shape)
    order = np.lexsort((cols, -sims), axis=1)[:, :k]
    return order.astype(np.int64), np.take_along_axis(sims, order, axis=1)


SEED_SAMPLE = 2048
"""Rows every row is first compared with, to start its admission bar near its final k-th best."""


def _seed_bars(emb: np.ndarray, k: int, block_size: int) -> np.ndarray | None:
    """A lower bound on each row's final k-th best similarity: its k-th best within a sample.

    Without it, a row's first tiles admit nearly every entry. The bound is lowered by a margin
    above the rounding error of a float32 dot product, because the tiles recompute the same
    products in other kernels and a true neighbour must not fall just below its own bar.
    """
    n = emb.shape[0]
    sample = np.unique(np.linspace(0, n - 1, min(n, SEED_SAMPLE)).round().astype(np.int64))
    if sample.size <= k + 1:
        return None
    bars = np.empty(n, np.float32)
    for r0 in range(0, n, block_size):
        r1 = min(r0 + block_size, n)
        sims = emb[r0:r1] @ emb[sample].T
        own = np.searchsorted(sample, np.arange(r0, r1))
        inside = np.flatnonzero((own < sample.size) & (sample[np.minimum(own, sample.size - 1)] == np.arange(r0, r1)))
        sims[inside, own[inside]] = -np.inf
        bars[r0:r1] = np.partition(sims, sample.size - k, axis=1)[:, sample.size - k]
    norms = np.linalg.norm(emb, axis=1)
    return bars - np.float32(1e-4) * norms * norms.max()


class _TopK:
    """Running k best (similarity, index) per row, kept sorted best first."""

    def __init__(self, n: int, k: int, min_similarity: float | None) -> None:
        self.k = k
        self.sims = np.full((n, k), -np.inf, np.float32)
        self.idx = np.full((n, k), -1, np.int64)
        # A candidate is admitted when strictly above its row's bar. The bar starts just below
        # min_similarity (which is inclusive) and rises to the k-th best once a row is full; a
        # candidate equal to a full row's k-th best is not admitted, so copies cannot flood the merge.
        floor = -np.inf if min_similarity is None else np.nextafter(np.float32(min_similarity), np.float32(-np.inf))
        self.floor = np.float32(floor)
        self.bar = np.full(n, self.floor, np.float32)

    def raise_bars(self, bars: np.ndarray | None) -> None:
        """Start rows' bars at known lower bounds of their final k-th best similarity."""
        if bars is not None:
            np.maximum(self.bar, bars, out=self.bar)

    def offer_both(self, tile: np.ndarray, r0: int, c0: int, hits: np.ndarray, *, both: bool) -> bool:
        """Serve the tile's rows (and, when ``both``, its columns) in one pass, if that is cheap.

        One comparison with the lowest bar of all the tile's rows and columns finds a superset of
        the candidates of both sides; each side then checks its own bars on those few entries only.
        When the lowest bar is too low to thin the tile out (early rows, outliers), returns False
        and the caller serves each side with its own bars instead.
        """
        height, width = tile.shape
        row_bars = self.bar[r0:r0 + height]
        col_bars = self.bar[c0:c0 + width]
        lowest = min(row_bars.min(), col_bars.min()) if both else row_bars.min()
        np.greater(tile, lowest, out=hits)
        # flatnonzero on the flat mask is an order of magnitude faster than 2-D np.nonzero.
        flat = np.flatnonzero(hits)
        if flat.size > tile.size // 32:
            return False
        tile_rows, tile_cols = np.divmod(flat, width)
        sims = tile.ravel()[flat]
        for owners, others, bars, owner0, other0 in (
            (tile_rows, tile_cols, row_bars, r0, c0),
            (tile_cols, tile_rows, col_bars, c0, r0),
        )[: 2 if both else 1]:
            admitted = sims > bars[owners]
            if admitted.any():
                self._merge(owner0 + owners[admitted], sims[admitted], other0 + others[admitted])
        return True

    def offer(self, tile: np.ndarray, r0: int, c0: int, hits: np.ndarray, *, by_row: bool) -> None:
        """Merge what ``tile`` (rows r0.., columns c0..) holds for its rows, or for its columns."""
        height, width = tile.shape
        bars = self.bar[r0:r0 + height, None] if by_row else self.bar[None, c0:c0 + width]
        np.greater(tile, bars, out=hits)
        flat = np.flatnonzero(hits)
        if flat.size == 0:
            return
        if flat.size > tile.size // 8 and self.k < min(height, width) // 8:
            # A flood (many equal embeddings, or no useful bar yet): cut each row (or column) of
            # the tile to its own k best first rather than sorting most of the tile.
            flat = self._dense_candidates(tile, hits, by_row)
        tile_rows, tile_cols = np.divmod(flat, width)
        sims = tile.ravel()[flat]
        if by_row:
            self._merge(r0 + tile_rows, sims, c0 + tile_cols)
        else:
            self._merge(c0 + tile_cols, sims, r0 + tile_rows)

    def _dense_candidates(self, tile: np.ndarray, hits: np.ndarray, by_row: bool) -> np.ndarray:
        axis = 1 if by_row else 0
        length = tile.shape[axis]
        if self.k >= length:
            return np.flatnonzero(hits)
        best = np.argpartition(tile, length - self.k, axis=axis)
        if by_row:
            rows = np.arange(tile.shape[0])[:, None]
            cols = best[:, length - self.k:]
        else:
            rows = best[length - self.k:, :]
            cols = np.arange(tile.shape[1])[None, :]
        rows, cols = np.broadcast_arrays(rows, cols)
        keep = hits[rows, cols]
        return np.sort(rows[keep] * tile.shape[1] + cols[keep])

    def _merge(self, rows: np.ndarray, sims: np.ndarray, cols: np.ndarray) -> None:
        # Merge candidates with the touched rows' current best in one flat sort by row, then
        # similarity descending, then keep the first k of each row group (every group holds at
        # least k: the row's current slots, empty ones included). One float64 key sorts far faster
        # than a three-key lexsort; it keeps float32 similarities apart (resolution ~1e-10), and
        # clipping maps empty slots (-inf) below every real similarity within the row's range.
        mark = np.zeros(self.bar.size, bool)
        mark[rows] = True
        touched = np.flatnonzero(mark)
        k = self.k
        flat_rows = np.concatenate([np.repeat(touched, k), rows])
        flat_sims = np.concatenate([self.sims[touched].ravel(), sims.astype(np.float32)])
        flat_idx = np.concatenate([self.idx[touched].ravel(), cols.astype(np.int64)])
        key = flat_rows * 8.0 + (1.0 - np.clip(flat_sims.astype(np.float64), -6.0, 1.0))
        order = np.argsort(key)
        flat_rows, flat_sims, flat_idx = flat_rows[order], flat_sims[order], flat_idx[order]
        starts = np.flatnonzero(np.r_[True, flat_rows[1:] != flat_rows[:-1]])
        rank = np.arange(flat_rows.size) - np.repeat(starts, np.diff(np.r_[starts, flat_rows.size]))
        keep = rank < k
        best_sims = flat_sims[keep].reshape(-1, k)
        self.sims[touched] = best_sims
        self.idx[touched] = flat_idx[keep].reshape(-1, k)
        self.bar[touched] = np.maximum(self.bar[touched], best_sims[:, -1])

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Each row's neighbours ordered by similarity descending, then index ascending."""
        tie_key = np.where(self.idx < 0, np.iinfo(np.int64).max, self.idx)
        order = np.lexsort((tie_key, -self.sims), axis=1)
        return np.take_along_axis(self.idx, order, axis=1), np.take_along_axis(self.sims, order, axis=1)
