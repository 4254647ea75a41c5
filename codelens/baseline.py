"""Baselines: accept today's findings so a scan reports only the ones that are new.

``codelens baseline create`` writes the current findings to a JSON file; later scans drop the findings
the baseline already holds. A finding is identified by ``(code, qualname, unit_hash)`` - the rule, the
function's qualified name, and the hash of its normalised source - never by path or line, so a function
that moves (lines shift above it, or it goes to another file) stays baselined, while editing its body
makes its findings new again. Paths are stored only to help a reader of the file and to decide which of
several identical findings is the old one; lines are not stored at all, so code moving within a file
leaves the baseline file unchanged. Each key carries a count: two identical findings (the same function
copied into two files) need two entries, and a third copy is new.

The file is deterministic (sorted entries and keys, two-space indent, trailing newline, no
timestamp) so that it diffs cleanly under version control::

    {
      "entries": [
        {"code": "CL100", "count": 1, "paths": ["a.py"], "qualname": "parse", "unit_hash": "9f2c..."}
      ],
      "schema_version": 2,
      "tool": "codelens",
      "tool_version": "0.1.0"
    }

Version 1 files (which also stored each finding's line) are still read.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from codelens.errors import CodelensError
from codelens.files import FileReadError, read_text_bounded, write_guarded
from codelens.findings import Finding

SCHEMA_VERSION = 2
"""The baseline format this codelens writes."""
READABLE_VERSIONS = (1, 2)
"""The formats it reads (1: with line numbers, which are ignored)."""

MAX_BYTES = 64 << 20
"""Largest baseline file read (64 MiB: some 300,000 entries); a bigger one is an error, not a stall."""

_RECREATE = "recreate it with `codelens baseline create`"

BaselineKey = tuple[str, str, str]
"""(code, qualname, unit_hash)."""


@dataclass(frozen=True)
class BaselineEntry:
    """How many findings of one key the baseline accepts, and where they were."""

    count: int
    paths: tuple[str, ...] = ()
    """The file of each accepted finding when the baseline was made (sorted)."""


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline file."""

    entries: dict[BaselineKey, BaselineEntry]
    tool_version: str
    """The codelens version that wrote it."""
    path: Path | None = None
    """Where it was read from, for messages."""

    def __len__(self) -> int:
        return sum(entry.count for entry in self.entries.values())


def create_baseline(findings: Iterable[Finding], tool_version: str) -> dict:
    """The JSON-ready baseline document for ``findings``."""
    grouped: dict[BaselineKey, list[str]] = defaultdict(list)
    for finding in findings:
        grouped[finding.identity()].append(finding.path)
    entries = [
        {"code": code, "qualname": qualname, "unit_hash": unit_hash, "count": len(paths), "paths": sorted(paths)}
        for (code, qualname, unit_hash), paths in sorted(grouped.items())
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": "codelens",
        "tool_version": tool_version,
        "entries": entries,
    }


def dump_baseline(data: dict) -> str:
    """The exact text ``save_baseline`` writes."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def save_baseline(data: dict, path: str | os.PathLike, root: str | os.PathLike | None = None,
                  named_by_user: bool = True, force: bool = False) -> None:
    """Write a baseline document through the write guard (``codelens.files.write_guarded``): atomically,
    never through a link, into ``.git/`` or over a file that is not a baseline codelens wrote (unless
    ``force``); ``root`` is the repository it belongs to."""
    write_guarded(path, dump_baseline(data).encode("utf-8"), root=root, named_by_user=named_by_user, force=force,
                  ours=is_baseline, what="baseline file")


def is_baseline(data: bytes) -> bool:
    """Whether ``data`` is a codelens baseline file (what ``baseline create`` may replace without --force)."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return (isinstance(document, dict) and document.get("tool") == "codelens"
            and document.get("schema_version") in READABLE_VERSIONS)


def _bad(path: Path, problem: str) -> CodelensError:
    return CodelensError(f"baseline file {path} {problem}", hint=_RECREATE)


def _entry(raw: object, path: Path, index: int) -> tuple[BaselineKey, BaselineEntry]:
    fields = ("code", "qualname", "unit_hash")
    if not isinstance(raw, dict) or not all(isinstance(raw.get(f), str) for f in fields):
        raise _bad(path, f"has a malformed entry #{index + 1} (needs code, qualname and unit_hash strings)")
    count = raw.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise _bad(path, f"has a malformed entry #{index + 1} (count must be a positive integer)")
    paths = [p for p in raw.get("paths") or () if isinstance(p, str)]
    paths += [loc["path"] for loc in raw.get("locations") or ()  # version 1
              if isinstance(loc, dict) and isinstance(loc.get("path"), str)]
    return (raw["code"], raw["qualname"], raw["unit_hash"]), BaselineEntry(count, tuple(sorted(paths)))


def load_baseline(path: str | os.PathLike) -> Baseline:
    """Read a baseline file; a missing, unreadable, corrupt or other-version file is a CodelensError."""
    source = Path(path)
    try:
        # bounded and without blocking: the file may come from the scanned repository (a FIFO, /dev/zero)
        text = read_text_bounded(source, MAX_BYTES, "baseline file")
    except FileReadError as exc:
        if exc.reason == "missing":
            raise CodelensError(
                f"baseline file {source} does not exist", hint="create it with `codelens baseline create`"
            ) from None
        raise _bad(source, f"cannot be read ({exc.message.removeprefix(f'baseline file {source} ')})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(source, f"is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise _bad(source, "is not a codelens baseline (no schema_version)")
    if data["schema_version"] not in READABLE_VERSIONS:
        raise _bad(source, f"has schema_version {data['schema_version']!r}; this codelens reads "
                           f"{' and '.join(map(str, READABLE_VERSIONS))}")
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list):
        raise _bad(source, "has no 'entries' list")
    entries: dict[BaselineKey, BaselineEntry] = {}
    for index, raw in enumerate(raw_entries):
        key, entry = _entry(raw, source, index)
        if key in entries:  # hand-merged files may repeat a key: the counts add up
            old = entries[key]
            entry = BaselineEntry(old.count + entry.count, tuple(sorted(old.paths + entry.paths)))
        entries[key] = entry
    return Baseline(entries, str(data.get("tool_version", "")), source)


def filter_new(findings: Iterable[Finding], baseline: Baseline) -> tuple[list[Finding], list[Finding]]:
    """``(new, baselined)``, each in input order.

    Each baseline entry absorbs up to ``count`` findings of its key. When more findings share a key
    than the baseline accepts, the ones still in a recorded file are the old ones; the rest are taken in
    input order.
    """
    findings = list(findings)
    remaining = {key: entry.count for key, entry in baseline.entries.items()}
    accepted = [False] * len(findings)
    for at_recorded_place_only in (True, False):
        for i, finding in enumerate(findings):
            key = finding.identity()
            if accepted[i] or remaining.get(key, 0) == 0:
                continue
            if at_recorded_place_only and finding.path not in baseline.entries[key].paths:
                continue
            accepted[i] = True
            remaining[key] -= 1
    new = [f for f, ok in zip(findings, accepted) if not ok]
    baselined = [f for f, ok in zip(findings, accepted) if ok]
    return new, baselined
