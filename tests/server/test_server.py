"""The server in a thread of this process: the engine's results through it, and every way it refuses or fails."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import time

import pytest

from codelens.config import ScanConfig
from codelens.engine import analyse
from codelens.model.loading import LazyModel, load_model
from codelens.server import client as client_module
from codelens.server.client import ServerScorer, connect, server_scorer, server_status
from codelens.server.place import ServerError
from codelens.server.protocol import receive, send
from tests.server.conftest import assert_identical, running, settings


def scorer_for(spec, place, start=False, **changes) -> tuple[ServerScorer, LazyModel]:
    lazy = LazyModel(spec)
    return ServerScorer(spec, lazy, settings(max_batch=4, **changes), start, 1.0, place=place), lazy


def test_the_server_gives_this_process_results_bit_for_bit(spec, units, local, place):
    scorer, lazy = scorer_for(spec, place)
    seen: list[int] = []
    with running(place) as server:
        results, stats = analyse(units, lazy, settings(max_batch=4), scorer=scorer,
                                 progress=lambda done, total: seen.append(done))
        status = server_status(place)
    assert_identical(results, local)
    assert scorer.notes == [] and scorer.computed == len(local) == stats.computed
    assert not lazy.is_loaded  # the weights were loaded by the server only
    assert len(seen) > 3 and seen == sorted(seen)  # batch by batch, as they finished
    assert status["served"] == 1 and status["busy"] is False and len(status["models"]) == 1
    assert status["models"][0]["model"] == spec.model and status["pid"] == os.getpid()
    assert status["build"] == server.build and status["idle_minutes"] == 5.0


def test_a_second_request_reuses_the_loaded_model(spec, units, local, place, caplog):
    caplog.set_level(logging.INFO, logger="codelens.server")
    with running(place):
        for half in (units[:5], units[5:]):
            scorer, lazy = scorer_for(spec, place)
            results, _ = analyse(half, lazy, settings(max_batch=4), scorer=scorer)
            assert scorer.computed == len(half)
    assert sum("loaded " in record.message for record in caplog.records) == 1


def test_an_adapter_retrained_in_place_is_loaded_again(spec, units, place, tiny_llama, make_adapter, tmp_path):
    import shutil

    adapter = tmp_path / "adapter"
    shutil.copytree(spec.adapter, adapter)
    ours = dataclasses.replace(spec, adapter=str(adapter))
    with running(place) as server:
        scorer, lazy = scorer_for(ours, place)
        analyse(units[:2], lazy, settings(), scorer=scorer)
        first = next(iter(server.models.values())).loaded.adapter_hash
        shutil.rmtree(adapter)
        make_adapter(tiny_llama, adapter, seed=1)
        scorer, lazy = scorer_for(ours, place)
        results, _ = analyse(units[:2], lazy, settings(), scorer=scorer)
        (entry,) = server.models.values()  # one model per key: the old one was dropped
    assert entry.loaded.adapter_hash == lazy.adapter_hash != first
    want, _ = analyse(units[:2], load_model(ours), settings())
    assert_identical(results, want)


def test_a_busy_server_leaves_the_scan_to_its_own_process(spec, units, local, place):
    scorer, lazy = scorer_for(spec, place)
    with running(place) as server:
        server._run.acquire()  # another scan's request is running
        try:
            results, _ = analyse(units, lazy, settings(max_batch=4), scorer=scorer)
        finally:
            server._run.release()
    assert_identical(results, local)
    assert scorer.computed == 0 and lazy.is_loaded
    assert scorer.notes == ["background server not used: the server answered: the server is running another "
                            "scan's model; the model ran in this process"]


def test_a_server_of_another_build_is_not_used(spec, units, local, place):
    scorer, lazy = scorer_for(spec, place)
    with running(place) as server:
        server.build = "f" * 64  # what another checkout's server would say in its hello
        results, _ = analyse(units, lazy, settings(max_batch=4), scorer=scorer)
        # Nor does it run a request from this build when asked directly.
        connection, identity = connect(place)
        with connection:
            send(connection, {"op": "score"})
            answer = receive(connection)
    assert_identical(results, local)
    assert scorer.computed == 0 and "runs another codelens (version 0.1.0, build ffffffffffff)" in scorer.notes[0]
    assert identity["build"] == "f" * 64
    assert answer["op"] == "error" and answer["kind"] == "mismatch"


def test_a_connection_from_another_uid_is_refused(spec, units, local, place, caplog):
    caplog.set_level(logging.INFO, logger="codelens.server")
    scorer, lazy = scorer_for(spec, place)
    with running(place, owner=os.getuid() + 1):  # this process is not the owner it answers
        with pytest.raises(ServerError, match="did not answer"):
            connect(place)
        results, _ = analyse(units, lazy, settings(max_batch=4), scorer=scorer)
    assert_identical(results, local)
    assert scorer.computed == 0 and "did not answer" in scorer.notes[0]
    assert f"refused a connection from uid {os.getuid()}" in caplog.text


@pytest.mark.skipif(os.getuid() != 0, reason="connecting as another user takes root")
def test_another_user_cannot_even_open_the_socket(place):
    with running(place):
        pid = os.fork()
        if pid == 0:  # the child: become nobody and try
            code = 1
            try:
                os.setgid(65534)
                os.setuid(65534)
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                probe.settimeout(2)
                try:
                    probe.connect(str(place.socket))
                except PermissionError:
                    code = 0  # the private folder stops it before the server even sees it
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.slow
def test_a_server_that_never_answers_costs_seconds_not_the_commit(spec, units, local, place, monkeypatch):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(place.socket))
    listener.listen(1)  # accepts (the kernel does), never answers
    monkeypatch.setattr(client_module, "CONNECT_TIMEOUT_S", 0.5)
    scorer, lazy = scorer_for(spec, place)
    started = time.monotonic()
    try:
        results, _ = analyse(units, lazy, settings(max_batch=4), scorer=scorer)
    finally:
        listener.close()
    assert time.monotonic() - started < 30
    assert_identical(results, local)
    assert "did not answer: no answer in time" in scorer.notes[0]


def test_a_server_silent_mid_request_is_given_up(spec, units, local, place, monkeypatch):
    monkeypatch.setattr(client_module, "READ_TIMEOUT_S", 0.5)
    monkeypatch.setattr("codelens.server.daemon.HEARTBEAT_S", 60.0)  # no heartbeat: a server that hangs

    def hang(self, request, sender):
        time.sleep(3)

    monkeypatch.setattr("codelens.server.daemon.ModelServer._run_request", hang)
    scorer, lazy = scorer_for(spec, place)
    with running(place):
        results, _ = analyse(units, lazy, settings(max_batch=4), scorer=scorer)
    assert_identical(results, local)
    assert "stopped answering mid-request: no answer in time" in scorer.notes[0]


def test_a_stale_socket_file_means_no_server(spec, units, local, place):
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(place.socket))
    dead.close()  # the file stays, nothing listens: what a killed server leaves
    assert place.socket.exists() and connect(place) is None
    scorer, lazy = scorer_for(spec, place)
    results, _ = analyse(units, lazy, settings(max_batch=4), scorer=scorer)
    assert_identical(results, local)
    assert scorer.notes == [] and scorer.computed == 0  # no server, no surprise: nothing to warn about
    with running(place) as server:  # a new server takes the place (the lock file was free)
        assert server_status(place)["pid"] == os.getpid()


def test_only_its_own_process_binds_a_build_once(place):
    from codelens.server.daemon import ModelServer

    with running(place):
        assert ModelServer(place, 1.0).bind() is False


def test_an_idle_server_exits_and_removes_its_socket(place):
    import threading

    from codelens.server.daemon import ModelServer

    server = ModelServer(place, idle_minutes=0.01)
    assert server.bind()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    thread.join(15)
    assert not thread.is_alive() and not place.socket.exists()


@pytest.mark.parametrize("change, message", [
    (lambda r: r["model"].update(trust_remote_code=True), "'model' must name exactly"),
    (lambda r: r["settings"].update(threads=10 ** 6), "threads must be a whole number from 0 to"),
    (lambda r: r["settings"].update(token_budget="4096"), "token_budget must be a whole number"),
    (lambda r: r.update(summarise="all"), "'summarise' must be a list"),
    (lambda r: r["expect"].update(adapter_hash=None), "'adapter_hash' must be a string"),
    (lambda r: r.update(functions=[["k", "x", "python"]]), "each function must be"),
])
def test_requests_are_checked_as_data(spec, place, change, message):
    from codelens.server.client import PROTOCOL

    request = {"op": "score", "model": {"model": spec.model, "adapter": spec.adapter, "device": "cpu",
                                        "quantize": "none", "dtype": "float32"},
               "expect": dict.fromkeys(("adapter_hash", "base_fingerprint", "model_given", "device", "dtype",
                                        "quantize", "base_stamp"), ""),
               "settings": {"token_budget": 4096, "max_batch": 4, "threads": 1},
               "functions": [["k", "def f():\n    pass\n", "python", ""]], "summarise": []}
    change(request)
    with running(place):
        connection, _ = connect(place)
        with connection:
            send(connection, request)
            answer = receive(connection)
            while answer["op"] == "alive":
                answer = receive(connection)
    assert PROTOCOL == 1
    assert answer["op"] == "error" and answer["kind"] == "protocol" and message in answer["message"]


def test_which_scans_may_use_the_server(spec, monkeypatch):
    lazy = LazyModel(spec)
    config = ScanConfig(model=spec.model, adapter=spec.adapter)
    monkeypatch.delenv("PRE_COMMIT", raising=False)
    monkeypatch.delenv("CODELENS_HOOK", raising=False)
    found = server_scorer(config, lazy, settings())
    assert isinstance(found, ServerScorer) and found.start is False  # auto: one that runs, none started
    monkeypatch.setenv("PRE_COMMIT", "1")
    assert server_scorer(config, lazy, settings()).start is True  # auto in a pre-commit hook: started
    monkeypatch.delenv("PRE_COMMIT")
    monkeypatch.setenv("CODELENS_HOOK", "1")
    assert server_scorer(config, lazy, settings()).start is True  # the hook `codelens hook install` writes
    assert server_scorer(dataclasses.replace(config, server="on"), lazy, settings()).start is True
    assert server_scorer(dataclasses.replace(config, server="off"), lazy, settings()) is None
    assert server_scorer(dataclasses.replace(config, trust_remote_code=True), lazy, settings()) is None
    # A model the scanned repository's config chose runs in the scan's own process.
    assert server_scorer(dataclasses.replace(config, repository_keys=("adapter",)), lazy, settings()) is None
    assert server_scorer(config, load_model(spec), settings()) is None  # already loaded here


def test_looking_for_a_server_creates_nothing(spec, units, local, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    lazy = LazyModel(spec)
    scorer = ServerScorer(spec, lazy, settings(max_batch=4), start=False, idle_minutes=1.0)
    results, _ = analyse(units, lazy, settings(max_batch=4), scorer=scorer)
    assert_identical(results, local)
    assert scorer.notes == [] and not (tmp_path / "codelens").exists()
