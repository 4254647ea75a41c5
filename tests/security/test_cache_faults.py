"""The result cache never loses what it stored, and trouble with it is a warning, never a crash.

Hardening issue #13: item 9 (a read-only cache folder crashed with exit 3; a read-only cache file in a
writable folder was called corrupt and thrown away) and the `kill -9` case: a scan killed outright loses
only the results it had not stored yet, and the re-scan gives what an uninterrupted run gives.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codelens.cli.main import main

CODELENS = str(Path(sys.executable).parent / "codelens")
CALC = "def scale(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor)\n    return out\n"
ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


def models(tiny_llama: Path, adapter: Path) -> list[str]:
    return ["--model", str(tiny_llama), "--adapter", str(adapter), "--summaries", "none"]


def scan_json(capsys, repo: Path, *args: str) -> tuple[int, dict, str]:
    code = main(["scan", str(repo), "--format", "json", "--all", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def _read_only(path: Path):
    """Make ``path`` read-only; as root, permissions do not bind, so the folder is made immutable instead."""
    path.chmod(0o555 if path.is_dir() else 0o444)


@pytest.mark.skipif(ROOT_USER, reason="root ignores permission bits")
def test_a_read_only_cache_folder_is_one_warning(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    cache = repo / ".codelens-cache"
    cache.mkdir()
    _read_only(cache)
    try:
        code, report, err = scan_json(capsys, repo, *models(tiny_llama, tiny_llama_adapter))
    finally:
        cache.chmod(0o755)
    assert code in (0, 1) and report["functions"] and err.count("warning:") == 1


def test_a_cache_folder_sqlite_cannot_open_is_one_warning(capsys, tmp_path, tiny_llama, tiny_llama_adapter,
                                                          monkeypatch):
    """What a read-only folder gives SQLite ("unable to open database file"), as root too."""
    import sqlite3 as real_sqlite

    def cannot_open(*args, **kwargs):
        raise real_sqlite.OperationalError("unable to open database file")

    monkeypatch.setattr(real_sqlite, "connect", cannot_open)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    code, report, err = scan_json(capsys, repo, *models(tiny_llama, tiny_llama_adapter))
    assert code in (0, 1) and report["functions"] and err.count("warning:") == 1
    assert "result cache disabled" in err and "Traceback" not in err


def test_a_cache_that_cannot_be_written_is_read_not_thrown_away(capsys, tmp_path, tiny_llama, tiny_llama_adapter,
                                                                  monkeypatch):
    """A cache file that cannot be written (read-only, or its folder is) serves its hits and is left as it is."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    args = models(tiny_llama, tiny_llama_adapter)
    scan_json(capsys, repo, *args)
    cache = repo / ".codelens-cache" / "results.sqlite"
    before = cache.read_bytes()
    import sqlite3 as real_sqlite

    connect = real_sqlite.connect

    def read_only_connect(target, *a, **k):  # what a read-only file gives, also as root
        conn = connect(target, *a, **k)
        if not str(target).startswith("file:"):
            conn.execute("PRAGMA query_only = ON")
        return conn

    monkeypatch.setattr(real_sqlite, "connect", read_only_connect)
    code, report, err = scan_json(capsys, repo, *args)
    assert code in (0, 1) and report["stats"]["cache_hits"] == 1 and report["stats"]["computed"] == 0
    assert "cannot be written" in err and "corrupt" not in err
    assert not cache.with_name("results.sqlite.corrupt").exists() and cache.read_bytes() == before


def test_real_corruption_is_moved_aside_and_said(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    (repo / ".codelens-cache").mkdir()
    (repo / ".codelens-cache" / "results.sqlite").write_bytes(b"this is not a database" * 100)
    code, report, err = scan_json(capsys, repo, *models(tiny_llama, tiny_llama_adapter))
    assert code in (0, 1) and "corrupt" in err
    assert (repo / ".codelens-cache" / "results.sqlite.corrupt").is_file()


def test_a_cache_file_that_is_a_link_is_never_opened(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    elsewhere = tmp_path / "someone-elses.sqlite"
    sqlite3.connect(elsewhere).execute("CREATE TABLE precious (x)").connection.commit()
    before = elsewhere.read_bytes()
    repo = tmp_path / "repo"
    (repo / ".codelens-cache").mkdir(parents=True)
    (repo / "calc.py").write_text(CALC)
    (repo / ".codelens-cache" / "results.sqlite").symlink_to(elsewhere)
    code, _, err = scan_json(capsys, repo, *models(tiny_llama, tiny_llama_adapter))
    assert code in (0, 1) and "symbolic link" in err and elsewhere.read_bytes() == before


def _write_repo(repo: Path, files: int = 30, per_file: int = 40) -> None:
    repo.mkdir(parents=True)
    for f in range(files):
        (repo / f"m{f}.py").write_text("".join(
            CALC.replace("scale", f"scale_{f}_{i}").replace("v * factor", f"v * {i} + {f}") for i in range(per_file)))


def _stored(cache: Path) -> dict:
    with sqlite3.connect(cache, timeout=10) as conn:
        return {(h, k): (logit, blob, summary) for h, k, logit, blob, summary in
                conn.execute("SELECT unit_hash, key, defect_logit, embedding, summary FROM results")}


def _stored_yet(cache: Path) -> dict:
    """``_stored`` while the scan may still be creating the file: a file without its table yet holds nothing."""
    try:
        return _stored(cache)
    except sqlite3.OperationalError:
        return {}


def _same(a, b) -> bool:
    """Equal, floats within 2e-4 (the JSON's 4 decimals, a last-digit flip allowed)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 2e-4
    return a == b


@pytest.mark.slow
def test_kill_9_loses_nothing_stored_and_the_rescan_equals_an_uninterrupted_run(tmp_path, tiny_llama,
                                                                                 tiny_llama_adapter):
    # float32: a function's numbers do not depend on which batch it ran in (in bf16 they move in the last
    # digits with the batch's padding, and so may a greedy summary), so the two runs can be compared.
    args = ["--model", str(tiny_llama), "--adapter", str(tiny_llama_adapter), "--summaries", "all",
            "--dtype", "float32", "--token-budget", "512", "--format", "json", "--all", "-q"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    _write_repo(whole)
    shutil.copytree(whole, killed)
    reference = subprocess.run([CODELENS, "scan", str(whole), *args], capture_output=True, text=True, timeout=600)
    assert reference.returncode in (0, 1), reference.stderr

    process = subprocess.Popen([CODELENS, "scan", str(killed), *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    cache = killed / ".codelens-cache" / "results.sqlite"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None and not (cache.is_file() and _stored_yet(cache)):
        time.sleep(0.2)
    assert process.poll() is None, "the scan ended before it could be killed: make the repository bigger"
    stored = _stored(cache)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL

    with sqlite3.connect(cache) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rescan = subprocess.run([CODELENS, "scan", str(killed), *args], capture_output=True, text=True, timeout=600)
    assert rescan.returncode == reference.returncode, rescan.stderr
    after = _stored(cache)
    assert all(after[key] == value for key, value in stored.items()), "a stored result changed or vanished"
    report = json.loads(rescan.stdout)
    assert 0 < report["stats"]["cache_hits"] < report["stats"]["unique"]
    expected = json.loads(reference.stdout)
    assert _same({k: v for k, v in report.items() if k != "stats"}, {k: v for k, v in expected.items() if k != "stats"})


@pytest.mark.slow
def test_case26_an_interrupted_scan_resumes_to_the_uninterrupted_results(tmp_path, tiny_llama, tiny_llama_adapter):
    """Issue #23, case 26 (low): a SIGINT-resumed scan was reported to differ from an uninterrupted one in a
    third decimal. In bf16 a function's numbers depend on what shares its batch, so a resumed scan must run
    its remaining functions in exactly the batches the uninterrupted scan would have: the interrupted scan
    stores whole batches (Ctrl-C raises KeyboardInterrupt between them, and the engine's ``finally`` stores
    what finished), and the greedy batch plan over the rest reproduces the remaining batches. Checked here in
    bf16 with summaries, interrupted after a third of the batches as Ctrl-C interrupts it: every number and
    summary equal, bit for bit."""
    from codelens.cache import ResultCache
    from codelens.discovery import discover
    from codelens.engine import EngineSettings, analyse
    from codelens.engine.runner import LocalScorer
    from codelens.model.loading import load_model
    from codelens.model.options import ModelSpec
    from codelens.parsing import parse_files

    repo = tmp_path / "repo"
    _write_repo(repo, files=4, per_file=20)
    units = parse_files(discover(repo).files, workers=1).units
    loaded = load_model(ModelSpec(model=str(tiny_llama), adapter=str(tiny_llama_adapter), dtype="bfloat16"))
    settings = EngineSettings(summaries="all", token_budget=256)
    whole, stats = analyse(units, loaded, settings)
    assert stats.batches >= 6

    def interrupting(functions, summarise, on_batch):
        done = []

        def counted(batch):
            on_batch(batch)
            done.append(batch)
            if len(done) == stats.batches // 3:
                raise KeyboardInterrupt  # what Ctrl-C raises between two batches
        LocalScorer(loaded, settings)(functions, summarise, counted)

    with ResultCache(tmp_path / "cache.sqlite") as cache, pytest.raises(KeyboardInterrupt):
        analyse(units, loaded, settings, cache, scorer=interrupting)
    with ResultCache(tmp_path / "cache.sqlite") as cache:
        resumed, again = analyse(units, loaded, settings, cache)
    assert 0 < again.cache_hits < again.unique
    for unit_hash, result in whole.items():
        other = resumed[unit_hash]
        assert (result.defect_logit, result.defect_probability, result.summary, result.summary_confidence,
                result.bug) == (other.defect_logit, other.defect_probability, other.summary,
                                other.summary_confidence, other.bug), unit_hash
        assert result.embedding.tobytes() == other.embedding.tobytes(), unit_hash
