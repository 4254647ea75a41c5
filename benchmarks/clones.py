"""Clone-search benchmark: blocked top-k neighbours against all-pairs, 1k -> 100k random 128-d embeddings.

The measuring loop is benchmarks/clone_search.py's (also runnable on its own); this module turns its
rows into Figures: time and peak traced memory of the blocked search against the all-pairs matrix at
each size where that matrix fits (2 GiB), and the 100k time against the one-minute target.
"""

from __future__ import annotations

import contextlib
import io

from benchmarks.common import BenchContext, Figure, check, ratio_of

QUICK_SIZES = (1_000, 5_000)
STANDARD_SIZES = (1_000, 10_000, 100_000)
DIM, K, SEED = 128, 10, 0
ALL_PAIRS_MAX_GIB = 2.0
TIME_TARGET = "< 60"
"""Seconds for 100k functions."""


def figures_from_rows(rows: list[dict]) -> list[Figure]:
    """Two figures per size (time, memory); all-pairs is the reference where it was run."""
    figures = []
    for row in rows:
        n = row["n"]
        target = TIME_TARGET if n >= 100_000 else None
        note = (f"top-{row['k']} of {n:,} x {row['dim']}-d; agreement with all-pairs {row['agreement']:.4f}"
                if row["agreement"] is not None else
                f"top-{row['k']} of {n:,} x {row['dim']}-d; all-pairs not run (its {n:,}^2 float32 matrix "
                f"needs {n * n * 4 / 2**30:.0f} GiB)")
        figures.append(Figure("clones", f"blocked top-k, n={n:,}", row["blocked_s"], "s",
                              "all-pairs" if row["all_pairs_s"] is not None else None,
                              row["all_pairs_s"], ratio_of(row["blocked_s"], row["all_pairs_s"]), target,
                              check(row["blocked_s"], target), note, row))
        figures.append(Figure("clones", f"blocked top-k peak memory, n={n:,}", row["blocked_peak_mib"], "MiB",
                              "all-pairs" if row["all_pairs_peak_mib"] is not None else None, row["all_pairs_peak_mib"],
                              ratio_of(row["blocked_peak_mib"], row["all_pairs_peak_mib"]),
                              note="largest traced allocation (tracemalloc)", detail=row))
    return figures


def run(ctx: BenchContext) -> list[Figure]:
    from benchmarks import clone_search
    from codelens.tasks.clone import DEFAULT_BLOCK

    sizes = list(QUICK_SIZES if ctx.quick else STANDARD_SIZES)
    # clone_search.run prints a line per size for its own command line; here the table reports them.
    with contextlib.redirect_stdout(io.StringIO()):
        rows = clone_search.run(sizes, DIM, K, DEFAULT_BLOCK, ALL_PAIRS_MAX_GIB, SEED)
    return figures_from_rows(rows)
