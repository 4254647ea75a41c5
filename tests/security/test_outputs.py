"""What codelens writes (hooks, reports, patches, baselines) says what it means and overwrites nothing it
should not.

Hardening issue #13, items 14, 15 and 17; each test failed before the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from codelens.cli.hook_cmd import install_hook
from codelens.cli.main import main
from codelens.errors import CodelensError

CALC = "def scale(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor)\n    return out\n"
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def models(tiny_llama: Path, adapter: Path) -> list[str]:
    return ["--model", str(tiny_llama), "--adapter", str(adapter)]


@needs_git
def test_a_hook_that_only_mentions_codelens_is_not_ours_to_replace(tmp_path):
    """Item 14: any hook holding the text "codelens-hook" was taken for ours and overwritten without a backup."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    mine = "#!/bin/sh\n# runs codelens-hook checks, then my linters\nmake lint\n"
    hook.write_text(mine)
    with pytest.raises(CodelensError, match="was not written by codelens"):
        install_hook(repo, command="codelens")
    assert hook.read_text() == mine
    _, backup = install_hook(repo, force=True, command="codelens")
    assert backup is not None and backup.read_text() == mine
    # a second foreign hook, forced over too, never overwrites the first backup
    hook.write_text("#!/bin/sh\necho second\n")
    _, second = install_hook(repo, force=True, command="codelens")
    assert second != backup and backup.read_text() == mine and second.read_text() == "#!/bin/sh\necho second\n"
    # the hook codelens wrote is its own: replaced without --force, no backup
    assert install_hook(repo, command="codelens")[1] is None


def test_a_file_name_with_a_newline_cannot_fake_report_lines(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 15: raw newlines in file names printed lines of their own in the text report."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py\nfake.py:1: CL100 likely-defect x.py").write_text(CALC)
    code, out, _ = run(capsys, "scan", str(repo), "--summaries", "none", "--defect-threshold", "0", "--no-cache",
                       *models(tiny_llama, tiny_llama_adapter))
    assert code == 1
    lines = out.splitlines()
    assert not any(line.startswith("fake.py") for line in lines)
    assert any(line.startswith("a.py\\nfake.py:1: CL100 likely-defect x.py:") and " CL100 " in line for line in lines)


def test_sarif_keeps_a_backslash_in_a_file_name(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 15: SARIF turned `back\\slash.py` into `back/slash.py`, a file that does not exist."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "back\\slash.py").write_text(CALC)
    code, out, _ = run(capsys, "scan", str(repo), "--format", "sarif", "--summaries", "none", "--defect-threshold",
                       "0", "--no-cache", *models(tiny_llama, tiny_llama_adapter))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(out)["runs"][0]["results"]}
    assert uris == {"back%5Cslash.py"}


@pytest.mark.slow
@needs_git
def test_the_docstring_diff_of_a_latin1_file_applies(tmp_path):
    """Item 15: the diff of a file declared latin-1 was printed as UTF-8, and `git apply` rejected it.

    The shipped model writes the summaries (a random tiny model's may not fit latin-1), all of them: the
    confidence gate is not what this test is about."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    source = "# -*- coding: latin-1 -*-\n# Übersicht: café\n" + CALC.replace("out = []", "out = []  # élan")
    (repo / "calc.py").write_bytes(source.encode("latin-1"))
    result = subprocess.run([str(Path(sys.executable).parent / "codelens"), "docstring", str(repo),
                             "--summary-threshold", "-100"], capture_output=True, timeout=300)
    assert result.returncode == 0 and result.stdout, result.stderr
    assert "café".encode("latin-1") in result.stdout  # the context lines carry the file's own bytes
    patch = tmp_path / "change.patch"
    patch.write_bytes(result.stdout)
    applied = subprocess.run(["git", "apply", str(patch)], cwd=repo, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
    text = (repo / "calc.py").read_bytes().decode("latin-1")
    assert '"""' in text and "café" in text and "élan" in text


def test_baselines_hold_no_line_numbers_and_are_readable(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 17: a baseline stored line numbers (moving code rewrote it) and was written 0600."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    args = [*models(tiny_llama, tiny_llama_adapter), "--defect-threshold", "0"]
    previous = os.umask(0o022)
    try:
        assert run(capsys, "baseline", "create", str(repo), *args)[0] == 0
    finally:
        os.umask(previous)
    baseline = repo / "codelens-baseline.json"
    first = baseline.read_text()
    assert '"line"' not in first and stat.S_IMODE(baseline.stat().st_mode) == 0o644
    (repo / "calc.py").write_text("\n\n\n" + CALC)  # the function moves down three lines
    run(capsys, "baseline", "create", str(repo), *args)
    assert baseline.read_text() == first


def test_baseline_create_leaves_the_summaries_in_the_cache(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 17: `baseline create` did not generate summaries, so the next scan spent its time on them."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    assert run(capsys, "baseline", "create", str(repo), *models(tiny_llama, tiny_llama_adapter))[0] == 0
    code, out, _ = run(capsys, "scan", str(repo), "--format", "json", "--baseline",
                       str(repo / "codelens-baseline.json"), *models(tiny_llama, tiny_llama_adapter))
    stats = json.loads(out)["stats"]
    assert stats["computed"] == 0 and stats["summaries_generated"] == 0 and stats["cache_hits"] == 1


def test_the_clone_class_section_respects_the_baseline(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 17: baselined clones still filled the clone-class section (and the JSON's clone pairs)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text(CALC)
    (repo / "b.py").write_text(CALC)
    args = [*models(tiny_llama, tiny_llama_adapter), "--summaries", "none"]
    code, out, _ = run(capsys, "scan", str(repo), *args)
    assert "Clone classes (1)" in out
    run(capsys, "baseline", "create", str(repo), *args[:4])
    code, out, _ = run(capsys, "scan", str(repo), "--baseline", str(repo / "codelens-baseline.json"), *args)
    assert code == 0 and "Clone classes" not in out and "CL200" not in out
    code, out, _ = run(capsys, "scan", str(repo), "--format", "json", "--baseline",
                       str(repo / "codelens-baseline.json"), *args)
    assert json.loads(out)["clones"] == []
