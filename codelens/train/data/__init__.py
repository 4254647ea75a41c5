"""Multi-task training data built from unlabelled repositories (and CodeXGLUE files, when a user has them).

    functions.py   corpus folders -> functions, each tagged with its repository and split (by repository)
    defects.py     BugLab-style single rewrites -> buggy functions
    clones.py      semantics-preserving transforms -> clone positives and "clean but rewritten" functions
    summaries.py   docstring -> one-sentence summary target
    codexglue.py   Devign, BigCloneBench, POJ-104 and CodeSearchNet files -> the same example types
    dataset.py     all of it together, per task and split, seeded

Every example carries ``code``: the text the model reads (a function body without its docstring, as
``CodeUnit.body`` gives it at scan time), its repository and its split.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

SPLITS = ("train", "val", "test")


def split_of(name: str) -> str:
    """Deterministic split of a repository or corpus package: ~80% train, 10% val, 10% test, from sha256(name).

    One rule for the pretraining corpus (training/corpus.py) and the adapter data, so a package held out
    of pretraining stays held out of adapter training and evaluation.
    """
    bucket = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") % 100
    if bucket < 80:
        return "train"
    return "val" if bucket < 90 else "test"


@dataclass(frozen=True)
class DefectExample:
    """A function labelled buggy (1) or clean (0)."""

    code: str
    label: int
    kind: str
    """``original``, a clone transform chain (clean), a bug kind (buggy), or the source dataset name."""
    line: int | None
    """1-based line of the injected bug inside ``code``; None for clean or externally labelled code."""
    repo: str
    split: str
    origin: str
    """Id of the function it was made from (``repo:path:qualname``), shared by all its variants."""
    site: tuple[int, int] | None = None
    """Character span of the bug in ``code`` (None: clean, or no location known)."""
    repair: str | None = None
    """The text that mends the bug at ``site`` (what stood there before)."""
    site_kind: str | None = None
    """The kind of edit site the bug sits at in ``code`` (its repair candidates are of that kind)."""
    candidates: tuple[str, ...] = ()
    """What could stand at ``site`` instead (``codelens.parsing.sites.repair_candidates``), ``repair``
    among them; empty when the repair is not one of them (then only the site is learned)."""


@dataclass(frozen=True)
class CloneExample:
    """A member of a clone class: a function or one of its transforms (``group`` = the class id)."""

    code: str
    group: str
    kind: str
    repo: str
    split: str
    path: str = ""
    """File the original came from (hard negatives are chosen from the same file)."""
    name: str = ""
    """Qualified name of the original (hard negatives have similar names)."""


@dataclass(frozen=True)
class ClonePair:
    """Two functions and whether they are clones (1) or not (0)."""

    a: str
    b: str
    label: int
    kind: str
    """``transform`` / ``hard-negative`` / ``random-negative`` for corpus pairs, ``bigclonebench`` ..."""
    repo: str
    split: str


@dataclass(frozen=True)
class SummaryExample:
    """A function body without its docstring and the one-sentence summary it should get."""

    code: str
    summary: str
    repo: str
    split: str
    origin: str


def data_hash(examples) -> str:
    """sha256 over the examples serialised one per line (type name + fields, sorted keys), in order."""
    h = hashlib.sha256()
    for example in examples:
        record = {"type": type(example).__name__, **asdict(example)}
        h.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n")
    return h.hexdigest()
