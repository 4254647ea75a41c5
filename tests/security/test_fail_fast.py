"""Fail fast, never hang, never reach outside: a Ray address that is not Ray, a shared machine's Ray cluster,
a stray distributed environment, a corpus link out of the corpus, a data cache that would serve stale
examples.

Issue #23's cases 11, 12 (medium) and 17, 18, 22 (low), one test each; each failed before its fix.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from codelens.cli.main import main
from codelens.engine import ray_scorer
from codelens.errors import CodelensError
from tests.security.test_repository_trust import CALC, make_repo, models


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _server(answer: bytes | None) -> tuple[str, socket.socket]:
    """A loopback TCP server that is not Ray: it answers ``answer`` to whatever it is sent (None: nothing)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            if answer is not None:
                connection.recv(1024)
                connection.sendall(answer)
                connection.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"127.0.0.1:{listener.getsockname()[1]}", listener


def test_case11_a_ray_address_that_is_not_ray_fails_within_seconds(capsys, tmp_path, monkeypatch, tiny_llama,
                                                                  tiny_llama_adapter):
    """Medium: `--ray HOST:PORT` to a port where something else listens (a web server) retried for ever."""
    pytest.importorskip("ray")
    address, listener = _server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    try:
        repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
        started = time.monotonic()
        code, _, err = run(capsys, "scan", str(repo), "--no-cache", "--ray", address,
                           *models(tiny_llama, tiny_llama_adapter))
        assert code == 2 and f"{address} is not a Ray cluster" in err, err
        assert time.monotonic() - started < 60
    finally:
        listener.close()
    # one that accepts and says nothing at all: the probe's own timeout
    silent, listener = _server(None)
    monkeypatch.setattr(ray_scorer, "PROBE_TIMEOUT_S", 1.0)
    try:
        with pytest.raises(CodelensError, match="does not answer as a Ray cluster does"):
            ray_scorer._reachable(silent)
    finally:
        listener.close()


def test_case22_ray_auto_joins_only_a_cluster_this_user_started_or_named(tmp_path, monkeypatch):
    """Low: `--ray auto` joined whatever cluster it found on a shared machine (another user's, recorded in
    the shared /tmp/ray), and sent it the repository's code."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    with pytest.raises(CodelensError, match="no Ray cluster started by you"):
        ray_scorer.resolve_address("auto")
    record = tmp_path / "ray" / "ray_current_cluster"
    record.parent.mkdir()
    record.write_text("10.0.0.5:6379\n")
    assert ray_scorer.resolve_address("auto") == "10.0.0.5:6379"  # recorded by `ray start` as this user
    monkeypatch.setattr(os, "getuid", lambda: record.stat().st_uid + 1)  # ... as another user
    with pytest.raises(CodelensError, match="started by another user"):
        ray_scorer.resolve_address("auto")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6380")  # named in the user's own environment
    assert ray_scorer.resolve_address("auto") == "127.0.0.1:6380"


def test_case17_a_stray_distributed_environment_is_a_clear_error_at_once(capsys, tmp_path, monkeypatch):
    """Low: `codelens train` under a WORLD_SIZE / MASTER_* environment left over in a shell waited two hours
    for ranks that never came."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "calc.py").write_text(CALC)
    for name, value in {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                        "MASTER_PORT": "29531"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    started = time.monotonic()
    code, _, err = run(capsys, "train", "--corpus", str(corpus), "--out", str(tmp_path / "adapter"), "--max-steps", "1")
    assert code == 2 and "not started by torchrun or accelerate launch" in err and "unset WORLD_SIZE" in err
    assert time.monotonic() - started < 60 and not (tmp_path / "adapter").exists()


def test_case12_split_by_subdir_never_follows_a_link_out_of_the_corpus(tmp_path):
    """Medium: `train --split-by subdir` took a top-level link out of the corpus as a repository and trained
    on (and recorded) whatever it pointed at."""
    from codelens.train.data.functions import repositories

    corpus = tmp_path / "corpus"
    (corpus / "alpha").mkdir(parents=True)
    (corpus / "beta").mkdir()
    private = tmp_path / "home" / "private"
    private.mkdir(parents=True)
    (private / "secret.py").write_text(CALC)
    (corpus / "gamma").symlink_to(private, target_is_directory=True)
    (corpus / "delta").symlink_to(corpus / "beta", target_is_directory=True)  # inside: the same repository
    assert [r.name for r in repositories([corpus], "subdir")] == ["alpha", "beta"]


def test_case18_the_task_data_cache_is_keyed_on_file_contents(tmp_path):
    """Low: the task-data cache was keyed on file names and sizes: an edit that kept the size (a changed
    word of the same length) reused the examples built from the old text."""
    from codelens.train.data.dataset import DataConfig, cached_task_data

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = "".join(f'def add_{i}(values):\n    """Add the values."""\n    total = 0\n    for v in values:\n'
                   f"        total += v * {i}\n    return total\n\n\n" for i in range(6))
    (corpus / "calc.py").write_text(body)
    cache = tmp_path / "cache"
    first = cached_task_data([corpus], [], DataConfig(template_repeats=0), cache)
    assert first.summary and {e.summary for e in first.summary} == {"Add the values."}
    (corpus / "calc.py").write_text(body.replace("Add the values.", "Sum the values."))  # the same size
    second = cached_task_data([corpus], [], DataConfig(template_repeats=0), cache)
    assert {e.summary for e in second.summary} == {"Sum the values."}
    assert len(list(cache.iterdir())) == 2
