"""The background server: one process per user and build that keeps models loaded between scans.

    python -m codelens.server --idle-minutes 30     # what a scan or `codelens server start` runs, detached

It listens on a Unix socket in the user's private folder (``codelens.server.place``), answers only
connections whose peer has its own uid (``SO_PEERCRED``), and runs the model for the functions a scan's
cache lacks with ``LocalScorer``, the code a scan runs in its own process, so the results are the same.
Discovery, parsing, the cache, clone search and the findings stay in the scan. Requests are JSON data
(``codelens.server.protocol``); a model is loaded only by the spec a request names, and a scan sends a
spec only when the user's own settings chose the model (``codelens.server.client``). One model per
(model, adapter, device, dtype, quantisation) key, ``MAX_MODELS`` at most, the least recently used
dropped first. One request runs at a time; a second one is told the server is busy and runs in its own
process. The server exits after ``idle_minutes`` without a request, on ``codelens server stop`` and
on SIGTERM; a socket it leaves behind after a crash is recognised as stale by its free lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codelens import __version__
from codelens.errors import CodelensError
from codelens.server.place import PROTOCOL, ServerPlace, build_identity, folder_stamp, peer_uid
from codelens.server.protocol import ProtocolError, decode_functions, encode_batch, receive, send

logger = logging.getLogger("codelens.server")

MAX_MODELS = 2
"""Models kept loaded at once; loading a third drops the one used longest ago."""
HEARTBEAT_S = 1.0
"""While a request loads a model or runs, an ``alive`` message goes out this often: the client can tell a
slow model from a server that hangs."""
POLL_S = 0.5
"""How often the accept loop looks at the idle clock and the stop flag."""
REQUEST_TIMEOUT_S = 30.0
"""Longest wait for a client's next bytes, or for a client to take the server's: a stalled client never
holds the server."""
MODEL_FIELDS = ("model", "adapter", "device", "quantize", "dtype")
"""What a request may say about the model: the ``ModelSpec`` fields, never trust_remote_code."""
EXPECTED_FIELDS = ("adapter_hash", "base_fingerprint", "model_given", "device", "dtype", "quantize", "base_stamp")
"""What the client's result-cache key assumes about the model; the server checks its model against it."""


class ModelChanged(CodelensError):
    """The model the server loaded is not the one the client keys its cache by (an adapter retrained
    between the two reading it): the client runs the model itself."""


@dataclass
class _Entry:
    loaded: Any
    """The LoadedModel."""
    stamp: str
    """``folder_stamp`` of its base folder when it was loaded."""


class ModelServer:
    """The server's state and its accept loop (see the module docstring). ``owner`` is the uid allowed to
    connect (the process's own by default)."""

    def __init__(self, place: ServerPlace, idle_minutes: float, owner: int | None = None) -> None:
        self.place = place
        self.idle_s = idle_minutes * 60.0
        self.idle_minutes = idle_minutes
        self.owner = os.getuid() if owner is None else owner
        self.build = build_identity()
        self.models: OrderedDict[tuple, _Entry] = OrderedDict()
        self.stopping = threading.Event()
        self.started = time.time()
        self.served = 0
        self._run = threading.Lock()  # one request runs the model at a time
        self._state = threading.Lock()
        self._active = 0
        self._last_used = time.monotonic()
        self._listener: socket.socket | None = None
        self._lock_fd: int | None = None

    # -- life --------------------------------------------------------------------------------------------

    def bind(self) -> bool:
        """Take the build's lock and listen on its socket; False when another server holds the lock."""
        fd = os.open(self.place.lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        # The lock is ours, so nothing listens on a socket file left here: a crashed server's.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.place.socket)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        umask = os.umask(0o177)  # the socket file is the user's alone, inside a folder that is too
        try:
            listener.bind(str(self.place.socket))
        finally:
            os.umask(umask)
        listener.listen(16)
        listener.settimeout(POLL_S)
        self._listener = listener
        logger.info("codelens %s server %d listening on %s (idle exit after %g min)", __version__, os.getpid(),
                    self.place.socket, self.idle_minutes)
        return True

    def serve_forever(self) -> None:
        """Accept connections until stopped or idle for ``idle_minutes``; then remove the socket."""
        try:
            while not self.stopping.is_set():
                try:
                    connection, _ = self._listener.accept()
                except TimeoutError:
                    if self._idle():
                        logger.info("idle for %g min: exiting", self.idle_minutes)
                        break
                    continue
                connection.settimeout(REQUEST_TIMEOUT_S)
                with self._state:
                    self._active += 1
                threading.Thread(target=self._handle, args=(connection,), daemon=True).start()
        finally:
            self.close()

    def close(self) -> None:
        """Stop listening, remove the socket, release the lock (in that order: while the lock is held no other
        server can have bound the path). A request still running loses its connection."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.place.socket)
            logger.info("server %d stopped after %d request(s)", os.getpid(), self.served)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _idle(self) -> bool:
        with self._state:
            return self._active == 0 and time.monotonic() - self._last_used >= self.idle_s

    # -- one connection ------------------------------------------------------------------------------------

    def identity(self) -> dict:
        """The ``hello`` answer: who this server is and what it holds (``codelens server status`` shows it)."""
        with self._state:
            idle = time.monotonic() - self._last_used
        return {"op": "hello", "protocol": PROTOCOL, "codelens": __version__, "build": self.build,
                "pid": os.getpid(), "python": sys.executable, "started": self.started,
                "idle_minutes": self.idle_minutes, "idle_s": round(idle, 1), "busy": self._run.locked(),
                "served": self.served, "log": str(self.place.log),
                "models": [{"model": e.loaded.model_id, "adapter_hash": e.loaded.adapter_hash[:12],
                            "device": e.loaded.device_name, "dtype": e.loaded.dtype_name,
                            "quantize": str(e.loaded.quantize)} for e in self.models.values()]}

    def _handle(self, connection: socket.socket) -> None:
        try:
            uid = peer_uid(connection)
            if uid != self.owner:
                logger.warning("refused a connection from uid %d (this server answers uid %d only)", uid, self.owner)
                return
            hello = receive(connection)
            if hello["op"] != "hello":
                send(connection, _error("protocol", f"expected hello, got {hello['op']!r}"))
                return
            send(connection, self.identity())
            same_build = hello.get("protocol") == PROTOCOL and hello.get("build") == self.build
            try:
                request = receive(connection)
            except ConnectionError:
                return  # `codelens server status` asks who we are and goes
            if request["op"] == "stop":
                send(connection, {"op": "stopping"})
                logger.info("stop requested")
                self.stopping.set()
            elif request["op"] != "score":
                send(connection, _error("protocol", f"unknown request {request['op']!r}"))
            elif not same_build:
                send(connection, _error("mismatch", f"this server runs another build of codelens ({__version__}, "
                                                    f"{self.build[:12]})"))
            else:
                self._score(connection, request)
        except (OSError, ProtocolError) as exc:
            logger.info("connection ended: %s", exc)
        finally:
            connection.close()
            with self._state:
                self._active -= 1
                self._last_used = time.monotonic()

    def _score(self, connection: socket.socket, request: dict) -> None:
        if not self._run.acquire(blocking=False):
            send(connection, _error("busy", "the server is running another scan's model"))
            return
        sender = _Sender(connection)
        try:
            with sender.heartbeat():
                try:
                    self._run_request(request, sender)
                except CodelensError as exc:
                    kind = ("changed" if isinstance(exc, ModelChanged) else
                            "protocol" if isinstance(exc, ProtocolError) else "model")
                    logger.info("request failed: %s", exc.message)
                    sender.send(_error(kind, exc.message, exc.hint))
                    return
                except OSError:
                    raise  # the client went away: nothing to tell it
                except Exception as exc:  # noqa: BLE001 - a bug here must cost one request, not the server
                    logger.error("request failed:\n%s", traceback.format_exc())
                    sender.send(_error("internal", f"{type(exc).__name__}: {exc}",
                                       f"the server's log is {self.place.log}"))
                    return
            sender.send({"op": "done"})
        finally:
            self.served += 1
            self._run.release()

    def _run_request(self, request: dict, sender: "_Sender") -> None:
        from codelens.engine.runner import EngineSettings, LocalScorer

        # The whole request is checked before anything is loaded.
        spec, expect = _model_request(request)
        settings = _settings(request.get("settings"))
        functions = decode_functions(request.get("functions"))
        summarise = request.get("summarise")
        if not isinstance(summarise, list) or not all(isinstance(k, str) for k in summarise):
            raise ProtocolError("'summarise' must be a list of function keys")
        loaded = self._model(spec, expect)
        LocalScorer(loaded, EngineSettings(**settings))(functions, set(summarise) & functions.keys(),
                                                         lambda batch: sender.send(encode_batch(batch)))

    def _model(self, spec, expect: dict):
        """The loaded model for ``spec``, loading it (again, when its adapter or base folder changed)."""
        from codelens.model.loading import load_model

        key = (spec.model, spec.adapter, spec.device, str(spec.quantize), str(spec.dtype))
        entry = self.models.get(key)
        if entry is not None and (entry.loaded.adapter_hash != expect["adapter_hash"]
                                  or entry.stamp != expect["base_stamp"]):
            del self.models[key]
            entry = None
        if entry is None:
            started = time.perf_counter()
            loaded = load_model(spec)
            entry = _Entry(loaded, folder_stamp(loaded.model_id))
            self.models[key] = entry
            while len(self.models) > MAX_MODELS:
                self.models.popitem(last=False)
            logger.info("loaded %s (adapter %s) on %s in %.1f s", loaded.model_id, loaded.adapter_hash[:12],
                        loaded.device_name, time.perf_counter() - started)
        self.models.move_to_end(key)
        loaded = entry.loaded
        have = {"adapter_hash": loaded.adapter_hash, "base_fingerprint": loaded.base_fingerprint,
                "model_given": loaded.model_given, "device": loaded.device_name, "dtype": loaded.dtype_name,
                "quantize": str(loaded.quantize), "base_stamp": entry.stamp}
        differ = sorted(name for name in EXPECTED_FIELDS if have[name] != expect[name])
        if differ:
            raise ModelChanged(f"the model loaded here differs from the scan's in {', '.join(differ)}")
        return loaded


class _Sender:
    """Frames to one client from two threads (results and heartbeats), one at a time."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self._lock = threading.Lock()

    def send(self, message: dict) -> None:
        with self._lock:
            send(self.connection, message)

    @contextlib.contextmanager
    def heartbeat(self) -> Iterator[None]:
        done = threading.Event()

        def beat() -> None:
            while not done.wait(HEARTBEAT_S):
                try:
                    self.send({"op": "alive"})
                except OSError:
                    return

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def _error(kind: str, message: str, hint: str | None = None) -> dict:
    return {"op": "error", "kind": kind, "message": message, "hint": hint}


def _model_request(request: dict):
    """(ModelSpec, expected identity) from a request, every value checked for its type."""
    from codelens.model.options import ModelSpec

    model, expect = request.get("model"), request.get("expect")
    if not isinstance(model, dict) or set(model) != set(MODEL_FIELDS):
        raise ProtocolError(f"'model' must name exactly {', '.join(MODEL_FIELDS)}")
    if not isinstance(expect, dict) or set(expect) != set(EXPECTED_FIELDS):
        raise ProtocolError(f"'expect' must name exactly {', '.join(EXPECTED_FIELDS)}")
    for name, value in (*model.items(), *expect.items()):
        if not (isinstance(value, str) or value is None and name in ("model", "adapter")):
            raise ProtocolError(f"{name!r} must be a string")
    # Never trust_remote_code: no model's own code runs in the server (a scan that needs it runs in-process).
    return ModelSpec(**model, trust_remote_code=False), expect


def _settings(settings: Any) -> dict:
    from codelens.config import MAX_JOBS

    limits = {"token_budget": (1, 1 << 24), "max_batch": (1, 1 << 16), "threads": (0, MAX_JOBS)}
    if not isinstance(settings, dict) or set(settings) != set(limits):
        raise ProtocolError(f"'settings' must name exactly {', '.join(limits)}")
    for name, (low, high) in limits.items():
        value = settings[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ProtocolError(f"{name} must be a whole number from {low} to {high}")
    return settings


def run_server(place: ServerPlace, idle_minutes: float) -> bool:
    """Serve until stopped or idle, in this process; False when this build's server already runs.
    SIGTERM and SIGINT stop it (from the main thread only, where Python delivers signals)."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # a background process never downloads: a scan that must runs in-process
    server = ModelServer(place, idle_minutes)
    if not server.bind():
        return False
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: server.stopping.set())
    server.serve_forever()
    return True


def main(argv: list[str] | None = None) -> int:
    """The detached server's entry point (``python -m codelens.server``): logs to the build's log file."""
    import argparse

    from codelens.server.place import ServerError, server_place

    parser = argparse.ArgumentParser(prog="python -m codelens.server", description=__doc__.splitlines()[0])
    parser.add_argument("--idle-minutes", type=float, required=True)
    parser.add_argument("--folder", type=Path, default=None, help="the private folder (default: chosen as a scan does)")
    parser.add_argument("--build", default=None, help="the build the starting scan runs (default: this one's)")
    args = parser.parse_args(argv)
    os.umask(0o077)
    os.chdir("/")  # hold no scanned repository's folder
    try:
        place = server_place(build=args.build, folder=args.folder)
    except ServerError as exc:
        print(f"codelens server: {exc}", file=sys.stderr)
        return 2
    _log_to(place.log)
    if place.build != build_identity():
        # The package changed between the scan that asked and this process (an upgrade, an edit): serve
        # under the asked-for name, and that scan's results would come from other code.
        logger.error("codelens changed on disk while the server started (build %s, asked for %s): not serving",
                     build_identity()[:12], place.build[:12])
        return 2
    try:
        if not run_server(place, args.idle_minutes):
            logger.info("another server of this build is running: nothing to do")
    except Exception:  # noqa: BLE001 - the detached process has no one else to tell
        logger.error("server crashed:\n%s", traceback.format_exc())
        return 3
    return 0


def _log_to(path: Path, keep_bytes: int = 1 << 20) -> None:
    """Log to ``path``, started afresh once it passes ``keep_bytes``."""
    with contextlib.suppress(OSError):
        if path.stat().st_size > keep_bytes:
            path.unlink()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
