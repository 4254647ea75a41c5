"""Exact and near-duplicate files out of the corpus, before anything is trained on it.

Installed Python repeats itself: vendored copies of one module in several distributions, a file copied
between versions of a package, generated stubs. Training on a copy twice is wasted compute, and a copy
that sits in a validation or test package and in a training one makes the held-out scores dishonest.

- exact: files whose text is the same once trailing whitespace and blank lines are folded;
- near: files whose sets of 5-word shingles have a MinHash-estimated Jaccard similarity of at least
  ``threshold`` (0.8), found by locality-sensitive hashing (16 bands of 8 rows over 128 hashes).

Of each group of duplicates one file is kept: a held-out one (val, test) before a training one, so no
training file copies held-out code; among equals the first in package order. Signatures are computed in
parallel worker processes; everything is deterministic.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

HASHES = 128
BANDS = 16
"""BANDS x ROWS = HASHES; with 16 x 8, pairs at Jaccard 0.8 collide in a band with probability 0.9997,
pairs at 0.5 with 0.06 (every candidate is then checked against the threshold)."""
ROWS = HASHES // BANDS
SHINGLE = 5
_WORD = re.compile(r"\w+|[^\w\s]")
_PRIME = (1 << 61) - 1
_RNG = np.random.default_rng(20261201)
_A = _RNG.integers(1, _PRIME, HASHES, dtype=np.uint64)
_B = _RNG.integers(0, _PRIME, HASHES, dtype=np.uint64)
_SPLIT_RANK = {"test": 0, "val": 1, "train": 2}


@dataclass
class DedupeReport:
    """What was removed."""

    files: int = 0
    exact: int = 0
    """Files dropped as exact copies of a kept file."""
    near: int = 0
    """Files dropped as near copies (estimated Jaccard >= threshold) of a kept file."""
    bytes_removed: int = 0


def _normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def signature(text: str) -> tuple[str, np.ndarray | None]:
    """(sha256 of the normalised text, MinHash signature of its shingles or None when it has too few words)."""
    norm = _normalised(text)
    digest = hashlib.sha256(norm.encode("utf-8", "surrogatepass")).hexdigest()
    words = _WORD.findall(norm)
    if len(words) < SHINGLE:
        return digest, None
    shingles = {zlib.crc32(" ".join(words[i:i + SHINGLE]).encode("utf-8", "surrogatepass"))
                for i in range(len(words) - SHINGLE + 1)}
    values = np.fromiter(shingles, dtype=np.uint64, count=len(shingles))
    # (a * x + b) mod p per hash function, the minimum over the shingles. The product wraps modulo 2^64
    # first: not a textbook universal hash, but a fixed pseudo-random permutation, which is all MinHash needs.
    hashed = (values[None, :] * _A[:, None] + _B[:, None]) % np.uint64(_PRIME)
    return digest, hashed.min(axis=1)


def _signatures(paths: list[str]) -> list[tuple[str, np.ndarray | None, int]]:
    out = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            out.append(("", None, 0))
            continue
        digest, sig = signature(text)
        out.append((digest, sig, len(text.encode("utf-8"))))
    return out


def dedupe(packages: list, threshold: float = 0.8, workers: int = 1) -> tuple[list, DedupeReport]:
    """The packages (``training.corpus.CorpusPackage``) with duplicate files removed, and what was removed."""
    entries = [(p_index, f) for p_index, p in enumerate(packages) for f in p.files]
    paths = [str(f) for _, f in entries]
    if workers > 1 and len(paths) > 256:
        chunks = [paths[i:i + 256] for i in range(0, len(paths), 256)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            sigs = [s for part in pool.map(_signatures, chunks) for s in part]
    else:
        sigs = _signatures(paths)
    # Keep held-out files first, then package order: a duplicate is dropped from the most trainable side.
    order = sorted(range(len(entries)), key=lambda i: (_SPLIT_RANK.get(packages[entries[i][0]].split, 3), i))
    report = DedupeReport(files=len(entries))
    seen_digest: dict[str, int] = {}
    buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
    drop: set[int] = set()
    for i in order:
        digest, sig, size = sigs[i]
        if not digest:
            continue
        if digest in seen_digest:
            drop.add(i)
            report.exact += 1
            report.bytes_removed += size
            continue
        seen_digest[digest] = i
        if sig is not None:
            keys = [(band, sig[band * ROWS:(band + 1) * ROWS].tobytes()) for band in range(BANDS)]
            candidates = {j for key in keys for j in buckets.get(key, ())}
            if any(float(np.mean(sig == sigs[j][1])) >= threshold for j in candidates):
                drop.add(i)
                report.near += 1
                report.bytes_removed += size
                continue
            for key in keys:
                buckets[key].append(i)
    by_package: dict[int, list] = defaultdict(list)
    for i, (p_index, f) in enumerate(entries):
        if i not in drop:
            by_package[p_index].append(f)
    out = [replace(p, files=by_package[k]) for k, p in enumerate(packages) if by_package[k]]
    return out, report
