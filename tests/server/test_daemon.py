"""The detached server process (``python -m codelens.server``): start, use, stop, idle exit, a crash mid-request,
and a scan whose report does not change with it."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codelens.cli.main import main
from codelens.engine import analyse
from codelens.model.loading import LazyModel, load_model
from codelens.server.client import ServerScorer, connect, server_status, start_server, stop_server
from codelens.server.place import ServerError, server_place
from tests.server.conftest import assert_identical, settings

pytestmark = pytest.mark.slow

CALC = ("def scale(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor)\n"
        "    return out\n")


@pytest.fixture
def runtime(_own_runtime_folder):
    """A short runtime folder of the test's own (``XDG_RUNTIME_DIR``): the place a scan finds by itself
    (tests/conftest.py gives every test one, and stops the servers started there)."""
    return _own_runtime_folder


def started(idle_minutes: float = 5.0) -> tuple:
    """(place, hello) of a server started now. A file of this working tree saved by someone between this
    process naming the build and the server checking it makes the server refuse to serve (as it should):
    then the build is named again."""
    for attempt in range(3):
        place = server_place()
        try:
            return place, start_server(place, idle_minutes)
        except ServerError as exc:
            if "changed on disk" not in exc.message or attempt == 2:
                raise


def wait_exit(pid: int, seconds: float = 30.0) -> int:
    """The exit status of our child ``pid`` once it has ended (posix_spawn made it ours)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still runs after {seconds} s")


def test_start_status_stop(runtime):
    assert server_status(server_place()) is None
    place, first = started()
    assert first["pid"] != os.getpid() and first["build"] == place.build and first["models"] == []
    assert start_server(place, idle_minutes=5)["pid"] == first["pid"]  # one server per build
    assert oct(place.socket.stat().st_mode & 0o777) == "0o600"
    assert stop_server(place)["pid"] == first["pid"]
    assert wait_exit(first["pid"]) == 0
    assert not place.socket.exists() and server_status(place) is None
    with open(place.lock) as handle:  # the lock is free again
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    log = place.log.read_text()
    assert f"server {first['pid']} listening on {place.socket}" in log and "stop requested" in log


def test_an_idle_server_exits_by_itself(runtime):
    place, hello = started(idle_minutes=0.02)  # 1.2 s
    pid = hello["pid"]
    assert wait_exit(pid) == 0
    assert not place.socket.exists() and "idle for 0.02 min: exiting" in place.log.read_text()


def test_a_server_killed_mid_request_costs_only_time(runtime, spec, units):
    one_by_one = settings(max_batch=1)
    local, _ = analyse(units, load_model(spec), one_by_one)
    place, hello = started()
    pid = hello["pid"]
    lazy = LazyModel(spec)
    scorer = ServerScorer(spec, lazy, one_by_one, start=False, idle_minutes=5, place=place)
    progress: list[int] = []

    def kill_after_the_first_batch(done: int, total: int) -> None:
        progress.append(done)
        if done == 1:
            os.kill(pid, signal.SIGKILL)

    results, stats = analyse(units, lazy, one_by_one, scorer=scorer, progress=kill_after_the_first_batch)
    assert wait_exit(pid) == -signal.SIGKILL
    assert_identical(results, local)  # the rest ran here as one whole request: the same batches
    assert scorer.computed == 1 and stats.computed == len(local) and progress[-1] == len(local)
    assert len(scorer.notes) == 1
    assert scorer.notes[0].startswith("background server not used: the server stopped answering mid-request")
    assert "(1 function(s) it had returned are kept); the model ran in this process" in scorer.notes[0]
    # It left its socket behind; the next server replaces it (its lock died with it).
    assert place.socket.exists() and connect(place) is None
    again = started()[1]
    assert again["pid"] != pid


def test_a_scan_reports_the_same_with_and_without_the_server(runtime, tmp_path, capsys, tiny_llama,
                                                              tiny_llama_adapter):
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    for i in range(3):
        (repo / "pkg" / f"m{i}.py").write_text(CALC.replace("scale", f"scale_{i}") + "\n\n" +
                                               CALC.replace("scale", f"grow_{i}").replace("*", "+"))
    common = [str(repo), "--model", str(tiny_llama), "--adapter", str(tiny_llama_adapter), "--jobs", "1",
              "--format", "json", "--no-cache", "--quiet", "--defect-threshold", "0.0"]
    reports = {}
    for mode in ("off", "on", "on", "on"):  # again while a save to this tree outran the server's start
        main(["scan", *common, "--server", mode])
        report = json.loads(capsys.readouterr().out)
        for key in ("elapsed_s", "model_seconds"):
            report["stats"].pop(key)
        reports[mode] = report
        if "server_computed" in report["stats"]:
            break
    assert reports["on"]["stats"].pop("server_computed") == reports["on"]["stats"]["computed"] == 6
    assert reports["on"] == reports["off"]
    assert len(reports["on"]["findings"]) > 0
    assert server_status(server_place())["served"] >= 1


def test_a_hook_returns_while_the_server_it_started_runs_on(runtime, tmp_path, tiny_llama, tiny_llama_adapter):
    """The server must not hold the hook's output pipes: pre-commit reads them to the end."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    codelens = Path(sys.executable).parent / "codelens"
    command = [str(codelens), "scan", str(repo), "--model", str(tiny_llama), "--adapter", str(tiny_llama_adapter),
               "--format", "json", "--no-cache"]
    env = {**os.environ, "PRE_COMMIT": "1"}
    for _ in range(3):  # again while a save to this tree outran the server's start
        first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        if "changed on disk" not in first.stderr:
            break
    assert first.returncode in (0, 1), first.stderr
    assert json.loads(first.stdout)["stats"]["server_computed"] == 1
    status = server_status(server_place())
    assert status is not None and status["served"] == 1 and len(status["models"]) == 1
    without_hook = {k: v for k, v in env.items() if k != "PRE_COMMIT"}
    second = subprocess.run(command, capture_output=True, text=True, env=without_hook, timeout=300)
    assert json.loads(second.stdout)["stats"]["server_computed"] == 1  # a running server is used by any scan
    off = subprocess.run([*command, "--server", "off"], capture_output=True, text=True, env=env, timeout=300)
    assert "server_computed" not in json.loads(off.stdout)["stats"]
    assert server_status(server_place())["served"] == 2


def test_a_scan_the_server_answers_never_imports_torch(runtime, tmp_path, tiny_llama, tiny_llama_adapter):
    """What makes the warm hook fast: the scanning process parses, reads the cache and asks; torch and
    transformers stay out of it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    report = tmp_path / "report.json"
    probe = ("import json, sys\nfrom codelens.cli.main import main\n"
             f"code = main(['scan', {str(repo)!r}, '--model', {str(tiny_llama)!r}, '--adapter', "
             f"{str(tiny_llama_adapter)!r}, '--format', 'json', '--output', {str(report)!r}, '--quiet', '--no-cache'])\n"
             "print(json.dumps({'code': code, 'heavy': sorted(m for m in ('torch', 'transformers', 'peft') "
             "if m in sys.modules)}))\n")
    for _ in range(3):  # again while a save to this tree outran the server's start
        started()
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        if "server_computed" in json.loads(report.read_text())["stats"]:
            break
    assert outcome["heavy"] == [] and outcome["code"] in (0, 1)
    assert json.loads(report.read_text())["stats"]["server_computed"] == 1
