"""A scan end to end with the rule settings: test code out by default, select / ignore, a suppression that
accepts a clone pair for both members, --blocking-only (the hook's view), --statistics, clone size knobs,
and `codelens docstring` saying what it left out."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from codelens.cli.main import main
from tests.cli.test_scan_scope import func
from tests.hooks.gitrepo import init_repo

FILES = {
    "pkg/a.py": func("first") + "\n\n" + func("second", "-", " * 2"),
    "pkg/b.py": func("first"),  # a type-1 copy of pkg/a.py's first
    "tests/test_a.py": func("test_first") + "\n\n" + func("test_copy").replace("test_copy", "test_first_again"),
}


@pytest.fixture()
def models(tiny_llama, tiny_llama_adapter) -> list[str]:
    # Every function is a likely defect (threshold 0: info / low by the adapter's precision); clones exact only.
    return ["--model", str(tiny_llama), "--adapter", str(tiny_llama_adapter), "--defect-threshold", "0.0",
            "--clone-threshold", "1.0", "--no-cache"]


def scan(capsys, repo: Path, *args: str) -> tuple[int, str, str]:
    code = main(["scan", str(repo), *args])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return code, out, err


def findings(out: str) -> list[tuple[str, str]]:
    return sorted((f["code"], f["path"]) for f in json.loads(out)["findings"])


def test_test_code_is_out_of_every_rule_by_default(capsys, tmp_path, models):
    repo = init_repo(tmp_path / "r", FILES)
    _, out, _ = scan(capsys, repo, *models, "-f", "json", "--summaries", "none")
    assert not [f for f in findings(out) if f[1].startswith("tests/")]
    assert json.loads(out)["stats"]["computed"] == 2  # pkg's three functions, two distinct: tests never ran
    _, out, _ = scan(capsys, repo, *models, "-f", "json", "--summaries", "none", "--defect-tests", "--clone-tests")
    assert [f for f in findings(out) if f[1].startswith("tests/")] == [
        ("CL100", "tests/test_a.py"), ("CL100", "tests/test_a.py"), ("CL200", "tests/test_a.py"),
        ("CL200", "tests/test_a.py")]


def test_select_and_ignore_choose_the_rules_and_a_rule_off_costs_no_summaries(capsys, tmp_path, models):
    repo = init_repo(tmp_path / "r", FILES)
    _, out, _ = scan(capsys, repo, *models, "-f", "json", "--select", "CL1,CL3", "--ignore", "CL300")
    report = json.loads(out)
    assert {code for code, _ in findings(out)} == {"CL100"}
    assert report["stats"]["summaries_generated"] == 0
    _, out, _ = scan(capsys, repo, *models, "-f", "json", "--select", "CL2")
    assert findings(out) == [("CL200", "pkg/a.py"), ("CL200", "pkg/b.py")]


def test_a_suppression_on_one_member_accepts_the_clone_pair_for_both(capsys, tmp_path, models):
    files = dict(FILES, **{"pkg/b.py": "# codelens: ignore[CL200]\n" + FILES["pkg/b.py"]})
    repo = init_repo(tmp_path / "r", files)
    code, out, err = scan(capsys, repo, *models, "-f", "json", "--select", "CL2")
    assert findings(out) == [] and json.loads(out)["clones"] == []
    assert code == 0 and "unused suppression" not in err
    # A scan of the other member's file alone (as pre-commit runs it) sees the acceptance too.
    code, out, _ = scan(capsys, repo, *models, "-f", "json", "--select", "CL2", "--", str(repo / "pkg/a.py"))
    assert findings(out) == [] and code == 0


def test_blocking_only_shows_what_blocks_and_counts_the_rest_in_one_line(capsys, tmp_path, models):
    repo = init_repo(tmp_path / "r", FILES)
    code, out, _ = scan(capsys, repo, *models, "--blocking-only", "--fail-on", "never", "--summaries", "none")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[0] == "No blocking findings."
    assert lines[1] == ("8 findings not shown (they do not block): 3 CL100, 2 CL200, 3 CL300; "
                        "run `codelens scan` to see them.")
    code, out, _ = scan(capsys, repo, *models, "--blocking-only", "--select", "CL2", "--summaries", "none")
    assert code == 1 and out.count(": CL200 clone first duplicates") == 2 and "not shown" not in out


def test_statistics_and_clone_size_knobs(capsys, tmp_path, models):
    repo = init_repo(tmp_path / "r", FILES)
    code, out, _ = scan(capsys, repo, *models, "--statistics", "--summaries", "none", "--select", "CL1,CL2")
    assert code == 1
    assert out.splitlines()[0] == "3  CL100  likely-defect  " + out.splitlines()[0].split("likely-defect  ")[1]
    assert out.splitlines()[1] == "2  CL200  clone          (low 2)"
    _, out, _ = scan(capsys, repo, *models, "--statistics", "--select", "CL2", "--clone-min-lines", "7")
    assert out == ""  # the copies have 6 lines
    _, out, _ = scan(capsys, repo, *models, "--statistics", "--select", "CL2", "--clone-min-tokens", "200")
    assert out == ""


def test_docstring_says_how_many_suggestions_it_left_out(capsys, tmp_path, tiny_llama, tiny_llama_adapter,
                                                         monkeypatch):
    from codelens.tasks import summary

    # Every suggestion counted as a template: none may be written, and the command says why.
    monkeypatch.setattr(summary, "drop_templates", functools.partial(summary.drop_templates, repeats=1))
    repo = init_repo(tmp_path / "r", FILES)
    code = main(["docstring", str(repo), "--model", str(tiny_llama), "--adapter", str(tiny_llama_adapter),
                 "--summary-threshold", "-100", "--write", "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no summary passed the gate: 2 suggestions left out: 2 templates (the same sentence for 4 or more" in err
    assert (repo / "pkg/a.py").read_text(encoding="utf-8") == FILES["pkg/a.py"]


def test_left_out_names_both_reasons_and_says_nothing_when_none_was():
    from codelens.cli.docstring_cmd import left_out

    assert left_out({"summaries_below_gate": 3, "summary_templates": 1}, -1.5) == (
        "4 suggestions left out: 3 below the confidence gate (summary-threshold -1.5), 1 template (the same "
        "sentence for 4 or more functions)")
    assert left_out({"summaries_below_gate": 0, "summary_templates": 0}, -1.5) is None
    assert left_out({}, None) is None
