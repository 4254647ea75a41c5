"""Corpus folders -> functions, each tagged with its repository and its split.

The split is by repository, never by function (functions of one repository leak into each other):
each ``--corpus DIR`` is one repository, or, with ``split_by="subdir"``, each top-level folder of DIR
is one. A repository's split comes from an explicit manifest when it names it, else from sha256 of its
id (~80 / 10 / 10, the same rule as the pretraining corpus, so a package held out there stays held out).

Functions are cut by codelens' own discovery and tree-sitter extraction, so training reads exactly
the text a scan reads (``CodeUnit.body``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from codelens.choices import SplitBy, choice
from codelens.errors import ConfigError
from codelens.files import is_inside
from codelens.parsing.function_syntax import frame
from codelens.train.data import SPLITS, split_of

SPLIT_ALIASES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val", "test": "test"}
MIN_LINES = 3
"""Functions shorter than this (one-liners, stubs) teach nothing."""
MAX_CHARS = 6000
"""Longer functions are cut by the model anyway; leaving them out keeps batches small."""


@dataclass(frozen=True)
class Repository:
    """One repository of the corpus."""

    name: str
    """Repository id: the folder's name (the split is derived from it)."""
    root: Path
    split: str


@dataclass(frozen=True)
class Function:
    """A function of the corpus, with what the data builders need to rewrite it."""

    repo: str
    split: str
    path: str
    """File path relative to the repository root."""
    qualname: str
    language: str
    source: str
    """The function's text as in the file, from ``def`` on."""
    body: str
    """``CodeUnit.body``: the source without its docstring; what the model reads."""
    docstring: str | None
    indent: str
    """Whitespace before the ``def`` in the file (methods); rewrites need it to parse the source."""

    @property
    def origin(self) -> str:
        return f"{self.repo}:{self.path}:{self.qualname}"


def load_manifest(path: Path) -> dict[str, str]:
    """Read a JSON object mapping repository id -> split (train / val / test; valid and dev mean val)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the split manifest {path}: {exc}",
                          hint='write a JSON object such as {"repo-a": "train", "repo-b": "val"}') from exc
    if not isinstance(data, dict):
        raise ConfigError(f"the split manifest {path} is not a JSON object",
                          hint='write a JSON object such as {"repo-a": "train", "repo-b": "val"}')
    out = {}
    for repo, split in data.items():
        if str(split).lower() not in SPLIT_ALIASES:
            raise ConfigError(f"the split manifest {path} gives {repo!r} the split {split!r}",
                              hint=f"use one of {', '.join(SPLITS)}")
        out[str(repo)] = SPLIT_ALIASES[str(split).lower()]
    return out


def repositories(corpus: list[Path], split_by: SplitBy = SplitBy.DIR,
                 manifest: dict[str, str] | None = None) -> list[Repository]:
    """The repositories of the corpus folders, in a fixed order (folder order, then name)."""
    split_by = choice(SplitBy, "split-by", split_by)
    manifest = manifest or {}
    out = []
    seen: dict[str, Path] = {}
    for folder in corpus:
        folder = Path(folder)
        if not folder.is_dir():
            raise ConfigError(f"corpus folder {folder} does not exist", hint="pass an existing folder with --corpus")
        # A top-level link that leads out of the corpus folder is not a repository of it: following it would
        # train on (and record the provenance of) whatever it points at.
        roots = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
                       and (not p.is_symlink() or is_inside(p, folder))) if split_by == "subdir" else [folder]
        for root in roots:
            name = root.resolve().name
            # The name is the repository's identity (split manifest, function ids, provenance): two
            # folders of one name would share one split entry and could mix their functions up.
            if name in seen:
                if seen[name] == root.resolve():
                    continue  # the same folder given twice
                raise ConfigError(f"two corpus repositories are both named {name!r}: {seen[name]} and {root.resolve()}",
                                  hint="rename one of the folders (the folder name is the repository's id)")
            seen[name] = root.resolve()
            out.append(Repository(name, root, manifest.get(name) or split_of(name)))
    return out


def _indent(data: bytes, start: int) -> str | None:
    line_start = data.rfind(b"\n", 0, start) + 1
    prefix = data[line_start:start]
    return prefix.decode("utf-8") if prefix.strip() == b"" else None


def repository_functions(repo: Repository, languages: tuple[str, ...] = ("python",)) -> tuple[list[Function], int]:
    """Functions of one repository in path / position order, and how many files could not be used."""
    from codelens.discovery import discover
    from codelens.parsing import extract_units

    found = discover(repo.root)
    out, bad = [], len(found.skipped)
    for source_file in sorted(found.files, key=lambda f: f.rel):
        if source_file.language not in languages:
            continue
        try:
            result = extract_units(source_file.rel, source_file.text, source_file.language)
        except Exception:  # noqa: BLE001 - one unreadable file must not stop a corpus build
            bad += 1
            continue
        data = source_file.text.encode("utf-8")
        for unit in result.units:
            indent = _indent(data, unit.span.start_byte)
            lines = unit.source.count("\n") + 1
            if indent is None or lines < MIN_LINES or len(unit.source) > MAX_CHARS or not unit.body.strip():
                continue
            out.append(Function(repo.name, repo.split, source_file.rel, unit.qualname, unit.language,
                                unit.source, unit.body, unit.docstring, indent))
    return out, bad


def collect_functions(repos: list[Repository], languages: tuple[str, ...] = ("python",), workers: int = 1,
                      per_repository: int | None = None) -> tuple[list[Function], int]:
    """Functions of every repository, exact duplicates (same source) kept once, in repository order, at most
    ``per_repository`` of each (chosen by a hash of their id): (functions, files skipped).

    ``workers`` processes read the repositories; the result does not depend on their number.
    """
    if workers > 1 and len(repos) > 1:
        from concurrent.futures import ProcessPoolExecutor
        from functools import partial

        with ProcessPoolExecutor(max_workers=workers) as pool:
            found = list(pool.map(partial(repository_functions, languages=languages), repos))
    else:
        found = [repository_functions(repo, languages) for repo in repos]
    seen: set[str] = set()
    out, bad = [], 0
    for functions, skipped in found:
        bad += skipped
        kept = [fn for fn in functions if fn.source not in seen]
        seen.update(fn.source for fn in kept)
        out += _sample(kept, per_repository)
    return out, bad


def _sample(functions: list[Function], limit: int | None) -> list[Function]:
    """At most ``limit`` of one repository's functions, chosen by a hash of their id (the same ones every run),
    in their original order: a package of 20,000 functions does not drown the others."""
    if limit is None or len(functions) <= limit:
        return functions
    import hashlib

    chosen = set(sorted(range(len(functions)),
                        key=lambda i: hashlib.sha256(functions[i].origin.encode()).hexdigest())[:limit])
    return [fn for i, fn in enumerate(functions) if i in chosen]


def body_of(source: str, language: str, indent: str = "") -> str | None:
    """``CodeUnit.body`` of a (rewritten) function source, by running codelens' extraction on it."""
    from codelens.parsing import extract_units

    data, start = frame(source, indent)
    try:
        units = extract_units("snippet" + _SUFFIX.get(language, ""), data.decode("utf-8"), language).units
    except Exception:  # noqa: BLE001 - a rewrite that the extractor rejects is simply not used
        return None
    unit = next((u for u in units if u.span.start_byte == start), None)
    return unit.body if unit is not None else None


_SUFFIX = {"python": ".py", "javascript": ".js", "typescript": ".ts", "java": ".java", "go": ".go", "c": ".c",
           "cpp": ".cpp", "rust": ".rs"}
