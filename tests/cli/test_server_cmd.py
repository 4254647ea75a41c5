"""`codelens server start|stop|status`: the background server by hand."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

from codelens.cli.main import main
from codelens.server.client import server_status, start_server
from codelens.server.place import ServerPlace, server_place


@pytest.fixture
def runtime(monkeypatch):
    folder = Path(tempfile.mkdtemp(prefix="clr-", dir="/tmp"))  # short: a socket path holds 107 bytes
    folder.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    yield folder
    main(["server", "stop", "--all"])
    shutil.rmtree(folder, ignore_errors=True)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["server", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_start_status_stop(runtime, capsys):
    place = server_place()
    code, out, _ = run(capsys, "status")
    assert code == 1 and out == f"no server runs for this codelens (its socket would be {place.socket})\n"
    code, _, err = run(capsys, "start", "--idle-minutes", "7")
    pid = server_status(place)["pid"]
    assert code == 0 and err == f"started the server (pid {pid}, exits after 7 idle minutes): {place.socket}\n"
    code, _, err = run(capsys, "start")
    assert code == 0 and err == f"the server already runs (pid {pid}); `codelens server status` shows it\n"
    code, out, _ = run(capsys, "status")
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"server pid {pid}, codelens 0.1.0 (build {place.build[:12]})"
    assert lines[1] == f"  socket {place.socket}" and lines[-1] == "  models loaded: 0"
    assert " 0 request(s); idle " in lines[2] and lines[2].endswith(" s of 7 min")
    assert lines[3] == f"  log {place.log}"
    code, _, err = run(capsys, "stop")
    assert code == 0 and err == f"stopped the server (pid {pid}, codelens 0.1.0)\n"
    assert run(capsys, "stop")[2] == "no server was running\n"
    assert run(capsys, "status")[0] == 1


def test_other_builds_are_listed_and_stopped_with_all(runtime, capsys):
    place = server_place()
    other = ServerPlace(place.folder, "e" * 64)
    thread = _serve_in_thread(other)
    try:
        code, out, _ = run(capsys, "status")
        assert code == 1 and out.splitlines()[-1] == ("1 server(s) of other codelens versions or checkouts run too "
                                                      "(`codelens server stop --all` stops them)")
        assert run(capsys, "stop")[2] == "no server was running\n"  # not this build's
        code, _, err = run(capsys, "stop", "--all")
        assert code == 0 and err.startswith("stopped the server (pid ")
        thread.join(10)
        assert not thread.is_alive() and not other.socket.exists()
    finally:
        if thread.is_alive():
            main(["server", "stop", "--all"])


def test_foreground_serves_until_stopped(runtime, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # what a server sets for itself, restored after the test
    place = server_place()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(main(["server", "start", "--foreground",
                                                                 "--idle-minutes", "5"])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while server_status(place) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server_status(place) is not None
    code, _, err = run(capsys, "start", "--foreground")
    assert code == 2 and "the server of this codelens already runs" in err
    assert run(capsys, "stop")[0] == 0
    thread.join(10)
    assert codes == [0]


@pytest.mark.parametrize("minutes", ["0", "-1"])
def test_idle_minutes_must_be_positive(runtime, capsys, minutes):
    code, _, err = run(capsys, "start", "--idle-minutes", minutes)
    assert code == 2 and f"server-idle-minutes = {float(minutes)} must be more than 0" in err


def test_the_users_config_sets_the_idle_time(runtime, capsys, tmp_path, monkeypatch):
    user = tmp_path / "config.toml"
    user.write_text("server-idle-minutes = 3\n")
    monkeypatch.setenv("CODELENS_CONFIG", str(user))
    assert run(capsys, "start")[0] == 0
    assert server_status(server_place())["idle_minutes"] == 3.0


def _serve_in_thread(place: ServerPlace) -> threading.Thread:
    from codelens.server.daemon import ModelServer

    server = ModelServer(place, 5.0)
    server.build = place.build
    assert server.bind()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def test_start_fails_with_the_servers_own_words(runtime, capsys, monkeypatch):
    monkeypatch.setattr("codelens.server.client.START_TIMEOUT_S", 20.0)
    place = server_place()
    place.log.write_text("")
    bad = ServerPlace(place.folder, "0" * 64)  # a build this codelens is not: the server refuses it
    with pytest.raises(Exception) as caught:
        start_server(bad, 1.0)
    assert "exited with status 2" in str(caught.value) and "codelens changed on disk" in str(caught.value)
