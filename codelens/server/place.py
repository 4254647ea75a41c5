"""Where a user's background server lives, which build it serves, and who may talk to it.

One server per user and per build of codelens: the socket sits in a private folder (mode 0700, owned by
the user) under ``$XDG_RUNTIME_DIR`` (a per-login tmpfs the system already keeps private), else the
user's cache folder, and its name carries the build's identity, so two checkouts or versions of codelens
never share a server. Both ends check the other's uid with ``SO_PEERCRED``: a socket file's permissions
alone are not a check every system honours.
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from codelens import __version__
from codelens.errors import CodelensError
from codelens.files import user_cache_dir

PROTOCOL = 1
"""Version of the wire protocol (``codelens.server.protocol``). The frame format and the ``hello`` and
``stop`` requests never change, so any client can ask any server who it is and stop it."""
SOCKET_PATH_MAX = 107
"""Longest AF_UNIX socket path Linux accepts (sun_path is 108 bytes with its NUL)."""


class ServerError(CodelensError):
    """The background server cannot be used: not supported here, a folder that is not private, no answer,
    a protocol error. A scan that meets it runs the model in its own process instead."""


@dataclass(frozen=True)
class ServerPlace:
    """The files of one build's server in the user's private folder."""

    folder: Path
    """The private folder (0700, the user's own)."""
    build: str
    """The build identity (``build_identity``) the server's files are named by."""

    @property
    def socket(self) -> Path:
        return self.folder / f"server-{self.build[:16]}.sock"

    @property
    def lock(self) -> Path:
        """Held (flock) by the running server for its whole life: a second one for this build cannot start,
        and a socket file without a holder is stale."""
        return self.folder / f"server-{self.build[:16]}.lock"

    @property
    def log(self) -> Path:
        """What the server logs (start, stop, models loaded, errors with tracebacks)."""
        return self.folder / f"server-{self.build[:16]}.log"


def supported() -> str | None:
    """None where the server can run; else why not (it needs Unix sockets with peer credentials: Linux)."""
    if not hasattr(socket, "AF_UNIX") or not hasattr(socket, "SO_PEERCRED"):
        return f"the background server needs Unix sockets with peer credentials (Linux), not {sys.platform}"
    return None


def build_identity() -> str:
    """sha256 over this codelens' version, the interpreter and environment running it, and the path and
    contents of every source file of the package: another checkout, an edited file, an upgrade or another
    virtual environment (another torch) is another build, while a checkout that only touched its files is
    not. About 1 MB read: milliseconds, paid only by a scan that has functions to run."""
    import codelens

    package = Path(codelens.__file__).resolve().parent
    digest = hashlib.sha256(f"{__version__}\0{PROTOCOL}\0{sys.prefix}\0{sys.executable}\0{package}\0".encode())
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "_models"))
        for name in sorted(files):
            if name.endswith((".py", ".md")):
                path = os.path.join(folder, name)
                with open(path, "rb") as handle:
                    content = handle.read()
                digest.update(f"{os.path.relpath(path, package)}\0{len(content)}\0".encode())
                digest.update(content)
    return digest.hexdigest()


def candidate_folders() -> list[Path]:
    """Where the private folder may go, best first: the login's runtime folder, the user's codelens folder
(``codelens.files.user_cache_dir``), /tmp."""
    found = []
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        found.append(Path(runtime) / "codelens")
    found.append(user_cache_dir() / "server")
    found.append(Path("/tmp") / f"codelens-{os.getuid()}")
    return found


def default_folder(build: str) -> Path:
    """The first candidate folder (``candidate_folders``) where this build's socket path fits; nothing is
    created. Raises ServerError."""
    for candidate in candidate_folders():
        if len(os.fsencode(ServerPlace(candidate, build).socket)) <= SOCKET_PATH_MAX:
            return candidate
    raise ServerError("no folder for the server's socket has a path short enough for a Unix socket",
                      hint="set XDG_RUNTIME_DIR to a short private folder, or scan with --server off")


def server_place(build: str | None = None, folder: Path | None = None) -> ServerPlace:
    """The place of this build's server (in ``folder``, else ``default_folder``), its folder created and
    checked private. Raises ServerError."""
    reason = supported()
    if reason is not None:
        raise ServerError(reason, hint="scan with --server off")
    build = build or build_identity()
    return ServerPlace(private_folder(Path(folder) if folder is not None else default_folder(build)), build)


def private_folder(folder: Path) -> Path:
    """``folder``, created with mode 0700 if missing; a ServerError unless it is a real folder (not a link),
    owned by this user and closed to everyone else: anyone who could write there could stand in for
    the server."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError as exc:
        raise ServerError(f"cannot create the server's folder {folder}: {exc.strerror or exc}",
                          hint="check its parent's permissions, or scan with --server off") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise ServerError(f"{folder} is not a folder (a link or a file stands there)",
                          hint="remove it; codelens creates the folder itself")
    if info.st_uid != os.getuid():
        raise ServerError(f"{folder} belongs to another user (uid {info.st_uid})",
                          hint="remove it or set XDG_RUNTIME_DIR to a folder of your own")
    if info.st_mode & 0o077:
        raise ServerError(f"{folder} is open to other users (mode {stat.S_IMODE(info.st_mode):o})",
                          hint=f"make it private with `chmod 700 {folder}`")
    return folder


def peer_uid(connection: socket.socket) -> int:
    """The uid of the process at the other end of a connected Unix socket, from the kernel."""
    data = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", data)
    return uid


def folder_stamp(path: str) -> str:
    """Names, sizes and modification times of the files of a local model folder (first level), hashed: a
    base rebuilt in place is loaded again. "" for a hub id."""
    if not os.path.isdir(path):
        return ""
    digest = hashlib.sha256()
    with os.scandir(path) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.is_file():
                info = entry.stat()
                digest.update(f"{entry.name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:16]
