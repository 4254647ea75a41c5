"""Find the source files to analyse under a root, read them, and say why any were left out.

Works on any folder; inside a git work tree it also honours ``.gitignore`` files (nested ones too,
and those between the repository root and the scan root) and ``.git/info/exclude``, read with
``pathspec`` so git itself is never needed. Files with an unsupported extension are ignored silently;
every other file that is not analysed is reported as ``Skipped`` with a reason.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from codelens.core import SourceFile
from codelens.errors import CodelensError
from codelens.files import CONFIG_LIMIT, FileReadError, read_bounded, read_text_bounded
from codelens.gitscope import git_top
from codelens.parsing.registry import language_for_path

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git", ".hg", ".svn", ".venv", "venv", "env", ".tox", ".nox", "node_modules", "__pycache__",
    "build", "dist", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".codelens-cache", "site-packages",
    "*.egg-info", "target",
)  # fmt: skip
"""Directory names never descended into, at any depth (tool caches, environments, build output)."""

SKIP_REASONS = ("binary", "not-utf8", "too-large", "minified", "generated", "unreadable", "symlink-loop",
                "outside-root", "not-a-file")
"""Every ``Skipped.reason``."""

BINARY_SNIFF_BYTES = 8192
"""A NUL byte this early means the file is binary."""
GENERATED_MARKERS = ("@generated", "DO NOT EDIT")
"""Markers of generated code, looked for in the first ``GENERATED_HEAD_LINES`` lines."""
GENERATED_HEAD_LINES = 5
MINIFIED_MEAN_LINE = 300
"""JS/TS whose mean line length exceeds this is minified."""
MINIFIED_MAX_LINE = 5000
"""JS/TS with any line longer than this is minified (or bundled)."""
_MINIFIABLE = frozenset({"javascript", "typescript"})


@dataclass(frozen=True)
class Skipped:
    """A supported file (or a directory link) left out, and why: one of ``SKIP_REASONS``."""

    rel: str
    reason: str


@dataclass
class DiscoveryResult:
    """Files to analyse and files left out, each sorted by ``rel``."""

    files: list[SourceFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def skipped_counts(self) -> dict[str, int]:
        """How many were skipped per reason, in ``SKIP_REASONS`` order."""
        counts = Counter(s.reason for s in self.skipped)
        return {reason: counts[reason] for reason in SKIP_REASONS if counts[reason]}


def _spec(lines: Sequence[str]) -> GitIgnoreSpec:
    from pathspec import GitIgnoreSpec

    return GitIgnoreSpec.from_lines(lines)


def _read_ignore_file(path: str, problems: list[tuple[str, str]]) -> GitIgnoreSpec | None:
    """The rules of one ignore file, read bounded and without blocking; a FIFO, device or huge file is
    left out and noted in ``problems`` as (path, reason) rather than hanging the scan."""
    try:
        lines = read_bounded(path, CONFIG_LIMIT, "ignore file").decode("utf-8", "replace").splitlines()
    except FileReadError as exc:
        if exc.reason not in ("missing", "unreadable"):
            problems.append((path, exc.reason))
        return None
    if not lines:
        return None
    try:
        return _spec(lines)
    except ValueError:
        # pathspec rejects a few lines that git reads without a word and that match nothing (a lone "!",
        # a trailing backslash). The ignore files come from the scanned tree: such a line is dropped and
        # the file's other rules still apply, rather than the scan stopping.
        kept = [line for line in lines if _is_pattern(line)]
        return _spec(kept) if kept else None


def _is_pattern(line: str) -> bool:
    """Whether pathspec accepts ``line`` as an ignore-file pattern."""
    try:
        _spec([line])
    except ValueError:
        return False
    return True


class _IgnoreRules:
    """Git's ignore rules for paths under the scan root, evaluated without git.

    Paths are matched relative to the repository top (or the scan root outside a repository); the
    deepest ``.gitignore`` with a matching pattern decides, as in git.
    """

    def __init__(self, root: Path) -> None:
        root = root.resolve()  # "." has no parents to search for the repository
        found = git_top(root)
        self.top = found[0] if found else root
        prefix = os.path.relpath(root, self.top).replace(os.sep, "/")
        self.prefix = "" if prefix == "." else prefix + "/"
        self._above = {self.prefix[:i] for i, char in enumerate(self.prefix) if char == "/"}
        """Folders from the top down to the scan root itself ("runs", "runs/corpus" for runs/corpus/)."""
        self.base: list[tuple[str, GitIgnoreSpec]] = []
        self.problems: list[tuple[str, str]] = []
        """Ignore files left out (a FIFO, a device, a huge file): (path, skip reason)."""
        if found is not None:
            git_dir = found[1]
            common = git_dir / "commondir"  # linked worktrees keep info/ in the main git dir
            if common.is_file():
                try:
                    git_dir = git_dir / read_text_bounded(common, 4096, "git commondir file").strip()
                except FileReadError:
                    pass
            exclude = self._below_root_only("", _read_ignore_file(str(git_dir / "info" / "exclude"), self.problems))
            if exclude is not None:
                self.base.append(("", exclude))
        self._chains: dict[str, list[tuple[str, GitIgnoreSpec]]] = {}

    def _chain(self, directory: str) -> list[tuple[str, GitIgnoreSpec]]:
        """Specs that apply inside ``directory`` (relative to the top, "" for the top), outermost first."""
        if directory not in self._chains:
            parent = self._chain(directory.rpartition("/")[0]) if directory else list(self.base)
            spec = _read_ignore_file(str(self.top / directory / ".gitignore"), self.problems)
            if not directory or directory in self._above:
                spec = self._below_root_only(directory, spec)
            self._chains[directory] = parent + [(directory, spec)] if spec is not None else parent
        return self._chains[directory]

    def _below_root_only(self, directory: str, spec: GitIgnoreSpec | None) -> GitIgnoreSpec | None:
        """``spec`` (the ignore file of ``directory``, at or above the scan root) without its rules that
        ignore the scan root or a folder between ``directory`` and it.

        The root was named explicitly (a corpus staged under an ignored runs/, a scan of build/gen): a rule
        such as ``/runs/`` would otherwise hide everything below it, since pathspec matches a folder's
        contents too. Rules that match only inside the root (``*.pyc``, ``__pycache__/``) still apply.
        """
        base = directory + "/" if directory else ""
        between = [folder[len(base):] + "/" for folder in self._above if folder.startswith(base) and folder != directory]
        if spec is None or not between:
            return spec
        kept = [p for p in spec.patterns
                if not (p.include and any(p.match_file(folder) is not None for folder in between))]
        if len(kept) == len(spec.patterns):
            return spec
        return type(spec)(kept) if kept else None

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """Whether git would ignore ``rel`` (relative to the scan root) itself (ancestors not checked)."""
        full = self.prefix + rel
        decision = False
        for directory, spec in self._chain(full.rpartition("/")[0]):
            sub = full[len(directory) + 1 :] if directory else full
            result = spec.check_file(sub + "/" if is_dir else sub)
            if result.include is not None:
                decision = result.include
        return decision

    def ignored_with_parents(self, rel: str) -> bool:
        """Whether a file or any of its parent directories is ignored (git cannot re-include below)."""
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            if self.ignored("/".join(parts[:depth]), is_dir=True):
                return True
        return self.ignored(rel, is_dir=False)


class _Filters:
    """Default excludes, user globs and (optionally) git ignore rules, applied to relative paths."""

    def __init__(self, root: Path, include: Sequence[str], exclude: Sequence[str], respect_gitignore: bool) -> None:
        self.defaults = _spec([f"{name}/" for name in DEFAULT_EXCLUDES])
        self.include = _spec(include) if include else None
        self.exclude = _spec(exclude) if exclude else None
        self.git = _IgnoreRules(root) if respect_gitignore else None

    def skip_dir(self, rel: str) -> bool:
        if self.defaults.match_file(rel + "/"):
            return True
        if self.exclude is not None and self.exclude.match_file(rel + "/"):
            return True
        return self.git is not None and self.git.ignored(rel, is_dir=True)

    def skip_file(self, rel: str, check_parents: bool = False) -> bool:
        if self.include is not None and not self.include.match_file(rel):
            return True
        if self.exclude is not None and self.exclude.match_file(rel):
            return True
        if check_parents:
            parents = rel.split("/")[:-1]
            if any(self.skip_dir("/".join(parents[: i + 1])) for i in range(len(parents))):
                return True
            return self.git is not None and self.git.ignored_with_parents(rel)
        return self.git is not None and self.git.ignored(rel, is_dir=False)


@dataclass
class _Candidate:
    rel: str
    path: Path
    language: str
    via_link: bool


def _inside(real: str, real_root: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _walk(root: Path, filters: _Filters, skipped: list[Skipped]) -> list[_Candidate]:
    """Supported files under ``root``, following symlinks that stay inside it, never around a loop.

    A link that leads out of the root is not followed (the scanned tree is untrusted: a committed link
    to ~/.ssh must not be read, reported or written through); it is skipped as ``outside-root``.
    """
    found: list[_Candidate] = []
    saw_link = False
    real_root = os.path.realpath(root)
    stack: list[tuple[Path, str, frozenset[str], bool]] = [(root, "", frozenset({real_root}), False)]
    while stack:
        directory, rel_dir, ancestors, via_link = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            skipped.append(Skipped(rel_dir or ".", "unreadable"))
            continue
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            is_link = entry.is_symlink()
            saw_link = saw_link or is_link
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if filters.skip_dir(rel):
                    continue
                real = os.path.realpath(entry.path)
                if is_link and not _inside(real, real_root):
                    skipped.append(Skipped(rel, "outside-root"))
                    continue
                if real in ancestors:
                    skipped.append(Skipped(rel, "symlink-loop"))
                    continue
                subdirs.append((Path(entry.path), rel, ancestors | {real}, via_link or is_link))
                continue
            language = language_for_path(entry.name)
            if language is None or filters.skip_file(rel):
                continue
            if is_link and not _inside(os.path.realpath(entry.path), real_root):
                skipped.append(Skipped(rel, "outside-root"))
                continue
            found.append(_Candidate(rel, Path(entry.path), language, via_link or is_link))
        stack.extend(reversed(subdirs))
    return _dedupe(found) if saw_link else found


def _dedupe(candidates: list[_Candidate]) -> list[_Candidate]:
    """One candidate per real file, preferring the path that goes through no symlink."""
    best: dict[str, _Candidate] = {}
    for candidate in candidates:
        key = os.path.realpath(candidate.path)
        current = best.get(key)
        if current is None or (candidate.via_link, candidate.rel) < (current.via_link, current.rel):
            best[key] = candidate
    return list(best.values())


def _only(root: Path, only: Sequence[Path], filters: _Filters) -> list[_Candidate]:
    """Candidates from an explicit file list (relative paths are relative to the working directory)."""
    found: dict[str, _Candidate] = {}
    base = os.path.abspath(root)
    real_root = os.path.realpath(root)
    for item in only:
        absolute = os.path.abspath(item)
        rel = os.path.relpath(absolute, base).replace(os.sep, "/")
        if rel == ".." or rel.startswith("../"):
            raise CodelensError(
                f"{item} is outside the scan root {root}",
                hint="scan from a folder that contains every file passed, e.g. the repository root",
            )
        language = language_for_path(rel)
        if language is not None and rel not in found and not filters.skip_file(rel, check_parents=True):
            if not _inside(os.path.realpath(absolute), real_root):
                continue  # a link out of the root (it is skipped, with its reason, by a full walk)
            found[rel] = _Candidate(rel, Path(absolute), language, via_link=False)
    return list(found.values())


def _skip_reason(text: str, rel: str, language: str) -> str | None:
    """Why a decoded file should not be analysed (generated or minified), or None."""
    start = text[:4096]
    if any(marker in start for marker in GENERATED_MARKERS):  # cheap test before splitting lines
        head = start.splitlines()[:GENERATED_HEAD_LINES]
        if any(marker in line for line in head for marker in GENERATED_MARKERS):
            return "generated"
    if language in _MINIFIABLE:
        if ".min." in rel.rpartition("/")[2]:
            return "minified"
        lines = text.splitlines() or [""]
        if max(map(len, lines)) > MINIFIED_MAX_LINE or len(text) / len(lines) > MINIFIED_MEAN_LINE:
            return "minified"
    return None


def decode_source(data: bytes, language: str) -> tuple[str, str, bool] | None:
    """(text, encoding, had a UTF-8 byte-order mark) of a source file's bytes, or None when they do not decode.

    UTF-8, its byte-order mark dropped from the text; a Python file may declare another encoding (PEP 263).
    `codelens docstring` writes files back with the same encoding and mark.
    """
    bom = data.startswith(codecs.BOM_UTF8)
    try:
        return data[len(codecs.BOM_UTF8) if bom else 0:].decode("utf-8"), "utf-8", bom
    except UnicodeDecodeError:
        if language != "python" or bom:
            return None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return (data.decode(encoding), encoding, False) if encoding not in ("utf-8", "utf-8-sig") else None
    except (SyntaxError, LookupError, UnicodeError):  # UnicodeError: "# coding: undefined" always fails
        return None


def _read_regular(path: Path, max_file_bytes: int) -> bytes | str:
    """The bytes of a regular file, or why not: "not-a-file", "too-large" (or an OSError).

    Opened without blocking and checked on the open descriptor: a FIFO or device named like source code
    would hang a plain read forever, and a check before opening could be raced.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return "not-a-file"
        if info.st_size > max_file_bytes:
            return "too-large"
        with os.fdopen(os.dup(fd), "rb") as handle:
            # in chunks: read(limit) would allocate the limit at once, and a huge limit overflows
            chunks, size = [], 0
            while size <= max_file_bytes:
                chunk = handle.read(min(max_file_bytes + 1 - size, 1 << 24))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks)
    finally:
        os.close(fd)


def _read(candidate: _Candidate, max_file_bytes: int) -> SourceFile | Skipped:
    rel = candidate.rel
    try:
        data = _read_regular(candidate.path, max_file_bytes)
    except OSError:
        return Skipped(rel, "unreadable")
    if isinstance(data, str):
        return Skipped(rel, data)
    if len(data) > max_file_bytes:  # it grew since stat
        return Skipped(rel, "too-large")
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return Skipped(rel, "binary")
    decoded = decode_source(data, candidate.language)
    if decoded is None:
        return Skipped(rel, "not-utf8")
    text = decoded[0]
    reason = _skip_reason(text, rel, candidate.language)
    if reason is not None:
        return Skipped(rel, reason)
    return SourceFile(path=candidate.path, rel=rel, language=candidate.language, text=text)


def discover(
    root: Path,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_file_bytes: int = 1_000_000,
    respect_gitignore: bool = True,
    only: Sequence[Path] | None = None,
) -> DiscoveryResult:
    """Supported source files under ``root`` (a folder or one file), sorted by relative path.

    ``include`` / ``exclude`` are gitignore-style globs relative to ``root`` (no ``include``: every
    supported file). ``only`` restricts the result to those files (as a pre-commit hook passes them;
    relative ones are taken from the working directory, like command-line paths): they still go
    through every filter, keep paths relative to ``root``, and one outside ``root`` is an error.
    """
    root = Path(root)
    if not root.exists():
        raise CodelensError(f"{root} does not exist", hint="pass a folder or file to scan")
    skipped: list[Skipped] = []
    if root.is_file():
        language = language_for_path(root.name)
        candidates = [_Candidate(root.name, root, language, False)] if language else []
    else:
        filters = _Filters(root, include, exclude, respect_gitignore)
        candidates = _only(root, only, filters) if only is not None else _walk(root, filters, skipped)
        for path, reason in filters.git.problems if filters.git is not None else ():
            skipped.append(Skipped(os.path.relpath(path, root).replace(os.sep, "/"), reason))
    files: list[SourceFile] = []
    for candidate in candidates:
        outcome = _read(candidate, max_file_bytes)
        (files if isinstance(outcome, SourceFile) else skipped).append(outcome)
    files.sort(key=lambda f: f.rel)
    skipped.sort(key=lambda s: (s.rel, s.reason))
    return DiscoveryResult(files=files, skipped=skipped)
