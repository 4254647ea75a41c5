"""A Ray cluster on loopback for the tests: `ray start --head --block`, stopped through its own process.

    with local_cluster(cpus=2) as address:      # "127.0.0.1:PORT"
        codelens scan REPO --ray ADDRESS

`ray stop` would stop every Ray process of this user on the machine (another test run's cluster too), so the
cluster runs under one blocking `ray start`, which stops what it started when it gets SIGTERM: at the end of
the block, or when the test process dies. Ray normally
swaps 127.0.0.1 for the machine's address; ``LOOPBACK`` keeps it, and everything else, on loopback (this
process gets it too, and so do the codelens processes it starts).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

LOOPBACK = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled"}
"""On both sides: no usage reports, addresses kept on 127.0.0.1, and no token authentication (which a token in
~/.ray, as `ray.init()` writes when it starts a local instance, would otherwise switch on for one side only)."""
WORKER_PRIORITY = {"RAY_worker_niceness": "0"}
"""For the cluster only: its workers at the priority of the tests that wait for them. Ray lowers its workers'
priority by 15 (nice 19 under a `nice -n 5` test run), and on a machine busy with other work they then get a few
percent of a core: a model that loads in seconds took minutes, and tests ran into their time limit."""
START_TIMEOUT_S = 120
STOP_WITH_PARENT = ("import ctypes, os, signal, sys\n"
                    "ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG, kept across exec\n"
                    "os.execv(sys.argv[1], sys.argv[1:])\n")
"""Starts a command that gets SIGTERM when the test process dies, however it dies (a watchdog's os._exit,
kill -9), so no cluster outlives the run (Linux; set in a fresh process, not in a fork of this threaded one)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_cpus(address: str, cpus: int, env: dict, head: subprocess.Popen) -> None:
    """Until the cluster's raylet has registered its CPUs: the GCS port answers before that, and ray.init
    refuses at once while nothing answers yet."""
    probe = (f"import ray, time\nray.init(address={address!r}, logging_level='ERROR')\n"
             f"while ray.cluster_resources().get('CPU', 0) < {cpus}: time.sleep(0.1)\n")
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if head.poll() is not None:
            raise RuntimeError(f"`ray start --head` exited with {head.returncode}")
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the Ray cluster at {address} did not come up within {START_TIMEOUT_S} s")
        done = subprocess.run([sys.executable, "-c", probe], env=env, timeout=left, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        if done.returncode == 0:
            return
        time.sleep(0.5)


@contextlib.contextmanager
def local_cluster(cpus: int = 2, object_store_bytes: int = 100_000_000) -> Iterator[str]:
    """A head node with ``cpus`` CPUs on 127.0.0.1, its session files in a temporary folder; yields its address."""
    ray = Path(sys.executable).parent / "ray"
    port = _free_port()
    folder = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths live under it (107 characters at most)
    saved = {name: os.environ.get(name) for name in LOOPBACK}
    os.environ.update(LOOPBACK)
    env = dict(os.environ, **WORKER_PRIORITY)
    wrapper = [sys.executable, "-c", STOP_WITH_PARENT] if sys.platform.startswith("linux") else []
    head = subprocess.Popen(
        [*wrapper, str(ray), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
         f"--num-cpus={cpus}", "--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats",
         f"--object-store-memory={object_store_bytes}", f"--temp-dir={folder}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        _wait_for_cpus(address, cpus, env, head)
        yield address
    finally:
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops the processes it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=30)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(folder, ignore_errors=True)
