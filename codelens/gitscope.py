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

A file git can only show as binary (a ``-diff`` or ``binary`` attribute, ``*.py -diff`` included) has no
hunks to read: it counts as wholly changed rather than unchanged, so its functions are never dropped out of
scope without a word.

**Every git call goes through ``Git``**, codelens's one hardened git helper (the hook installer uses it
too), and the repository's top level is found in one place, ``git_top``, without running git (the scan's
settings and ignore rules, the hook installer and the helper's own work-tree pin all ask it).

The scanned repository is untrusted, and so are its ``.git/config`` and attributes: git would run
the programs they name, and read the files they name, while codelens only asks what changed. So every call
runs with each setting that names a program or a file switched off (``HARDENED_CONFIG``: fsmonitor,
hooksPath, excludesFile, attributesFile, orderFile, external diff and pager; every ``filter.<driver>`` that
any config defines, clean, smudge and process), ``--no-ext-diff --no-textconv`` on diffs, system attributes
off (``GIT_ATTR_NOSYSTEM``), no optional index writes (``GIT_OPTIONAL_LOCKS=0``), the work tree pinned to
the folder that holds ``.git`` (a ``core.worktree`` cannot point git elsewhere), never a terminal prompt
or the network. A FIFO or device git would read and block on (a ``.gitignore``, ``.gitattributes``,
``.git/info/exclude``, the index) is found before git runs; anything else that stalls git (a FIFO named
by an ``include.path``) ends in a clear error after ``QUICK_TIMEOUT_S`` or ``TREE_TIMEOUT_S``.
"""

from __future__ import annotations

import os
import re
import stat
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
_BINARY = re.compile(r'^Binary files (?:.*) and ("(?:[^"\\]|\\.)*"|b/.*|/dev/null) differ$')

QUICK_TIMEOUT_S = 15.0
"""Longest a git call that reads no work tree (rev-parse, config, merge-base) may take: they finish in
milliseconds, so one that takes longer is blocked (a FIFO in its config's include.path)."""
TREE_TIMEOUT_S = 300.0
"""Longest a git call that reads the work tree (diff, ls-files) may take, for very large repositories."""
HARDENED_CONFIG = (
    ("core.quotepath", "false"),  # paths in the output as raw UTF-8 (quoted only for control characters)
    ("core.fsmonitor", "false"),  # a program run by diff / ls-files
    ("core.hooksPath", os.devnull),  # programs (git runs no hook for these commands; belt and braces)
    ("core.excludesFile", ""),  # a file read by ls-files (a FIFO there would block it)
    ("core.attributesFile", ""),  # a file of attributes, which choose filters and diff drivers
    ("diff.orderFile", os.devnull),  # a file read by diff (an empty value is an error, /dev/null is empty)
    ("diff.external", ""),  # a program run by diff (--no-ext-diff as well)
    ("core.pager", "cat"),  # a program (no pager runs without a terminal; belt and braces)
    ("core.untrackedCache", "false"),  # no cache written into the repository's index
)
"""``-c`` settings every git call gets: each setting that names a program or a file is switched off."""
_FILTER_KEYS = ("clean", "smudge", "process")
_GIT_FILES = (".gitignore", ".gitattributes")
"""Files git reads in every folder it looks at."""
_GIT_DIR_FILES = ("index", "info/exclude", "info/attributes", "info/sparse-checkout", "config.worktree",
                  "packed-refs", "HEAD", "commondir")
"""Files git reads inside the git folder."""


class GitError(CodelensError):
    """git could not answer (not installed, not a work tree, blocked on a special file, timed out)."""


def git_top(start: Path) -> tuple[Path, Path] | None:
    """``(work tree top, git dir)`` of the repository holding ``start`` (a folder or a file), as git finds
    it: the nearest folder with a ``.git`` folder, or a ``.git`` file naming the git dir (worktrees,
    submodules). Links in ``start`` are kept: callers that compare paths resolve it first."""
    here = Path(os.path.abspath(start))
    for folder in (here, *here.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return folder, dot_git
        if dot_git.is_file():
            from codelens.files import FileReadError, read_text_bounded

            try:
                text = read_text_bounded(dot_git, 4096, "git link file").strip()
            except FileReadError:
                return folder, dot_git
            target = Path(text.removeprefix("gitdir:").strip())
            return folder, target if target.is_absolute() else folder / target
    return None


def _special(path: Path) -> bool:
    """Whether ``path`` is something a blocking read would wait on for ever, or never finish: a FIFO, socket
    or device, itself or behind a link."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False  # missing or a dangling link: git reads nothing there
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_git_inputs(top: Path, git_dir: Path) -> None:
    """A ``GitError`` naming the first file git would block on: a ``.gitignore`` or ``.gitattributes`` of
    the work tree (folders walked without following links, as git does) or a file of the git folder that is
    a FIFO, socket or device."""
    for name in _GIT_DIR_FILES:
        if _special(git_dir / name):
            raise _blocked(git_dir / name)
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue  # git cannot read it either, and says so itself
        for entry in entries:
            if entry.name in _GIT_FILES:
                if _special(Path(entry.path)):
                    raise _blocked(Path(entry.path))
            elif entry.name != ".git" and entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))


def _blocked(path: Path) -> GitError:
    return GitError(f"{path} is not a regular file (a pipe, socket or device): git would block reading it",
                    hint="remove it, or replace it with a regular file")


class Git:
    """git in one repository, through the hardened settings of the module docstring.

    ``hooks=True`` keeps ``core.hooksPath`` as configured (the hook installer asks where hooks go)."""

    def __init__(self, cwd: str | os.PathLike, hooks: bool = False) -> None:
        self.cwd = Path(cwd)
        if not self.cwd.is_dir():
            raise GitError(f"{self.cwd} is not a directory", hint="pass the repository folder")
        found = git_top(self.cwd)
        self.top = found[0] if found else None
        settings = [(k, v) for k, v in HARDENED_CONFIG if not (hooks and k == "core.hooksPath")]
        self._options = [arg for key, value in settings for arg in ("-c", f"{key}={value}")]
        if self.top is not None and "GIT_WORK_TREE" not in os.environ and "GIT_DIR" not in os.environ:
            self._options.append(f"--work-tree={self.top}")  # a core.worktree cannot point git elsewhere
        self._env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_ATTR_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
                     "GIT_PAGER": "cat", "GIT_NO_LAZY_FETCH": "1"}
        self._filters: list[str] | None = None

    def run(self, args: Iterable[str], stdin: bytes = b"", reads_tree: bool = False) -> subprocess.CompletedProcess[bytes]:
        """``git ARGS`` in ``cwd``; ``reads_tree``: the command reads the work tree (diff, ls-files), so its
        special files are checked first and filters switched off, and it gets ``TREE_TIMEOUT_S`` rather than
        ``QUICK_TIMEOUT_S``."""
        options = list(self._options)
        timeout = QUICK_TIMEOUT_S
        if reads_tree:
            found = git_top(self.cwd)
            if found is not None:
                check_git_inputs(*found)
            options += [arg for name in self.filters() for key in _FILTER_KEYS
                        for arg in ("-c", f"filter.{name}.{key}=")]
            timeout = TREE_TIMEOUT_S
        return self._run([*options, *args], stdin, timeout)

    def filters(self) -> list[str]:
        """Every filter driver some config defines: a repository's ``.gitattributes`` may send any file
        through any of them, so each has its commands emptied (git then runs none)."""
        if self._filters is None:
            listed = self._run([*self._options, "config", "-z", "--get-regexp", r"^filter\."], b"", QUICK_TIMEOUT_S)
            names = set()
            for item in filter(None, listed.stdout.split(b"\0")):
                key = os.fsdecode(item.split(b"\n", 1)[0])
                name, _, setting = key[len("filter."):].rpartition(".")
                if name and setting in (*_FILTER_KEYS, "required"):
                    names.add(name)
            self._filters = sorted(names)
        return self._filters

    def _run(self, args: list[str], stdin: bytes, timeout: float) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(["git", "--no-pager", *args], cwd=self.cwd, input=stdin, capture_output=True,
                                  env=self._env, timeout=timeout)
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH",
                           hint="install git to use --staged / --diff-base") from None
        except NotADirectoryError:
            raise GitError(f"{self.cwd} is not a directory", hint="pass the repository folder") from None
        except subprocess.TimeoutExpired:
            shown = " ".join(a for a in args if not a.startswith(("-c", "--work-tree")) and "=" not in a)
            raise GitError(f"git {shown} did not finish within {timeout:.0f} s in {self.cwd}",
                           hint="a FIFO or device among the files git reads (.git/config's include.path, "
                                ".git/ contents) blocks it: remove it; or run codelens without --staged / "
                                "--diff-base") from None


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


def _binary_path(sides: str) -> str | None:
    """The new-side path of ``OLD and NEW`` in a ``Binary files OLD and NEW differ`` line."""
    half = (len(sides) - 5) // 2
    old, new = sides[:half], sides[half + 5:]
    if sides[half:half + 5] == " and " and old.replace("a/", "b/", 1) == new:  # one path: no ambiguity
        return _header_path(new)
    match = _BINARY.match(f"Binary files {sides} differ")  # a rename or an added file
    return _header_path(match.group(1)) if match else None


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
        elif in_header and line.startswith("Binary files ") and line.endswith(" differ"):
            # no hunks to read (a -diff / binary attribute, `*.py -diff` included): the whole file counts
            path = _binary_path(line[len("Binary files "):-len(" differ")])
            if path is not None:
                changed[path] = None
        elif line.startswith("@@"):
            in_header = False
            lines = changed.get(current) if current is not None else None
            match = _HUNK.match(line)
            if lines is None or match is None:
                continue
            start, count = int(match.group(1)), int(match.group(2) or 1)
            lines.update(range(start, start + count) if count else {max(start, 1), start + 1})
    return changed


def _resolve(git: Git, rev: str) -> str | None:
    result = git.run(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"])
    return result.stdout.decode().strip() if result.returncode == 0 else None


def _base(git: Git, root: Path, diff_base: str | None) -> str:
    """The commit (or the empty tree, before the first commit) the changes are measured from."""
    head = _resolve(git, "HEAD")
    if diff_base is None:
        if head is not None:
            return head
        empty = git.run(["hash-object", "-t", "tree", "--stdin"])
        return empty.stdout.decode().strip()
    if diff_base.startswith("-") or _resolve(git, diff_base) is None:
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
    result = git.run(["merge-base", diff_base, "HEAD"])
    if result.returncode != 0:
        raise CodelensError(
            f"{diff_base!r} and HEAD have no common ancestor in {root}",
            hint="fetch more history (`git fetch --unshallow`) or pass a revision on this branch's history",
        )
    return result.stdout.decode().strip()


def changed_lines(root: str | os.PathLike, diff_base: str | None, staged: bool) -> ChangedLines:
    """Changed lines per file under ``root`` (see the module docstring for what each mode compares)."""
    root = Path(root)
    not_a_work_tree = CodelensError(
        f"{root} is not inside a git work tree",
        hint="run codelens in a git repository, or drop --staged / --diff-base to scan every file",
    )
    if not root.is_dir():
        raise not_a_work_tree
    git = Git(root)
    inside = git.run(["rev-parse", "--is-inside-work-tree"])
    if inside.returncode != 0 or inside.stdout.strip() != b"true":
        raise not_a_work_tree
    base = _base(git, root, diff_base)
    args = [*_DIFF_ARGS, *(["--cached"] if staged else []), base, "--"]
    result = git.run(args, reads_tree=True)
    if result.returncode != 0:
        raise CodelensError(f"git diff failed in {root}: {_stderr(result)}", hint="check `git status` there")
    changed = parse_diff(result.stdout.decode("utf-8", "surrogateescape"))
    if not staged:
        untracked = git.run(["ls-files", "--others", "--exclude-standard", "-z"], reads_tree=True)
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
