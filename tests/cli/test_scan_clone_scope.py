"""Clones on scoped scans: a clone blocks only when the change made it; clone lists follow the scope and
the baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codelens.cli.main import main
from codelens.config import ScanConfig
from codelens.scan import exit_code_for, run_scan
from tests.cli.test_scan_scope import func
from tests.hooks.gitrepo import git, init_repo, write

FILES = {
    "a.py": func("first") + "\n\n" + func("second", "-"),
    "b.py": func("first"),  # a type-1 copy of a.py's first
    "c.py": func("other", "*", " * 3"),
}


@pytest.fixture()
def options(tiny_llama, tiny_llama_adapter) -> list[str]:
    # No CL100 (threshold 1) and no semantic pairs (threshold 1): the exact copies are the only findings
    # that can block; CL300 is info, below fail-on low.
    return ["--model", str(tiny_llama), "--adapter", str(tiny_llama_adapter), "--defect-threshold", "1.0",
            "--clone-threshold", "1.0", "--summaries", "none", "--fail-on", "low"]


def scan_json(capsys, repo: Path, options: list[str], *args: str) -> tuple[int, dict, str]:
    code = main(["scan", str(repo), *options, "-f", "json", *args])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return code, json.loads(out), err


def clone_findings(report: dict) -> list[tuple[str, int]]:
    return [(f["path"], f["start_line"]) for f in report["findings"] if f["code"] == "CL200"]


def test_file_list_clone_in_untouched_code_is_reported_but_does_not_block(capsys, tmp_path, options):
    repo = init_repo(tmp_path / "r", FILES)
    write(repo, {"a.py": FILES["a.py"].replace("total - item", "total - item - 1")})  # edits second only
    git(repo, "add", "a.py")
    code, report, err = scan_json(capsys, repo, options, "--", str(repo / "a.py"))  # as pre-commit calls it
    assert clone_findings(report) == [("a.py", 1)]
    assert code == 0 and "1 clone finding(s) touch no changed function" in err
    # The change now touches one side of the pair (a literal: still a type-2 clone): the clone blocks.
    write(repo, {"a.py": FILES["a.py"].replace("total = 0", "total = 1")})
    git(repo, "add", "a.py")
    code, report, _ = scan_json(capsys, repo, options, "--", str(repo / "a.py"))
    assert clone_findings(report) == [("a.py", 1)] and code == 1


def test_file_list_counts_a_change_on_the_twins_side(tmp_path, tiny_llama, tiny_llama_adapter):
    repo = init_repo(tmp_path / "r", FILES)
    write(repo, {"b.py": FILES["b.py"].replace("total = 0", "total = 1")})  # the twin changed, not a.py
    config = ScanConfig(model=str(tiny_llama), adapter=str(tiny_llama_adapter), defect_threshold=1.0,
                        clone_threshold=1.0, summaries="none", cache_dir=str(tmp_path / "cache"))
    outcome = run_scan(repo, config, only=[repo / "a.py"])
    assert [(f.path, f.code) for f in outcome.report.findings if f.code == "CL200"] == [("a.py", "CL200")]
    assert outcome.advisory == set() and exit_code_for(outcome, config) == 1


def test_outside_git_every_clone_counts(tmp_path, tiny_llama, tiny_llama_adapter):
    folder = tmp_path / "plain"
    write(folder, FILES)
    config = ScanConfig(model=str(tiny_llama), adapter=str(tiny_llama_adapter), defect_threshold=1.0,
                        clone_threshold=1.0, summaries="none", cache=False)
    outcome = run_scan(folder, config, only=[folder / "a.py"])
    assert outcome.advisory == set() and exit_code_for(outcome, config) == 1


def test_staged_scan_reports_and_counts_only_clones_of_changed_functions(capsys, tmp_path, options):
    repo = init_repo(tmp_path / "r", FILES)
    write(repo, {"a.py": FILES["a.py"].replace("total - item", "total - item - 1")})
    git(repo, "add", "a.py")
    code, report, _ = scan_json(capsys, repo, options, "--staged")
    assert (code, clone_findings(report), report["clones"]) == (0, [], [])
    write(repo, {"b.py": FILES["b.py"].replace("total = 0", "total = 1")})
    git(repo, "add", "b.py")
    code, report, _ = scan_json(capsys, repo, options, "--staged")
    assert (code, clone_findings(report)) == (1, [("b.py", 1)])


def test_diff_base_clone_list_drops_pairs_with_no_changed_side(capsys, tmp_path, options):
    repo = init_repo(tmp_path / "r", FILES)
    code, report, _ = scan_json(capsys, repo, options)
    assert [(p["a"]["path"], p["b"]["path"]) for p in report["clones"]] == [("a.py", "b.py")]
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, {"c.py": FILES["c.py"].replace("* 3", "* 4")})
    git(repo, "commit", "-q", "-am", "edit other")
    code, report, _ = scan_json(capsys, repo, options, "--diff-base", "main")
    assert (code, report["clones"], clone_findings(report)) == (0, [], [])
    write(repo, {"b.py": FILES["b.py"].replace("total = 0", "total = 1")})
    code, report, _ = scan_json(capsys, repo, options, "--diff-base", "main")
    assert [(p["a"]["path"], p["b"]["path"], p["kind"]) for p in report["clones"]] == [("a.py", "b.py", "type-2")]
    assert code == 1 and clone_findings(report) == [("b.py", 1)]


def test_baselined_clones_leave_the_clone_list_and_the_text_classes(capsys, tmp_path, options):
    repo = init_repo(tmp_path / "r", FILES)
    baseline = tmp_path / "baseline.json"
    assert main(["baseline", "create", str(repo), *options[:6], "--output", str(baseline), "-q"]) == 0
    capsys.readouterr()
    code, report, _ = scan_json(capsys, repo, options, "--baseline", str(baseline))
    assert (code, report["clones"], clone_findings(report)) == (0, [], [])
    assert main(["scan", str(repo), *options, "-f", "text", "--baseline", str(baseline)]) == 0
    text = capsys.readouterr().out
    assert "CL200" not in text and "first" not in text
    assert main(["scan", str(repo), *options, "-f", "text"]) == 1
    assert "CL200" in capsys.readouterr().out
