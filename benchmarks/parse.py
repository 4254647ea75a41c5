"""Parse benchmark: codelens discovery + extraction against raw tree-sitter parsing of the same files.

Both sides use the same process pool size (one worker per core by default) over the same file list
(the files discovery keeps), so the ratio is what cutting files into CodeUnits costs on top of
parsing them: walking, ignore rules, decoding, function extraction, token-stream hashes and token sets.
Corpus: a copy of CPython's Lib/ (--quick: a few packages of it).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.common import BenchContext, Figure, best_of, check, ratio_of

QUICK_PACKAGES = ("json", "email", "http", "logging", "urllib", "concurrent", "collections", "wsgiref")
"""About 1.1 MB and 1,700 functions: enough for the process pool to matter, small enough for seconds."""
TARGET = ">= 0.8"


def _raw_parse(jobs: list[tuple[str, str]]) -> int:
    """Read and parse each (path, grammar) with tree-sitter, nothing else; returns the bytes parsed."""
    from codelens.parsing.registry import get_parser, get_spec, grammar_name

    total = 0
    for path, language in jobs:
        with open(path, "rb") as handle:
            data = handle.read()
        spec = get_spec(language)
        get_parser(spec.module, grammar_name(spec, path)).parse(data)
        total += len(data)
    return total


def _split(jobs: list[tuple[str, str]], parts: int) -> list[list[tuple[str, str]]]:
    """Round-robin over files sorted by size, so every worker gets a similar share of bytes."""
    ordered = sorted(jobs, key=lambda job: os.path.getsize(job[0]), reverse=True)
    return [ordered[i::parts] for i in range(parts) if ordered[i::parts]]


def raw_tree_sitter(jobs: list[tuple[str, str]], workers: int) -> int:
    """Bytes parsed by plain tree-sitter over ``jobs`` with ``workers`` processes (pool start-up included)."""
    if workers <= 1:
        return _raw_parse(jobs)
    # Several chunks per worker, as parse_files does, so one slow chunk does not leave a core idle.
    chunks = _split(jobs, workers * 4)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(_raw_parse, chunks))


def codelens_extract(root: Path, workers: int):
    """discover + parse_files as a scan runs them: (files, units)."""
    from codelens.discovery import discover
    from codelens.parsing import parse_files

    found = discover(root)
    units = parse_files(found.files, workers=workers).units
    return found.files, units


def measure(root: Path, workers: int, repeat: int) -> list[Figure]:
    """Figures for one corpus folder: codelens MB/s and functions/s against raw tree-sitter MB/s."""
    from codelens.discovery import discover

    files = discover(root).files
    jobs = [(str(f.path), f.language) for f in files]
    size_mb = sum(os.path.getsize(path) for path, _ in jobs) / 1e6
    _raw_parse(jobs[:20])  # load grammars and warm the page cache before either side is timed
    raw_bytes, raw_s, raw_times = best_of(lambda: raw_tree_sitter(jobs, workers), repeat)
    (_, units), ours_s, our_times = best_of(lambda: codelens_extract(root, workers), repeat)
    raw_mbps, ours_mbps = size_mb / raw_s, size_mb / ours_s
    ratio = ratio_of(ours_mbps, raw_mbps)
    detail = {"files": len(files), "megabytes": round(size_mb, 2), "functions": len(units), "workers": workers,
              "codelens_s": [round(t, 3) for t in our_times], "raw_s": [round(t, 3) for t in raw_times],
              "raw_bytes": raw_bytes}
    return [
        Figure("parse", "discover+extract", ours_mbps, "MB/s", "raw tree-sitter parse", raw_mbps, ratio, TARGET,
               check(ratio, TARGET), f"{len(files)} files, {size_mb:.1f} MB, {workers} processes each, best of {repeat}",
               detail),
        Figure("parse", "discover+extract", len(units) / ours_s, "functions/s",
               note=f"{len(units)} functions"),
    ]


def run(ctx: BenchContext) -> list[Figure]:
    root = ctx.stdlib(QUICK_PACKAGES if ctx.quick else None)
    return measure(root, ctx.n_workers, repeat=1 if ctx.quick else 3)
