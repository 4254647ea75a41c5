"""Which lines git says changed, and which functions they touch (``--staged``, ``--diff-base REF``).

What counts as changed, per mode (``root`` may be any directory inside a work tree; paths come back
relative to it, with forward slashes, and only files under it are listed):

- ``staged=True``: the index against ``HEAD`` - what ``git commit`` would record now (the pre-commit
  hook case). In a repository without commits every staged file is new. Untracked and unstaged edits
  do not count.
- ``diff_base=REF``: everything the branch changed since it left ``REF`` - the working tree (committed,
  staged and unstaged edits) against ``merge-base(REF, HEAD)``, plus untracked, not-ignored files as
  new. This is "what would my pull request change", including work not committed yet, so running it
  locally and in CI over the pushed branch agree. With ``staged=True`` as well, the index is compared
  with that merge base instead.
- neither: the working tree against ``HEAD`` plus untracked files (everything not committed yet).

A file that is new (added, or untracked) maps to ``None``: every line of it counts. A file with hunks
maps to the set of changed new-side lines. Renames are detected (``--find-renames``), so a file that
was only moved maps to an empty set and a moved-and-edited one to just its edited lines. A hunk that
only deletes lines (``+N,0``) marks line N and N+1, the lines on both sides of the gap: deleting the
last line of one function or the first decorator of the next both change a function that is still
there. Deleted files are absent.

git runs as a subprocess with explicit arguments, user configuration that would change the output
overridden (external diff tools, colour, prefixes, path quoting, hunk merging), and never touches the
network.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Iterable, Mapping

from codelens.core import CodeUnit
from codelens.errors import CodelensError

ChangedLines = dict[str, set[int] | None]
"""Posix path relative to the scan root -> changed new-side lines, or None when the whole file is new."""

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
_DIFF_ARGS = (
    "diff", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "--find-renames",
    "--inter-hunk-context=0", "--relative", "--src-prefix=a/", "--dst-prefix=b/",
    "--ignore-submodules=all",
)


def _git(args: Iterable[str], cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run git in ``cwd``; paths in its output stay unquoted UTF-8. The scanned repository's .git/config is
    untrusted: its core.fsmonitor would be run as a command by diff / ls-files, so it is switched off (the
    diff also refuses external diff and textconv drivers, ``_DIFF_ARGS``)."""
    try:
        return subprocess.run(
            ["git", "-c", "core.quotepath=false", "-c", "core.fsmonitor=false", *args], cwd=cwd, input=stdin,
            capture_output=True,
        )
    except FileNotFoundError:
        raise CodelensError(
            "git is not installed or not on PATH", hint="install git to use --staged / --diff-base"
        ) from None
    except NotADirectoryError:
        raise CodelensError(f"{cwd} is not a directory", hint="pass the repository folder") from None


def _stderr(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stderr.decode("utf-8", "replace").strip()


def _unquote(name: str) -> str:
    """A path as git prints it: bare, or in double quotes with C escapes (octal for odd bytes)."""
    if not (len(name) >= 2 and name[0] == name[-1] == '"'):
        return name
    raw, i, body = bytearray(), 0, name[1:-1]
    while i < len(body):
        char = body[i]
        if char != "\\" or i + 1 >= len(body):
            raw += char.encode("utf-8", "surrogateescape")
            i += 1
        elif body[i + 1] in _ESCAPES:
            raw.append(_ESCAPES[body[i + 1]])
            i += 2
        else:
            raw.append(int(body[i + 1:i + 4], 8) & 0xFF)
            i += 4
    return os.fsdecode(bytes(raw))


def _header_path(value: str) -> str | None:
    """The new-side path of a ``+++`` line, or None for ``/dev/null`` (a deleted file)."""
    # git appends a tab to names containing spaces (after the closing quote of a quoted name) so
    # that patch(1) can find their end; a tab inside a name is always quoted as \t.
    value = value.removesuffix("\t")
    if value == "/dev/null":
        return None
    value = _unquote(value)
    return value[2:] if value.startswith("b/") else value


def parse_diff(text: str) -> ChangedLines:
    """Changed new-side lines per file from ``git diff -U0`` output (see the module docstring)."""
    changed: ChangedLines = {}
    current: str | None = None
    in_header = new_file = False
    for line in text.split("\n"):
        if line.startswith("diff --git "):
            in_header, new_file, current = True, False, None
        elif in_header and line.startswith("new file mode"):
            new_file = True
        elif in_header and line.startswith("rename to "):
            # a pure rename has no ---/+++ lines, only these headers
            current = _unquote(line[len("rename to "):])
            changed.setdefault(current, set())
        elif in_header and line.startswith("+++ "):
            current = _header_path(line[4:])
            if current is not None:
                changed[current] = None if new_file else changed.get(current) or set()
        elif line.startswith("@@"):
            in_header = False
            lines = changed.get(current) if current is not None else None
            match = _HUNK.match(line)
            if lines is None or match is None:
                continue
            start, count = int(match.group(1)), int(match.group(2) or 1)
            lines.update(range(start, start + count) if count else {max(start, 1), start + 1})
    return changed


def _resolve(root: Path, rev: str) -> str | None:
    result = _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], root)
    return result.stdout.decode().strip() if result.returncode == 0 else None


def _base(root: Path, diff_base: str | None) -> str:
    """The commit (or the empty tree, before the first commit) the changes are measured from."""
    head = _resolve(root, "HEAD")
    if diff_base is None:
        if head is not None:
            return head
        empty = _git(["hash-object", "-t", "tree", "--stdin"], root)
        return empty.stdout.decode().strip()
    if diff_base.startswith("-") or _resolve(root, diff_base) is None:
        raise CodelensError(
            f"unknown git revision {diff_base!r} in {root}",
            hint="pass a branch, tag or commit that exists here; in a shallow CI clone fetch it first "
            "(`git fetch origin main`)",
        )
    if head is None:
        raise CodelensError(
            f"the repository at {root} has no commits yet, so there is nothing to diff against {diff_base!r}",
            hint="commit first, or use --staged",
        )
    result = _git(["merge-base", diff_base, "HEAD"], root)
    if result.returncode != 0:
        raise CodelensError(
            f"{diff_base!r} and HEAD have no common ancestor in {root}",
            hint="fetch more history (`git fetch --unshallow`) or pass a revision on this branch's history",
        )
    return result.stdout.decode().strip()


def changed_lines(root: str | os.PathLike, diff_base: str | None, staged: bool) -> ChangedLines:
    """Changed lines per file under ``root`` (see the module docstring for what each mode compares)."""
    root = Path(root)
    inside = _git(["rev-parse", "--is-inside-work-tree"], root) if root.is_dir() else None
    if inside is None or inside.returncode != 0 or inside.stdout.strip() != b"true":
        raise CodelensError(
            f"{root} is not inside a git work tree",
            hint="run codelens in a git repository, or drop --staged / --diff-base to scan every file",
        )
    base = _base(root, diff_base)
    args = [*_DIFF_ARGS, *(["--cached"] if staged else []), base, "--"]
    result = _git(args, root)
    if result.returncode != 0:
        raise CodelensError(f"git diff failed in {root}: {_stderr(result)}", hint="check `git status` there")
    changed = parse_diff(result.stdout.decode("utf-8", "surrogateescape"))
    if not staged:
        untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], root)
        for raw in filter(None, untracked.stdout.split(b"\0")):
            changed[os.fsdecode(raw)] = None
    return changed


def select_changed_units(
    units: Iterable[CodeUnit], changed: Mapping[str, set[int] | None]
) -> list[CodeUnit]:
    """Units (in input order) whose lines, decorators included, overlap a changed line."""
    selected = []
    for unit in units:
        if unit.path not in changed:
            continue
        lines = changed[unit.path]
        first = min((unit.start_line, *unit.decorator_lines))
        if lines is None or any(first <= line <= unit.end_line for line in lines):
            selected.append(unit)
    return selected
