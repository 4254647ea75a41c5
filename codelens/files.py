"""Writing a file so that no reader, crash or full disk ever sees half of it.

The new contents go to a temporary file in the same folder, which then replaces the target in one rename:
the old file stays whole until the new one is complete. The target keeps its permission bits (a new file
gets the usual ones, 0666 less the umask, not the temporary file's 0600), and a symbolic link is written
through to its target, so the link stays a link.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path``, symbolic links resolved, is ``root`` or below it (where codelens may read or
    write on behalf of an untrusted repository)."""
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return False
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Replace ``path``'s contents with ``data`` atomically; returns the file written (a link's target).

    Raises OSError (the target is left as it was) when the folder is not writable or the disk is full.
    """
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
