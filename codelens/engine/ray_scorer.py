"""A Scorer on a Ray cluster: the functions a scan's cache lacks, run by a pool of model workers.

    codelens scan ./repo --ray auto            # join the cluster this machine belongs to (`ray start`)
    codelens scan ./repo --ray 10.0.0.5:6379   # or another one

Discovery, parsing, the result cache and clone search stay in the scanning process (the driver). Each
worker is a Ray actor that loads the model once (one per GPU where the cluster has GPUs, else one per
node with all of its CPUs as torch threads) and scores chunks of functions with ``LocalScorer``, the
same code a local scan runs. A chunk is a few forward batches of functions of similar length, so the
worker batches them as the local engine would; chunks come back as they finish and go straight to the
engine's cache writer. Up to two chunks wait at each worker, so it never idles on a round trip. Work
starts once every worker has loaded its model (or ``START_TIMEOUT_S`` has passed), so the whole pool
shares a scan and is checked before any result is kept.

A worker whose process dies (killed, out of memory, its node lost) costs the chunks it held: they go
back in the queue for any worker, and the dead one is probed again (Ray restarts it up to
``MAX_RESTARTS`` times, reloading the model) before it gets more. A chunk that fails ``MAX_TRIES``
times, or an error raised by the model code itself, ends the scan with that error: a local scan would
have stopped there too. Ray is imported only here, and only when a scan asks for it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from codelens import __version__
from codelens.errors import CodelensError
from codelens.model.forward import ScoredBatch, plan_batches

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from codelens.engine.runner import EngineSettings
    from codelens.model.options import ModelSpec

CHUNK_BATCHES = 2
"""Forward batches' worth of functions in one chunk: what a lost worker costs, and how often results
come back. Chunk round trips are milliseconds; a batch of a 1B model on CPU is most of a minute."""
CHARS_PER_TOKEN = 3
"""Characters per prompt token, to size chunks before anything is tokenised (code runs 3-4)."""
IN_FLIGHT = 2
"""Chunks queued at one worker: one running, one waiting, so the worker never waits for the driver."""
MAX_TRIES = 3
"""Attempts of one chunk before the scan gives up on it (a function that kills every worker)."""
MAX_RESTARTS = 3
"""Times Ray restarts a worker whose process died."""
RESTART_PAUSE_S = 0.5
"""Pause before probing again a worker whose probe was lost to its death (Ray is restarting it)."""
START_TIMEOUT_S = 600.0
"""How long the workers have to load the model once started. Chunks wait until every worker has answered,
so none is left out of a scan the first one could finish alone; past this, the scan goes on with those that
answered (the others join when they do), and fails if none did."""
PROBE_TIMEOUT_S = 10.0
"""How long to try to reach a HOST:PORT address before saying nothing answers there."""
PASSED_ENVIRONMENT = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
"""Variables of the scanning process the workers get too: "no network" holds for them as well."""
RAY_HINT = "check the cluster with `ray status`, or scan without --ray"


class ModelWorker:
    """One model in one Ray worker process: loaded on first use, kept for every chunk after."""

    def __init__(self, spec: "ModelSpec", settings: "EngineSettings") -> None:
        self.spec, self.settings = spec, settings
        self.loaded = None

    def _load(self):
        if self.loaded is None:
            from codelens.model.loading import load_model

            self.loaded = load_model(self.spec)
        return self.loaded

    def identity(self) -> dict:
        """What the driver checks before it trusts this worker's results with its cache key."""
        import socket

        loaded = self._load()
        return {"codelens": __version__, "adapter_hash": loaded.adapter_hash,
                "base_fingerprint": loaded.base_fingerprint, "dtype": loaded.dtype_name,
                "quantize": str(loaded.quantize), "device": loaded.device_name, "host": socket.gethostname(),
                "pid": os.getpid()}

    def score(self, functions: dict, summarise: set[str]) -> list["ScoredBatch"]:
        """The chunk's finished batches, exactly as ``LocalScorer`` hands them over."""
        from codelens.engine.runner import LocalScorer

        batches: list = []
        LocalScorer(self._load(), self.settings)(functions, summarise, batches.append)
        return batches


def plan_chunks(functions: dict, summarise: set[str], token_budget: int, max_batch: int,
                workers: int, lengths: dict | None = None) -> list[list[str]]:
    """Keys of ``functions`` in chunks: functions of similar length, summarised or not, each about
    ``CHUNK_BATCHES`` forward batches, and at least two chunks per worker when there are functions enough.
    The costliest chunks come first, so the last to finish are short ones.

    With ``lengths`` (each function's prompt length in tokens) a chunk is a run of whole batches of the
    local engine's plan, its keys in their order here: the worker, planning the chunk the same greedy way,
    cuts it into exactly those batches, so every number matches a local scan's to the last digit (the
    rounding of a batched matmul depends on the batch). Without, lengths are estimated from characters.
    """
    if lengths is not None:
        return _whole_batch_chunks(functions, summarise, token_budget, max_batch, workers, lengths)
    most = max(1, min(CHUNK_BATCHES * max_batch, -(-len(functions) // (2 * max(1, workers)))))
    chunks: list[tuple[int, list[str]]] = []
    for summarising in (True, False):
        keys = [key for key in functions if (key in summarise) == summarising]
        sizes = [_characters(functions[key]) // CHARS_PER_TOKEN + 1 for key in keys]
        for group in plan_batches(sizes, CHUNK_BATCHES * token_budget, most):
            cost = sum(sizes[i] for i in group) * (4 if summarising else 1)  # decoding outweighs the prefill
            chunks.append((cost, [keys[i] for i in group]))
    return [keys for _, keys in sorted(chunks, key=lambda item: -item[0])]


def _whole_batch_chunks(functions: dict, summarise: set[str], token_budget: int, max_batch: int, workers: int,
                        lengths: dict) -> list[list[str]]:
    groups = [[key for key in functions if (key in summarise) == summarising] for summarising in (True, False)]
    planned = [(summarising, keys, plan_batches([lengths[k] for k in keys], token_budget, max_batch))
               for summarising, keys in zip((True, False), groups)]
    total = sum(len(batches) for _, _, batches in planned)
    per_chunk = max(1, min(CHUNK_BATCHES, -(-total // (2 * max(1, workers)))))
    chunks: list[tuple[int, list[str]]] = []
    for summarising, keys, batches in planned:
        for start in range(0, len(batches), per_chunk):
            members = sorted(i for batch in batches[start:start + per_chunk] for i in batch)
            cost = sum(lengths[keys[i]] for i in members) * (4 if summarising else 1)
            chunks.append((cost, [keys[i] for i in members]))
    return [keys for _, keys in sorted(chunks, key=lambda item: -item[0])]


def portable_spec(spec: "ModelSpec", dtype: str, device: str) -> "ModelSpec":
    """The spec a worker loads: folders as absolute paths (a worker's working folder is not ours), and
    the driver's dtype, so every worker computes in the precision the cache key names."""
    def absolute(value: str | None) -> str | None:
        if value is None:
            return None
        local = Path(value).expanduser()
        return str(local.resolve()) if local.exists() else value

    return dataclasses.replace(spec, model=absolute(spec.model), adapter=absolute(spec.adapter), dtype=dtype,
                               device=device)


class RayScorer:
    """``Scorer`` for ``engine.analyse`` on a Ray cluster (see the module docstring).

    ``loaded`` is the driver's model (a ``LazyModel`` is never loaded here): the workers' identity is
    checked against it. ``workers`` and ``cpus_per_worker`` (0 = chosen from the cluster) size the pool.
    Nothing connects until the first call, so a scan answered by the cache never touches the cluster.
    Call ``close()`` when done: it stops the workers and leaves the cluster.
    """

    def __init__(self, spec: "ModelSpec", loaded, settings: "EngineSettings", address: str = "auto",
                 workers: int = 0, cpus_per_worker: float = 0) -> None:
        self.spec, self.loaded, self.settings, self.address = spec, loaded, settings, address
        self.workers, self.cpus_per_worker = workers, cpus_per_worker
        self._ray = None
        self._joined = False
        self._actors: list = []
        self._starting: dict = {}  # identity ObjectRef -> actor
        self._ready: list = []
        self._failed_probes: dict[int, int] = {}  # id(actor) -> identity probes lost in a row
        self._start_deadline: float | None = None  # while set, chunks wait for workers still loading
        self._tokenizer = None  # loaded on first use; False when it cannot be
        self.identities: list[dict] = []
        """What each worker reported when it started (host, pid, device): for logs and tests."""

    def _prompt_lengths(self, functions: dict) -> dict | None:
        """Each function's prompt length in tokens, by the base's own tokenizer (loaded here once, without
        the weights); None when it cannot be loaded here, and chunks are cut by estimate."""
        from codelens.errors import ModelError
        from codelens.model.forward import prompt_for
        from codelens.model.loading import load_tokenizer

        if self._tokenizer is None:
            try:
                self._tokenizer = load_tokenizer(self.loaded.model_id, self.spec.trust_remote_code)
            except ModelError as exc:
                logger.warning("chunks cut by estimated lengths: %s", exc.message)
                self._tokenizer = False
        if self._tokenizer is False:
            return None
        fmt = self.loaded.meta.prompt
        return {key: len(prompt_for(self._tokenizer, getattr(f, "code", f), fmt).ids) for key, f in functions.items()}

    def __call__(self, functions: dict, summarise: set[str], on_batch: Callable[["ScoredBatch"], None]) -> None:
        """Score ``functions`` (what ``analyse`` gives a Scorer, passed to the workers as it is)."""
        if not functions:
            return
        ray = self._connect()
        if not self._actors:
            self._spawn()
        from ray.exceptions import RayError, RayTaskError

        queue = deque((keys, 0) for keys in plan_chunks(functions, summarise, self.settings.token_budget,
                                                         self.settings.max_batch, len(self._actors),
                                                         self._prompt_lengths(functions)))
        running: dict = {}  # ObjectRef -> (actor, keys, tries so far)
        while queue or running:
            if self._start_deadline is None:
                self._dispatch(queue, running, functions, summarise)
            waiting = [*self._starting, *running]
            if not waiting:
                raise CodelensError("every Ray worker of this scan has died", hint=RAY_HINT)
            ready, _ = ray.wait(waiting, num_returns=1, timeout=self._wait_s(running))
            if not ready:
                self._start_without_the_rest()
                continue
            ref = ready[0]
            if ref in self._starting:
                self._started(ref)
                if not self._starting:
                    self._start_deadline = None  # every worker answered: work starts
                continue
            actor, keys, tries = running.pop(ref)
            try:
                batches = ray.get(ref)
            except RayTaskError as exc:
                raise _cause(exc) from None  # the model code failed: a local scan would have stopped too
            except RayError as exc:
                if tries + 1 >= MAX_TRIES:
                    raise CodelensError(f"{len(keys)} function(s) failed on {MAX_TRIES} Ray workers in a row: "
                                        f"{_first_line(exc)}", hint=RAY_HINT) from exc
                queue.appendleft((keys, tries + 1))  # the worker died: its chunk goes to whoever is alive
                self._probe(actor)
                continue
            for batch in batches:
                on_batch(batch)

    def close(self) -> None:
        """Stop the workers and leave the cluster (a cluster this process did not join is left joined)."""
        if self._ray is None:
            return
        for actor in self._actors:
            try:
                self._ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 - an actor already gone is what closing wants
                pass
        self._actors, self._starting, self._ready, self._start_deadline = [], {}, [], None
        if self._joined:
            self._ray.shutdown()
            self._joined = False

    def _connect(self):
        if self._ray is not None:
            return self._ray
        try:
            import ray
        except ImportError as exc:
            raise CodelensError("--ray needs the ray package, which is not installed",
                                hint="`pip install 'codelens[ray]'`, or scan without --ray") from exc
        if not ray.is_initialized():
            address = resolve_address(self.address)
            _reachable(address)
            # ray.init installs a SIGTERM handler that exits with status 15; the CLI's own handler (store
            # what was computed, exit 143) must stay in charge.
            main = threading.current_thread() is threading.main_thread()
            previous = signal.getsignal(signal.SIGTERM) if main else None
            try:
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False,
                         namespace="codelens")
            except (ConnectionError, RuntimeError, ValueError, ImportError) as exc:
                raise CodelensError(f"cannot join the Ray cluster at {address}: {_first_line(exc)}",
                                    hint="start one with `ray start --head` (and `ray start --address HOST:PORT` "
                                         "on each other machine), or scan without --ray") from exc
            finally:
                if main and previous is not None:
                    signal.signal(signal.SIGTERM, previous)
            self._joined = True
        self._ray = ray
        return ray

    def _spawn(self) -> None:
        """Start the workers; each loads its model in the background and reports its identity."""
        ray = self._ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = [n for n in ray.nodes() if n.get("Alive")]
        gpus = sum(n["Resources"].get("GPU", 0) for n in nodes)
        cpus = sum(n["Resources"].get("CPU", 0) for n in nodes)
        worker = ray.remote(ModelWorker)
        common = dict(max_restarts=MAX_RESTARTS, max_task_retries=0)
        env = {name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ}
        if env:
            common["runtime_env"] = {"env_vars": env}
        if gpus >= 1 and self.spec.device != "cpu":
            count = self.workers or int(gpus)
            options = [dict(common, num_gpus=1, num_cpus=self.cpus_per_worker or 1)] * count
            device = "cuda"
        elif self.spec.device not in ("auto", "cpu"):
            raise CodelensError(f"--device {self.spec.device} was asked for, but the Ray cluster has no GPU",
                                hint="use --device cpu or auto with --ray, or add GPU machines to the cluster")
        elif self.workers or self.cpus_per_worker:
            each = self.cpus_per_worker or max(1, int(cpus) // self.workers)
            count = self.workers or max(1, int(cpus // each))
            options = [dict(common, num_cpus=each)] * count
            device = "cpu"
        else:  # one worker per machine, all of its cores as torch threads: one copy of the weights each
            options = [dict(common, num_cpus=n["Resources"]["CPU"],
                            scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                       for n in nodes if n["Resources"].get("CPU", 0) >= 1]
            device = "cpu"
        if not options:
            raise CodelensError("the Ray cluster has no CPU or GPU to run a model worker on", hint=RAY_HINT)
        spec = portable_spec(self.spec, self.loaded.dtype_name, device)
        for option in options:
            threads = self.settings.threads or max(1, int(option["num_cpus"]))
            actor = worker.options(**option).remote(spec, dataclasses.replace(self.settings, threads=threads))
            self._actors.append(actor)
            self._probe(actor)
        self._start_deadline = time.monotonic() + START_TIMEOUT_S

    def _wait_s(self, running: dict) -> float | None:
        """How long to wait for the next answer: while the workers start, until the start deadline; while
        chunks run, as long as they take; else (every worker reloading after a death) ``START_TIMEOUT_S``."""
        if self._start_deadline is not None:
            return max(0.0, self._start_deadline - time.monotonic())
        return None if running else START_TIMEOUT_S

    def _start_without_the_rest(self) -> None:
        """The wait for workers to load ran out: go on with those that answered, or fail when none did."""
        if not self._ready:
            raise CodelensError(f"no Ray worker could load the model within {START_TIMEOUT_S:.0f} s",
                                hint="check with `ray status` that the cluster has a free CPU or GPU")
        logger.warning("%d of %d Ray workers have not loaded the model within %.0f s: the scan starts on the "
                       "others, and they join when they do", len(self._starting), len(self._actors), START_TIMEOUT_S)
        self._start_deadline = None

    def _probe(self, actor) -> None:
        """Ask a new or failed worker who it is; it gets chunks again once it answers."""
        if actor in self._ready:
            self._ready.remove(actor)
        if actor not in self._starting.values():
            self._starting[actor.identity.remote()] = actor

    def _started(self, ref) -> None:
        from ray.exceptions import RayError, RayTaskError

        actor = self._starting.pop(ref)
        try:
            identity = self._ray.get(ref)
        except RayTaskError as exc:
            raise _cause(exc) from None  # cannot load the model (missing folder, wrong base): no retry helps
        except RayError:
            # A probe sent before Ray noticed the death fails like the task did, although Ray restarts the
            # worker: probe again (it waits for the restart) until more probes were lost than restarts exist.
            lost = self._failed_probes.get(id(actor), 0) + 1
            self._failed_probes[id(actor)] = lost
            if lost <= MAX_RESTARTS:
                time.sleep(RESTART_PAUSE_S)
                self._probe(actor)
            else:
                self._actors.remove(actor)  # dead for good (restarts used up, node gone): the others go on
            return
        self._failed_probes.pop(id(actor), None)
        expected = {"codelens": __version__, "adapter_hash": self.loaded.adapter_hash,
                    "base_fingerprint": self.loaded.base_fingerprint, "dtype": self.loaded.dtype_name,
                    "quantize": str(self.loaded.quantize)}
        differ = {key: (value, identity[key]) for key, value in expected.items() if identity[key] != value}
        if differ:
            shown = "; ".join(f"{key} {mine} here, {theirs} there" for key, (mine, theirs) in differ.items())
            raise CodelensError(f"the Ray worker on {identity['host']} does not run the model of this scan: {shown}",
                                hint="install the same codelens, and put the same model and adapter at the same "
                                     "paths, on every machine of the cluster")
        self.identities.append(identity)
        self._ready.append(actor)

    def _dispatch(self, queue: deque, running: dict, functions: dict, summarise: set[str]) -> None:
        """Hand queued chunks to the least busy ready workers, up to ``IN_FLIGHT`` each."""
        busy = {id(actor): 0 for actor in self._ready}
        for actor, _, _ in running.values():
            if id(actor) in busy:
                busy[id(actor)] += 1
        while queue and self._ready:
            actor = min(self._ready, key=lambda a: busy[id(a)])
            if busy[id(actor)] >= IN_FLIGHT:
                return
            keys, tries = queue.popleft()
            ref = actor.score.remote({key: functions[key] for key in keys}, {key for key in keys if key in summarise})
            running[ref] = (actor, keys, tries)
            busy[id(actor)] += 1


def ray_address_file() -> Path:
    """Where ``ray start --head`` records the cluster it started (Ray's own rule: $RAY_TMPDIR, else $TMPDIR on
    Linux, else /tmp, then ``ray/ray_current_cluster``)."""
    base = os.environ.get("RAY_TMPDIR") or (os.environ.get("TMPDIR") if os.uname().sysname == "Linux" else None)
    return Path(base or "/tmp") / "ray" / "ray_current_cluster"


def resolve_address(address: str) -> str:
    """The cluster ``--ray`` names, as HOST:PORT. ``auto`` is ``$RAY_ADDRESS`` (the user's environment), else
    the cluster this user started on this machine (``ray start`` records it in a file the user owns).

    Ray's own ``auto`` would also take a cluster another user of a shared machine started (its address file
    in the shared /tmp/ray, or any GCS process it sees in ``ps``), and send them this repository's code:
    codelens joins only a cluster the user started or named.
    """
    if address != "auto":
        return address
    named = os.environ.get("RAY_ADDRESS", "")
    if named and named != "auto":
        return named
    from codelens.files import FileReadError, read_bounded

    path = ray_address_file()
    hint = "start your own with `ray start --head`, or name one with --ray HOST:PORT (or RAY_ADDRESS)"
    try:
        owner = os.lstat(path).st_uid
        text = read_bounded(path, 4096, "Ray address file").decode("utf-8", "replace").strip()
    except (OSError, FileReadError):
        raise CodelensError("--ray auto: no Ray cluster started by you runs on this machine", hint=hint) from None
    if owner != os.getuid():
        raise CodelensError(f"--ray auto: the Ray cluster recorded in {path} was started by another user (uid "
                            f"{owner}); codelens joins only a cluster you started or name", hint=hint)
    if not text or not _RAY_HOST_PORT.fullmatch(text):
        raise CodelensError(f"--ray auto: {path} does not hold a cluster address", hint=hint)
    return text


_RAY_HOST_PORT = re.compile(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}")
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
"""HTTP/2's client preface and an empty SETTINGS frame: a Ray cluster (its GCS, or a ``ray://`` client
server) speaks gRPC, so it answers with a SETTINGS frame of its own."""


def _reachable(address: str) -> None:
    """A CodelensError unless a Ray cluster (a gRPC server) answers at a HOST:PORT address, within
    ``PROBE_TIMEOUT_S``: ray.init would retry for ever against a closed port or one that speaks another
    protocol (a web server, a database)."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # not HOST:PORT: ray.init says what is wrong with it at once
    hint = "pass the address `ray start --head` printed (HOST:6379, or ray://HOST:10001), or scan without --ray"
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S) as connection:
            connection.settimeout(PROBE_TIMEOUT_S)
            connection.sendall(_HTTP2_PREFACE)
            answer = b""
            while len(answer) < 9:
                chunk = connection.recv(9 - len(answer))
                if not chunk:
                    break
                answer += chunk
    except socket.timeout:
        raise CodelensError(f"{address} does not answer as a Ray cluster does (nothing within "
                            f"{PROBE_TIMEOUT_S:.0f} s)", hint=hint) from None
    except OSError as exc:
        raise CodelensError(f"no Ray cluster answers at {address}: {exc.strerror or exc}", hint=hint) from exc
    if len(answer) < 9 or answer[3] != 4:  # frame type 4: SETTINGS
        raise CodelensError(f"{address} is not a Ray cluster: what answers there does not speak gRPC", hint=hint)


def _cause(exc) -> BaseException:
    """The exception a worker raised, as its own type (a CodelensError keeps its message and hint)."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def _characters(function) -> int:
    """Length of the text the model reads of a function (``FunctionText.code``, or the text itself)."""
    return len(getattr(function, "code", function))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
