"""Scan scope on real git histories: --staged, --diff-base, file lists (pre-commit), suppressions.

Partial scans must not depend on how a file list is split across calls (pre-commit splits long
lists): a file's findings equal those a full scan reports for it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codelens.cli.main import main
from codelens.config import ScanConfig
from codelens.scan import run_scan
from tests.hooks.gitrepo import git, init_repo, write


def func(name: str, op: str = "+", extra: str = "") -> str:
    return (f"def {name}(items, limit):\n    total = 0\n    for item in items:\n"
            f"        if item > limit:\n            total = total {op} item{extra}\n    return total\n")


FILES = {
    "a.py": func("first") + "\n\n" + func("second", "-"),
    "b.py": func("other", "*"),
    "pkg/c.py": func("first_copy").replace("first_copy", "first") + "\n\n" + func("third", "+", " * 2"),
}


@pytest.fixture()
def models(tiny_llama, tiny_llama_adapter) -> list[str]:
    return ["--model", str(tiny_llama), "--adapter", str(tiny_llama_adapter), "--defect-threshold", "0.0",
            "--summaries", "none", "--fail-on", "low"]


def analysed(capsys, repo: Path, models: list[str], *args: str) -> tuple[int, set[tuple[str, str]]]:
    code = main(["scan", str(repo), *models, "-f", "json", "--all", *args])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return code, {(f["path"], f["qualname"]) for f in json.loads(out)["functions"]}


def test_staged_scans_only_functions_touched_by_the_index(capsys, tmp_path, models):
    repo = init_repo(tmp_path / "r", FILES)
    write(repo, {"a.py": FILES["a.py"].replace("total - item", "total - item - 1"),
                 "b.py": FILES["b.py"].replace("total * item", "total * item * 3")})
    git(repo, "add", "a.py")  # b.py stays an unstaged edit
    assert analysed(capsys, repo, models, "--staged") == (1, {("a.py", "second")})
    git(repo, "commit", "-q", "-m", "edit second")
    # nothing staged: nothing to analyse, a clean exit
    assert analysed(capsys, repo, models, "--staged") == (0, set())


def test_diff_base_covers_commits_uncommitted_edits_and_new_files(capsys, tmp_path, models):
    repo = init_repo(tmp_path / "r", FILES)
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, {"a.py": FILES["a.py"].replace("total + item", "total + item + 1")})
    git(repo, "commit", "-q", "-am", "edit first")
    write(repo, {"b.py": FILES["b.py"].replace("total * item", "total * item * 3"), "new.py": func("fresh")})
    expected = {("a.py", "first"), ("b.py", "other"), ("new.py", "fresh")}
    assert analysed(capsys, repo, models, "--diff-base", "main") == (1, expected)
    # the merge base counts, not main's tip: later commits on main do not widen the scope
    git(repo, "stash", "-q", "-u")
    git(repo, "checkout", "-q", "main")
    write(repo, {"pkg/c.py": FILES["pkg/c.py"].replace("* 2", "* 4")})
    git(repo, "commit", "-q", "-am", "main moves on")
    git(repo, "checkout", "-q", "feature")
    git(repo, "stash", "pop", "-q")
    assert analysed(capsys, repo, models, "--diff-base", "main")[1] == expected


def test_bad_revision_and_no_repository_are_exit_2(capsys, tmp_path, models):
    repo = init_repo(tmp_path / "r", FILES)
    assert main(["scan", str(repo), *models, "--diff-base", "no-such-branch"]) == 2
    assert "unknown git revision 'no-such-branch'" in capsys.readouterr().err
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.py").write_text(FILES["a.py"], encoding="utf-8")
    assert main(["scan", str(plain), *models, "--staged"]) == 2
    assert "not inside a git work tree" in capsys.readouterr().err


def test_file_arguments_limit_the_report_to_those_files(capsys, tmp_path, models):
    repo = init_repo(tmp_path / "r", FILES)
    assert analysed(capsys, repo, models, str(repo / "b.py"))[1] == {("b.py", "other")}


def test_ignore_suppressions_reports_what_comments_hide(capsys, tmp_path, models):
    repo = init_repo(tmp_path / "r", {"b.py": "# codelens: ignore-file\n" + FILES["b.py"]})
    code = main(["scan", str(repo), *models, "-f", "jsonl"])
    assert (code, capsys.readouterr().out) == (0, "")
    code = main(["scan", str(repo), *models, "-f", "jsonl", "--ignore-suppressions"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1 and [json.loads(line)["code"] for line in lines] == ["CL100", "CL300"]


def _findings(outcome) -> list[tuple]:
    return sorted((f.code, f.path, f.start_line, f.message) for f in outcome.report.findings)


def test_findings_do_not_depend_on_how_the_file_list_is_split(tmp_path, tiny_llama, tiny_llama_adapter):
    from codelens.model.loading import load_model
    from codelens.model.options import ModelSpec

    repo = init_repo(tmp_path / "r", FILES)
    loaded = load_model(ModelSpec(model=str(tiny_llama), adapter=str(tiny_llama_adapter)))

    def scan(cache: str, only=None):
        config = ScanConfig(model=str(tiny_llama), adapter=str(tiny_llama_adapter), summaries="none",
                            defect_threshold=0.5, clone_threshold=0.0, cache_dir=str(tmp_path / cache))
        return run_scan(repo, config, only=only, loaded=loaded)

    full = [f for f in _findings(scan("full")) if f[1] in ("a.py", "b.py")]
    assert any(f[0] == "CL200" for f in full)  # the test needs clones across the split
    together = _findings(scan("together", [repo / "a.py", repo / "b.py"]))
    split = sorted(_findings(scan("split", [repo / "a.py"])) + _findings(scan("split", [repo / "b.py"])))
    assert together == split == full


def test_staged_scan_of_a_single_file(capsys, tmp_path, models):
    repo = init_repo(tmp_path / "r", FILES)
    write(repo, {"a.py": FILES["a.py"].replace("total - item", "total - item - 1"),
                 "pkg/c.py": FILES["pkg/c.py"].replace("* 2", "* 4")})
    git(repo, "add", "a.py", "pkg/c.py")
    assert analysed(capsys, repo / "a.py", models, "--staged") == (1, {("a.py", "second")})
    assert analysed(capsys, repo / "pkg" / "c.py", models, "--staged") == (1, {("c.py", "third")})


def test_suppressions_count_in_a_file_with_a_declared_encoding(capsys, tmp_path, models):
    source = "# -*- coding: latin-1 -*-\n# codelens: ignore-file\n" + FILES["b.py"] + '\n\nNAME = "café"\n'
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "b.py").write_bytes(source.encode("latin-1"))
    code = main(["scan", str(repo), *models, "-f", "jsonl"])
    assert (code, capsys.readouterr().out) == (0, "")
