"""A scan's side of the background server: find it, start it, and hand it the functions the cache lacks.

``ServerScorer`` is a ``Scorer`` for ``engine.analyse``: it sends the cache's misses to the user's
server and hands each batch it gets back to the engine, as ``LocalScorer`` would. It never imports
torch: a warm hook pays for parsing and the cache, not for loading a model. Whatever goes wrong with
the server (none runs and none may be started, it is busy, it does not answer within
``READ_TIMEOUT_S``, it dies mid-request, it speaks another protocol or build) the same functions run
in this process instead, with a note for the scan's warnings; a server that dies mid-request costs
the functions it had not returned, which run here as one whole request, so every result is still
the one a scan without the server computes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from codelens import __version__
from codelens.server.place import (
    PROTOCOL,
    ServerError,
    ServerPlace,
    build_identity,
    default_folder,
    folder_stamp,
    peer_uid,
    private_folder,
    server_place,
    supported,
)
from codelens.server.protocol import ProtocolError, decode_batch, encode_functions, receive, send

if TYPE_CHECKING:
    from codelens.config import ScanConfig
    from codelens.engine.runner import EngineSettings
    from codelens.model.forward import ScoredBatch

CONNECT_TIMEOUT_S = 2.0
"""Longest wait to connect and for the server's ``hello``."""
READ_TIMEOUT_S = 20.0
"""Longest silence from a server running a request (it sends ``alive`` every second) before the scan
gives up on it and runs the model itself."""
START_TIMEOUT_S = 30.0
"""Longest wait for a server just started to listen (it listens before it imports torch)."""
HOOK_VARIABLES = ("PRE_COMMIT", "CODELENS_HOOK")
"""Set to 1 in a git hook: by the pre-commit framework, and by the hook `codelens hook install` writes."""


def in_hook() -> bool:
    """Whether this process runs inside a git pre-commit hook (see ``HOOK_VARIABLES``)."""
    return any(os.environ.get(name) == "1" for name in HOOK_VARIABLES)


def connect(place: ServerPlace, timeout: float = CONNECT_TIMEOUT_S) -> tuple[socket.socket, dict] | None:
    """A connection to the server at ``place`` after the ``hello`` exchange, and the server's identity;
    None when no server listens there (no socket file, or a stale one). Raises ServerError when one
    answers wrongly: another user's process, or no hello."""
    if not os.path.lexists(place.socket):
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(timeout)
    try:
        connection.connect(str(place.socket))
    except (FileNotFoundError, ConnectionRefusedError):
        connection.close()
        return None  # a socket file without a server: what a crash leaves
    except OSError as exc:
        connection.close()
        raise ServerError(f"cannot connect to the server at {place.socket}: {exc.strerror or exc}") from exc
    try:
        uid = peer_uid(connection)
        if uid != os.getuid():
            raise ServerError(f"the socket {place.socket} is held by another user's process (uid {uid})",
                              hint=f"remove {place.folder} and check who can write to its parent")
        send(connection, {"op": "hello", "protocol": PROTOCOL, "codelens": __version__, "build": place.build})
        identity = receive(connection)
        if identity["op"] != "hello":
            raise ProtocolError(f"the server answered hello with {identity['op']!r}")
    except (OSError, ServerError) as exc:
        connection.close()
        if isinstance(exc, ServerError):
            raise
        raise ServerError(f"the server at {place.socket} did not answer: {_reason(exc)}") from exc
    return connection, identity


def compatible(identity: dict, place: ServerPlace) -> bool:
    """Whether a server's ``hello`` says it runs this protocol and this very build of codelens."""
    return identity.get("protocol") == PROTOCOL and identity.get("build") == place.build


def server_status(place: ServerPlace) -> dict | None:
    """The ``hello`` of the server at ``place`` (its pid, models, idle time, build), or None when none runs."""
    found = connect(place)
    if found is None:
        return None
    connection, identity = found
    connection.close()
    return identity


def stop_server(place: ServerPlace, wait_s: float = 10.0) -> dict | None:
    """Ask the server at ``place`` to stop (a server of any build understands it) and wait until its socket
    is gone; its ``hello``, or None when none was running. Raises ServerError when it does not stop."""
    found = connect(place)
    if found is None:
        return None
    connection, identity = found
    try:
        send(connection, {"op": "stop"})
        receive(connection)
    except (OSError, ServerError) as exc:
        raise ServerError(f"the server (pid {identity.get('pid')}) did not take the stop request: {_reason(exc)}",
                          hint=f"end it with `kill {identity.get('pid')}`") from exc
    finally:
        connection.close()
    deadline = time.monotonic() + wait_s
    while os.path.lexists(place.socket) and time.monotonic() < deadline:
        time.sleep(0.05)
    if os.path.lexists(place.socket) and connect(place) is not None:
        raise ServerError(f"the server (pid {identity.get('pid')}) is still running after {wait_s:.0f} s",
                          hint=f"end it with `kill {identity.get('pid')}`")
    return identity


def start_server(place: ServerPlace, idle_minutes: float) -> dict:
    """Start this build's server, detached, unless one runs; its ``hello`` once it listens. Raises ServerError."""
    found = connect(place)
    if found is not None:
        found[0].close()
        return found[1]
    process = _spawn(place, idle_minutes)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        found = connect(place)
        if found is not None:
            found[0].close()
            return found[1]
        # 0: another scan's server won the race (its socket appears soon); else it failed: see its log
        if process.poll() not in (None, 0):
            break
        time.sleep(0.05)
    tail = _log_tail(place)
    status = process.poll()
    what = f"exited with status {status}" if status not in (None, 0) else f"did not listen within {START_TIMEOUT_S:.0f} s"
    raise ServerError(f"the background server {what}" + (f": {tail}" if tail else ""),
                      hint=f"see {place.log}, or scan with --server off")


_STARTED: list = []
"""The servers this process started, kept so that their ``Popen`` is never collected (and reaped) early."""


def _spawn(place: ServerPlace, idle_minutes: float):
    """The server's process, detached: its own session, no descriptor of ours but stdin and stdout on
    /dev/null and stderr into its log. A pre-commit hook reads its command's output to the end: a child
    holding those pipes (or any other of our descriptors) would keep the commit waiting for half an hour."""
    import subprocess

    if not sys.executable:
        raise ServerError("cannot tell which Python runs codelens, to start the server with it",
                          hint="scan with --server off")
    # -P: the folder a hook runs in (the scanned repository) is not put on the server's import path.
    argv = [sys.executable, "-P", "-m", "codelens.server", "--idle-minutes", repr(float(idle_minutes)),
            "--folder", str(place.folder), "--build", place.build]
    # One server serves every repository: none of one repository's git variables (GIT_DIR, GIT_INDEX_FILE).
    env = {name: value for name, value in os.environ.items() if not name.startswith("GIT_")}
    try:
        log = os.open(place.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                       close_fds=True, start_new_session=True, cwd="/", env=env)
        finally:
            os.close(log)
    except OSError as exc:
        raise ServerError(f"cannot start the background server: {exc.strerror or exc}",
                          hint="scan with --server off") from exc
    _STARTED.append(process)
    return process


def _talk(operation, connection: socket.socket, *args):
    """``operation(connection, *args)`` (send or receive) with a socket's failure as a ServerError."""
    try:
        return operation(connection, *args)
    except OSError as exc:  # timeouts, resets, a closed connection
        raise ServerError(f"the server stopped answering mid-request: {_reason(exc)}") from exc


def _log_tail(place: ServerPlace) -> str:
    with contextlib.suppress(OSError):
        lines = place.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return lines[-1][-300:] if lines else ""
    return ""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ServerError):
        return exc.message
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


class ServerScorer:
    """``Scorer`` for ``engine.analyse`` through the user's background server (see the module docstring).

    ``loaded`` is the scan's ``LazyModel``: its identity is what the server's model must match, and it is
    loaded here only when the functions run in this process. ``start`` lets it start a server when none
    runs. Nothing is contacted until the first call: a scan the cache answers never connects.
    """

    def __init__(self, spec, loaded, settings: "EngineSettings", start: bool, idle_minutes: float,
                 place: ServerPlace | None = None) -> None:
        self.spec, self.loaded, self.settings = spec, loaded, settings
        self.start, self.idle_minutes, self.place = start, idle_minutes, place
        self.notes: list[str] = []
        """Why the server was not used, for the scan's warnings (nothing when none runs and none may start)."""
        self.computed = 0
        """Functions whose results came from the server (kept also when it failed later in the request)."""
        self._given_up = False
        self._build = ""

    def __call__(self, functions: dict, summarise: set[str], on_batch: Callable[["ScoredBatch"], None]) -> None:
        if not functions:
            return
        delivered: set[str] = set()
        if not self._given_up:
            try:
                if self._remote(functions, summarise, on_batch, delivered):
                    return
            except ServerError as exc:
                self._given_up = True  # the context pass of the same scan does not wait for it again
                kept = f" ({len(delivered)} function(s) it had returned are kept)" if delivered else ""
                self.notes.append(f"background server not used: {exc.message}{kept}; the model ran in this process")
            finally:
                self.computed += len(delivered)
        self._local(functions, summarise, on_batch, delivered)

    def close(self) -> None:
        """Nothing to release: every request has its own connection (the ``Scorer`` users' protocol)."""

    def _place(self) -> ServerPlace | None:
        if self.place is not None:
            return self.place
        if supported() is not None and not self.start:
            return None
        self._build = self._build or build_identity()
        if self.start:
            self.place = server_place(self._build)
            return self.place
        place = ServerPlace(default_folder(self._build), self._build)
        if not os.path.lexists(place.socket):
            return None  # none runs, and this scan may not start one: no folder is created
        private_folder(place.folder)  # a socket in a folder others could write to is not trusted
        self.place = place
        return place

    def _remote(self, functions: dict, summarise: set[str], on_batch, delivered: set[str]) -> bool:
        """Run ``functions`` on the server; False when none runs and none may be started."""
        place = self._place()
        if place is None:
            return False
        found = connect(place)
        if found is None:
            if not self.start:
                return False
            start_server(place, self.idle_minutes)
            found = connect(place)
            if found is None:
                raise ServerError("the server started but stopped answering")
        connection, identity = found
        try:
            if not compatible(identity, place):
                raise ServerError(f"the server at {place.socket} runs another codelens (version "
                                  f"{identity.get('codelens')}, build {str(identity.get('build'))[:12]})")
            self._exchange(connection, functions, summarise, on_batch, delivered)
        finally:
            connection.close()
        return True

    def _exchange(self, connection: socket.socket, functions: dict, summarise: set[str], on_batch,
                  delivered: set[str]) -> None:
        loaded = self.loaded
        request = {"op": "score", "model": self._model_fields(), "functions": encode_functions(functions),
                   "expect": {"adapter_hash": loaded.adapter_hash, "base_fingerprint": loaded.base_fingerprint,
                              "model_given": loaded.model_given, "device": loaded.device_name,
                              "dtype": loaded.dtype_name, "quantize": str(loaded.quantize),
                              "base_stamp": folder_stamp(loaded.model_id)},
                   "settings": {"token_budget": self.settings.token_budget, "max_batch": self.settings.max_batch,
                                "threads": self.settings.threads},
                   "summarise": sorted(k for k in functions if k in summarise)}
        connection.settimeout(READ_TIMEOUT_S)
        _talk(send, connection, request)
        while True:
            message = _talk(receive, connection)
            if message["op"] == "alive":
                continue
            if message["op"] == "error":
                raise ServerError(f"the server answered: {message.get('message')}")
            if message["op"] == "done":
                if len(delivered) != len(functions):
                    raise ProtocolError(f"the server finished after {len(delivered)} of {len(functions)} functions")
                return
            if message["op"] != "batch":
                raise ProtocolError(f"unexpected {message['op']!r} from the server")
            batch = decode_batch(message)
            if any(key not in functions or key in delivered for key in batch.keys):
                raise ProtocolError("the server returned functions it was not asked for")
            # The engine's callback (results, cache, progress) is outside the socket's error handling: its
            # errors, and a Ctrl-C, are the scan's, not the server's.
            on_batch(batch)
            delivered.update(batch.keys)

    def _model_fields(self) -> dict:
        """The spec the server loads: folders as absolute paths (its working folder is not the scan's), the
        precision and device this scan's cache key names."""
        from codelens.engine.ray_scorer import portable_spec

        spec = portable_spec(self.spec, self.loaded.dtype_name, self.loaded.device_name)
        return {"model": spec.model, "adapter": spec.adapter, "device": spec.device,
                "quantize": str(spec.quantize), "dtype": str(spec.dtype)}

    def _local(self, functions: dict, summarise: set[str], on_batch, delivered: set[str]) -> None:
        """Run the functions in this process. After a server died mid-request every function runs again as
        one request (so each batch is the one a scan without the server runs, to the last digit), and only
        those the server had not returned go on to the engine."""
        from codelens.engine.runner import LocalScorer
        from codelens.model.forward import ScoredBatch

        def forward(batch: "ScoredBatch") -> None:
            kept = [i for i, key in enumerate(batch.keys) if key not in delivered]
            if len(kept) == len(batch.keys):
                on_batch(batch)
            elif kept:
                tokens = round(batch.tokens * len(kept) / len(batch.keys))
                on_batch(ScoredBatch([batch.keys[i] for i in kept], [batch.scored[i] for i in kept], tokens,
                                     batch.summarised))

        LocalScorer(self.loaded, self.settings)(functions, summarise, forward)


def server_scorer(config: "ScanConfig", loaded, settings: "EngineSettings") -> ServerScorer | None:
    """The scorer a scan uses to reach the background server, or None when this scan's model must run in
    its own process: ``server = "off"``; a model chosen by the scanned repository's config (the server
    loads only what the user's own settings name); ``trust_remote_code`` (no model's own code runs in
    the server); a model already loaded here."""
    from codelens.model.loading import LazyModel

    if config.server == "off" or config.trust_remote_code:
        return None
    if not isinstance(loaded, LazyModel) or loaded.is_loaded:
        return None
    if {"model", "adapter"} & set(config.repository_keys):
        return None
    start = config.server == "on" or in_hook()
    return ServerScorer(config.model_spec(), loaded, settings, start, config.server_idle_minutes)
