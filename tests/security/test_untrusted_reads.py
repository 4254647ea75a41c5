"""Every read of an untrusted file is non-blocking and bounded, every value from one is validated: a FIFO,
a device or a wrong-typed value is a clear error or a skipped file naming it, never a hang, a MemoryError
or a traceback.

Issue #23's cases 9, 10 (medium) and 13, 14, 15, 16 (low), one test each; each failed before its fix.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from codelens.cli.main import main
from codelens.discovery import discover
from tests.security.test_repository_trust import CALC, make_repo

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def finishes(call, seconds: float = 30.0):
    """``call()``'s result or exception, or a test failure when it is still blocked after ``seconds`` (the
    blocked thread is a daemon: the test run goes on without it)."""
    box: dict = {}

    def target():
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


@needs_fifo
def test_case09_fifos_as_ignore_files_baseline_and_adapter_metadata_do_not_hang(tmp_path):
    """Medium: a FIFO as .gitignore, .git/info/exclude, the repository's baseline or an adapter's
    codelens.json blocked the scan for ever."""
    from codelens.baseline import load_baseline
    from codelens.errors import CodelensError
    from codelens.model.adapter_meta import AdapterMetadata
    from codelens.settings import resolve_config

    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, "sub/mod.py": CALC})
    (repo / ".git" / "info").mkdir()
    os.mkfifo(repo / ".gitignore")
    os.mkfifo(repo / "sub" / ".gitignore")
    os.mkfifo(repo / ".git" / "info" / "exclude")
    found = finishes(lambda: discover(repo))
    assert [f.rel for f in found.files] == ["calc.py", "sub/mod.py"]
    assert {(s.rel, s.reason) for s in found.skipped} == {
        (".gitignore", "not-a-file"), ("sub/.gitignore", "not-a-file"), (".git/info/exclude", "not-a-file")}

    os.mkfifo(repo / "baseline.json")
    with pytest.raises(CodelensError, match="not a regular file"):
        finishes(lambda: load_baseline(repo / "baseline.json"))
    (repo / ".adapter").mkdir()
    os.mkfifo(repo / ".adapter" / "codelens.json")
    with pytest.raises(CodelensError, match="not a regular file"):
        finishes(lambda: AdapterMetadata.load(repo / ".adapter"))
    # the repository's config naming that adapter: the folder holds a FIFO, so it is not used at all (the
    # model loaders read its files with plain, blocking reads)
    (repo / "codelens.toml").write_text('adapter = ".adapter"\n')
    config = finishes(lambda: resolve_config(repo, {}))
    assert config.adapter is None and any("codelens.json is not a regular file" in note for note in config.notes)


def test_case10_a_device_as_ignore_file_or_baseline_is_no_memory_error(tmp_path, monkeypatch):
    """Medium: a character device (here reached through a link to /dev/zero) as .gitignore gave a
    MemoryError: an endless read. Devices are refused before they are opened."""
    from codelens.baseline import load_baseline
    from codelens.errors import CodelensError

    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    (repo / ".gitignore").symlink_to("/dev/zero")
    found = finishes(lambda: discover(repo))
    assert [f.rel for f in found.files] == ["calc.py"] and (".gitignore", "not-a-file") in {
        (s.rel, s.reason) for s in found.skipped}
    with pytest.raises(CodelensError, match="not a regular file"):
        finishes(lambda: load_baseline("/dev/zero"))


def test_case13_a_huge_max_file_bytes_is_a_clear_error(capsys, tmp_path):
    """Low: `--max-file-bytes 9223372036854775807` overflowed inside the read (a traceback, exit 3)."""
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    code, _, err = run(capsys, "scan", str(repo), "--max-file-bytes", str(2**63 - 1))
    assert code == 2 and "max-file-bytes = 9223372036854775807 must be between 1 and" in err
    assert "Traceback" not in err
    # the reader itself no longer overflows, whatever limit a library caller passes
    assert [f.rel for f in discover(repo, max_file_bytes=2**63 - 1).files] == ["calc.py"]


@pytest.mark.parametrize("where", ["cli", "config"])
def test_case14_a_glob_ending_in_a_backslash_is_a_clear_error(capsys, tmp_path, where):
    """Low: a glob ending in `\\` (command line or config) crashed in pathspec with a traceback."""
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    if where == "cli":
        code, _, err = run(capsys, "scan", str(repo), "--exclude", "build\\")
        expected = "exclude glob 'build\\\\' is not a valid pattern"
    else:
        (repo / "codelens.toml").write_text('[per-path."tests\\\\"]\nfail-on = "never"\n')
        code, _, err = run(capsys, "scan", str(repo))
        expected = "per-path glob 'tests\\\\' is not a valid pattern"
    assert code == 2 and expected in err and "Traceback" not in err, err


@pytest.mark.parametrize("change", [
    ({"thresholds": {"defect": "high"}}, "thresholds.defect = 'high' is not a probability"),
    ({"tasks": "defect"}, "tasks = 'defect' is not a list of"),
    ({"calibration": {"defect_precision": [[0.5]]}}, "calibration.defect_precision"),
    ({"languages": [1]}, "languages = [1] is not a list of language names"),
    ({"prompt": {"template": "{code}{code.__class__}"}}, "the prompt template must hold {code} exactly once"),
    ({"prompt": "x"}, "prompt is str, not an object"),
    ({"clone_dim": True}, "clone_dim = True is not a size"),
])
def test_case15_wrong_types_in_an_adapters_codelens_json_are_one_clear_error(capsys, tmp_path, tiny_llama,
                                                                            tiny_llama_adapter, change):
    """Low: wrong-typed values in an adapter's codelens.json crashed the scan midway (a traceback)."""
    values, message = change
    adapter = tmp_path / "adapter"
    shutil.copytree(tiny_llama_adapter, adapter)
    meta = json.loads((adapter / "codelens.json").read_text())
    for key, value in values.items():
        meta[key] = {**meta[key], **value} if isinstance(value, dict) and isinstance(meta.get(key), dict) else value
    (adapter / "codelens.json").write_text(json.dumps(meta))
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    code, _, err = run(capsys, "scan", str(repo), "--no-cache", "--model", str(tiny_llama), "--adapter", str(adapter))
    assert code == 2 and message in err and "Traceback" not in err, err


@pytest.mark.parametrize("kind", ["missing", "fifo", "folder"])
def test_case16_a_codelens_config_that_is_not_a_file_is_an_error(capsys, tmp_path, monkeypatch, kind):
    """Low: CODELENS_CONFIG naming a missing file or a FIFO was silently ignored (the FIFO could block)."""
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    target = tmp_path / "user.toml"
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("needs FIFOs")
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    monkeypatch.setenv("CODELENS_CONFIG", str(target))
    code, _, err = finishes(lambda: run(capsys, "config", "show", str(repo)))
    assert code == 2 and "CODELENS_CONFIG" in err and str(target) in err
    assert ("does not exist" if kind == "missing" else "not a regular file") in err
    monkeypatch.setenv("CODELENS_CONFIG", os.devnull)  # the documented "no user config"
    assert run(capsys, "config", "show", str(repo))[0] == 0
