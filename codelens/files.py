"""The two chokepoints of codelens's file access: bounded reads of untrusted files, and guarded writes.

**Reading** (``read_bounded``): everything codelens reads from a scanned repository besides source code
(config, ignore files, baselines, an adapter's codelens.json) is opened without blocking and checked on the
open descriptor: a FIFO or device named like a config file would hang a plain read or fill the memory
(``/dev/zero``), so anything that is not a regular file, or is larger than the reader's limit, is a
``FileReadError`` naming the file.

**Writing** (``write_guarded``): every file codelens writes goes through one guard, whatever the command:

- **inside the repository, or where the user said**: a target whose path lies inside the project root must
  stay inside it once symbolic links are resolved (a committed ``reports -> ~/.ssh`` link cannot redirect
  ``--output reports/x``); a path outside the root is written only when the user named it (command line or
  their own config);
- **never through a link**: a target that is a symbolic link is refused, never written through;
- **never into ``.git/``** (the hook installer alone may write there, and only into the hooks folder);
- **never onto a file codelens did not write**, unless the caller says so (``--force``, or ``docstring
  --write`` for the source files it edits): codelens keeps a ledger of the files it wrote (a digest of each
  file's path and contents, in the user's cache folder, out of the repository's reach), and a caller may
  also recognise its own format (a baseline, the hook's marker line);
- **never a device, FIFO or socket**, and never a read-only file (its mode says "do not change me");
- **atomic**: a temporary file in the same folder, fsynced, renamed over the target; the target keeps its
  permission bits (a new file gets 0666 less the umask, not the temporary file's 0600).

``os.devnull`` as a target discards the data (``--output /dev/null``): it is never replaced.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

from codelens.errors import CodelensError

CONFIG_LIMIT = 1 << 20
"""Most bytes read from a config or ignore file (1 MiB: a real one is a few KiB)."""
LEDGER_FOLDER = "written"
"""The ledger of files codelens wrote, under ``user_cache_dir()``."""


class FileReadError(CodelensError):
    """An untrusted file that cannot be read safely; ``reason`` is missing, not-a-file, too-large or unreadable."""

    def __init__(self, message: str, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.reason = reason


class WriteRefused(CodelensError):
    """A write the guard does not allow (or that failed): nothing was changed."""


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path``, symbolic links resolved, is ``root`` or below it (where codelens may read or
    write on behalf of an untrusted repository)."""
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return False
    return True


def user_cache_dir() -> Path:
    """The user's own codelens folder for machine-local state: the written-files ledger and the result
    cache's key. ``$CODELENS_CACHE_HOME`` if set, else ``$XDG_CACHE_HOME/codelens``, else ``~/.cache/codelens``;
    from the environment, never from a repository."""
    explicit = os.environ.get("CODELENS_CACHE_HOME")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "codelens"


# ---------------------------------------------------------------------------------------------------- reading

def read_bounded(path: str | os.PathLike, limit: int = CONFIG_LIMIT, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, read without blocking; a ``FileReadError``
    naming ``what`` and the file otherwise (missing, not a regular file, too large, unreadable)."""
    name = f"{what} {path}"
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileReadError(f"{name} does not exist", "missing") from None
    except OSError as exc:
        raise FileReadError(f"{name} cannot be read: {exc.strerror or exc}", "unreadable") from None
    if not stat.S_ISREG(info.st_mode):  # refused before opening: opening some devices has effects
        raise _not_a_file(name)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise FileReadError(f"{name} cannot be read: {exc.strerror or exc}", "unreadable") from None
    try:
        info = os.fstat(fd)  # what was opened, not what was looked at: the name may have been swapped
        if not stat.S_ISREG(info.st_mode):
            raise _not_a_file(name)
        if info.st_size > limit:
            raise _too_large(name, limit)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise FileReadError(f"{name} cannot be read: {exc.strerror or exc}", "unreadable") from None
    finally:
        os.close(fd)
    if size > limit:  # it grew after fstat
        raise _too_large(name, limit)
    return b"".join(chunks)


def read_text_bounded(path: str | os.PathLike, limit: int = CONFIG_LIMIT, what: str = "file") -> str:
    """``read_bounded`` decoded as UTF-8 (a ``FileReadError`` when it is not)."""
    data = read_bounded(path, limit, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileReadError(f"{what} {path} is not UTF-8 text ({exc.reason} at byte {exc.start})", "unreadable",
                            hint="save it as UTF-8") from None


def _not_a_file(name: str) -> FileReadError:
    return FileReadError(f"{name} is not a regular file (a pipe, socket, device or folder)", "not-a-file",
                         hint="replace it with a regular file, or remove it")


def _too_large(name: str, limit: int) -> FileReadError:
    return FileReadError(f"{name} is larger than {limit:,} bytes", "too-large", hint="a real one is far smaller")


# ---------------------------------------------------------------------------------------------------- writing

def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _ledger_entry(target: Path) -> Path:
    return user_cache_dir() / LEDGER_FOLDER / hashlib.sha256(os.fsencode(target)).hexdigest()[:40]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record(target: Path, data: bytes) -> None:
    """Note in the ledger that codelens wrote ``data`` to ``target``; losing a note only costs a --force."""
    entry = _ledger_entry(target)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".entry.", dir=entry.parent)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(_digest(data))
        os.replace(tmp, entry)
    except OSError:
        pass  # a read-only home: the next write over this file will need --force


def _ledger_says_ours(target: Path, current: bytes) -> bool:
    try:
        recorded = read_bounded(_ledger_entry(target), 256, "ledger entry").decode("ascii", "replace").strip()
    except FileReadError:
        return False
    return recorded == _digest(current)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _in_git_dir(real: Path) -> bool:
    return any(part.casefold() == ".git" for part in real.parts)


def guard_target(path: str | os.PathLike, *, root: str | os.PathLike | None, named_by_user: bool,
                 into_git: bool = False) -> Path:
    """Where a write of ``path`` would land (its folder resolved, its own name kept), or ``WriteRefused`` when
    the guard forbids it: a link, a path inside ``root`` that links lead out of, a path outside ``root``
    the user did not name, a place in ``.git/`` (unless ``into_git``), or something that is not a file."""
    given = Path(os.path.abspath(path))
    if not given.name or given.name in (".", ".."):
        raise WriteRefused(f"{path} is not a file name", hint="name a file to write")
    real = Path(os.path.realpath(given.parent)) / given.name
    if root is not None:
        root_abs, root_real = Path(os.path.abspath(root)), Path(os.path.realpath(root))
        if _inside(given, root_abs) or _inside(real, root_real):
            if not _inside(real, root_real):
                raise WriteRefused(f"{path} leads outside the repository ({root_real}) through a symbolic link",
                                   hint="write somewhere else, or remove the link")
        elif not named_by_user:
            raise WriteRefused(f"{path} is outside the repository ({root_real})",
                               hint="name the path on the command line to write there")
    if _in_git_dir(real) and not into_git:
        raise WriteRefused(f"{path} is inside a .git folder, which codelens never writes",
                           hint="choose a path outside .git/")
    try:
        info = os.lstat(real)
    except (FileNotFoundError, NotADirectoryError):
        return real  # a new file (creating its folder may still fail, with its own message)
    except OSError as exc:
        raise WriteRefused(f"cannot look at {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        raise WriteRefused(f"{path} is a symbolic link; codelens does not write through links",
                           hint="remove the link, or write somewhere else")
    if not stat.S_ISREG(info.st_mode):
        raise WriteRefused(f"{path} is not a regular file (a folder, pipe, socket or device)",
                           hint="choose a file name")
    if not info.st_mode & 0o222 or not os.access(real, os.W_OK):
        raise WriteRefused(f"{path} is read-only", hint="make it writable (chmod u+w) to let codelens replace it")
    return real


def written_by_codelens(path: str | os.PathLike, ours: Callable[[bytes], bool] | None = None) -> bool:
    """Whether the regular file at ``path`` is one codelens wrote: its contents are what the ledger recorded
    for it, or ``ours`` recognises them."""
    target = Path(os.path.realpath(Path(path).parent)) / Path(path).name
    try:
        current = read_bounded(target, 1 << 30, "file")
    except FileReadError:
        return False
    return _ledger_says_ours(target, current) or (ours is not None and ours(current))


def check_write(path: str | os.PathLike, *, root: str | os.PathLike | None, named_by_user: bool,
                force: bool = False, ours: Callable[[bytes], bool] | None = None, into_git: bool = False) -> Path:
    """``guard_target``, and a ``WriteRefused`` for an existing file codelens did not write (unless ``force``):
    what ``write_guarded`` checks, for a command to ask before it does the work whose result it writes."""
    if os.path.abspath(path) == os.devnull:
        return Path(os.devnull)
    target = guard_target(path, root=root, named_by_user=named_by_user, into_git=into_git)
    if os.path.lexists(target) and not force and not written_by_codelens(target, ours):
        raise WriteRefused(f"{path} already exists and was not written by codelens",
                           hint="pass --force to replace it, or choose another path")
    return target


def write_guarded(path: str | os.PathLike, data: bytes, *, root: str | os.PathLike | None, named_by_user: bool,
                  force: bool = False, ours: Callable[[bytes], bool] | None = None, into_git: bool = False,
                  mode: int | None = None, what: str = "file") -> Path:
    """Write ``data`` to ``path`` under the guard's rules (the module docstring); returns the file written.

    ``root``: the repository the write is for (None: no repository involved). ``named_by_user``: the path
    came from the command line or the user's own config, so it may lie outside ``root``. ``force``: an
    existing file codelens did not write may be replaced. ``ours``: recognises a file of this kind that
    codelens wrote (its format), besides the ledger. ``mode``: permission bits to set (default: the target's,
    else 0666 less the umask). A ``WriteRefused`` error leaves everything as it was.
    """
    if os.path.abspath(path) == os.devnull:
        return Path(os.devnull)  # "discard the output": the device itself is never replaced
    target = check_write(path, root=root, named_by_user=named_by_user, force=force, ours=ours, into_git=into_git)
    exists = os.path.lexists(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode is None:
            mode = stat.S_IMODE(os.lstat(target).st_mode) if exists else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, target)  # replaces the name: a link swapped in meanwhile is replaced, not followed
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise WriteRefused(f"cannot write the {what} {path}: {exc.strerror or exc}",
                           hint="choose a writable path") from exc
    _record(target, data)
    return target


def write_output(path: str | os.PathLike, text: str, *, root: str | os.PathLike | None, force: bool = False) -> Path:
    """What a command writes to its ``--output`` (a report of any format, evaluation scores), as UTF-8,
    through the guard: the one entry point for ``--output``, so every format gets the same rules. The path
    came from the command line, so it may lie outside the repository ``root``."""
    return write_guarded(path, text.encode("utf-8"), root=root, named_by_user=True, force=force, what="output file")


def check_output(path: str | os.PathLike, *, root: str | os.PathLike | None, force: bool = False) -> Path:
    """``write_output``'s checks alone, before the work whose result it writes (a refusal costs no scan)."""
    return check_write(path, root=root, named_by_user=True, force=force)
