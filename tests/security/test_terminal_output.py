"""What codelens prints from the repository cannot drive the terminal: control characters, C1 controls and
bidi overrides in file names, comments and messages are shown escaped, and diff headers are quoted as git
quotes them.

Issue #23's cases 7 (medium), 23 and 24 (low), one test each; each failed before its fix.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

from codelens.cli.main import main
from codelens.escapes import BIDI_CONTROLS
from codelens.report import render
from tests.report.scenario import build_report
from tests.security.test_repository_trust import CALC, make_repo, models

OBEYED = re.compile(f"[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f\\u2028\\u2029{BIDI_CONTROLS}]")
"""What a terminal obeys rather than shows (a newline aside: it ends the lines codelens prints)."""
ESC_NAME = "bad\x1b[2K\x1b[1A\u202eyp.py"
"""A file name that erases the line above on a terminal, and reads backwards after the override."""


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_case07_warnings_escape_file_names_and_suppression_comments(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Medium: warnings on stderr printed raw terminal escapes from file names (a syntax error warning) and
    suppression comments (an unused-suppression warning): a repository could erase or forge lines there."""
    repo = make_repo(tmp_path / "repo", {
        ESC_NAME: CALC + "def broken(:\n",  # a syntax error: warned about by name
        # an unknown code: the marker is always unused, so always warned about
        "other.py": CALC.replace("scale", "other").replace("def other", "# codelens: ignore[CL999\x1b[2K\u202e]\ndef other"),
    })
    code, out, err = run(capsys, "scan", str(repo), "--no-cache", *models(tiny_llama, tiny_llama_adapter))
    assert code in (0, 1), err
    assert "syntax error" in err and "unused suppression" in err, err
    assert not OBEYED.search(err) and not OBEYED.search(out)
    assert "bad\\x1b[2K\\x1b[1A\\u202eyp.py" in err and "ignore[CL999\\x1b[2K\\u202e]" in err


def test_case23_docstring_diff_headers_are_quoted_as_git_quotes_them(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Low: `codelens docstring` printed file names raw in its diff headers (escapes, newlines, bidi
    controls); they are quoted as git quotes them, and `git apply` still takes the patch."""
    repo = make_repo(tmp_path / "repo", {ESC_NAME: CALC})
    subprocess.run(["git", "init", "-q", str(repo)], check=True, capture_output=True)
    code, out, err = run(capsys, "docstring", str(repo), "--no-cache", *models(tiny_llama, tiny_llama_adapter)[:4])
    assert code == 0, err
    assert '--- "a/bad\\033[2K\\033[1A\\342\\200\\256yp.py"' in out
    assert '+++ "b/bad\\033[2K\\033[1A\\342\\200\\256yp.py"' in out
    assert not OBEYED.search(out)
    patch = tmp_path / "change.patch"
    patch.write_text(out)
    applied = subprocess.run(["git", "apply", "--check", str(patch)], cwd=repo, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr


def test_case24_github_annotations_and_the_text_report_escape_file_names():
    """Low: GitHub annotations printed ESC and bidi controls of file names raw (the runner echoes them to
    the job log); the text report's escaping missed C1 controls and bidi overrides."""
    from codelens.report import REPORTERS

    report = build_report()
    odd = {path: f"{path}\x1b[31m\x9b2J\u202e\n::error::forged" for path in {u.path for u in report.units}}
    report.units = [replace(u, path=odd[u.path], qualname=f"q\u2066{u.qualname}") for u in report.units]
    report.findings = [replace(f, path=odd.get(f.path, f.path), qualname=f"q\u2066{f.qualname}")
                       for f in report.findings]
    for fmt in ("github", "text", "concise"):
        if fmt in REPORTERS:
            output = render(report, fmt)
            assert not OBEYED.search(output), (fmt, output[:500])
    github = render(report, "github")
    assert github.count("\n") == len(report.findings)  # still one command per finding
    assert "\\x1b[31m\\x9b2J\\u202e%0A%3A%3Aerror%3A%3Aforged" in github
