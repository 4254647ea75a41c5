"""`codelens docstring`: a diff git can apply, --write, --overwrite, untouched bytes elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codelens.cli.main import main
from codelens.docstrings import python_docstring_line
from codelens.parsing import extract_units
from tests.hooks.gitrepo import git, init_repo

PY = '''import math


def spread(values):
    low = min(values)
    high = max(values)
    return high - low


def norm(vector):
    """Length of a vector."""
    total = sum(v * v for v in vector)
    return math.sqrt(total)


def _private(values):
    first = values[0]
    last = values[-1]
    return first + last
'''
JS = "function clamp(v, lo, hi) {\n  if (v < lo) return lo;\n  if (v > hi) return hi;\n  return v;\n}\n"


@pytest.fixture()
def models(tiny_llama, tiny_llama_adapter) -> list[str]:
    return ["--model", str(tiny_llama), "--adapter", str(tiny_llama_adapter)]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def summaries(capsys, repo: Path, models: list[str]) -> dict[str, str | None]:
    code, out, _ = run(capsys, "scan", str(repo), *models, "-f", "json", "--all", "--summaries", "all",
                       "--fail-on", "never")
    return {f["qualname"]: f["summary"] for f in json.loads(out)["functions"]}


@pytest.mark.slow
def test_diff_applies_with_git_and_equals_write(capsys, tmp_path, models):
    repo = init_repo(tmp_path / "r", {"stats.py": PY, "web/clamp.js": JS})
    suggested = summaries(capsys, repo, models)
    code, diff, _ = run(capsys, "docstring", str(repo), *models)
    assert code == 0
    assert suggested["spread"] and suggested["clamp"]  # the tiny model is deterministic
    assert f"+    {python_docstring_line(suggested['spread'])}\n" in diff
    assert f"+/** {suggested['clamp'].replace('*/', '* /')} */\n" in diff
    assert "norm" not in diff and "_private" not in diff  # documented / private functions are left alone
    (tmp_path / "change.diff").write_text(diff, encoding="utf-8")
    git(repo, "apply", str(tmp_path / "change.diff"))
    applied = {p: (repo / p).read_bytes() for p in ("stats.py", "web/clamp.js")}
    git(repo, "checkout", "--", ".")

    code, out, err = run(capsys, "docstring", str(repo), *models, "--write")
    assert code == 0 and out == "" and "written in" in err
    assert {p: (repo / p).read_bytes() for p in applied} == applied
    assert run(capsys, "docstring", str(repo), *models)[1] == ""  # nothing left to add
    units = {u.qualname: u for u in extract_units("stats.py", (repo / "stats.py").read_text(), "python").units}
    # a tiny random model's summary: control characters are dropped
    assert python_docstring_line(units["spread"].docstring) == python_docstring_line(suggested["spread"])


@pytest.mark.slow
def test_overwrite_replaces_existing_docstrings(capsys, tmp_path, models):
    repo = init_repo(tmp_path / "r", {"stats.py": PY})
    suggested = summaries(capsys, repo, models)
    code, diff, _ = run(capsys, "docstring", str(repo), *models, "--overwrite")
    assert code == 0
    assert suggested["norm"]
    assert '-    """Length of a vector."""\n' in diff
    assert f"+    {python_docstring_line(suggested['norm'])}\n" in diff


def test_crlf_and_byte_order_mark_survive_write(capsys, tmp_path, models):
    folder = tmp_path / "src"
    folder.mkdir()
    original = b"\xef\xbb\xbf" + PY.replace("\n", "\r\n").encode("utf-8")
    (folder / "stats.py").write_bytes(original)
    run(capsys, "docstring", str(folder), *models, "--write")
    updated = (folder / "stats.py").read_bytes()
    assert updated.startswith(b"\xef\xbb\xbf") and b"\n" not in updated.replace(b"\r\n", b"")
    kept = [line for line in updated.split(b"\r\n") if b'"""' not in line or b"Length" in line]
    assert kept == original.split(b"\r\n")  # only docstring lines were added


def test_missing_path_is_exit_2(capsys, tmp_path):
    code, _, err = run(capsys, "docstring", str(tmp_path / "absent"))
    assert code == 2 and "does not exist" in err


def test_write_keeps_a_byte_order_mark_and_a_declared_encoding(capsys, tmp_path, models):
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "bom.py").write_bytes(b"\xef\xbb\xbf" + PY.encode("utf-8"))
    latin = "# -*- coding: latin-1 -*-\n" + PY.replace("import math", "import math\nNAME = 'café'")
    (repo / "latin.py").write_bytes(latin.encode("latin-1"))
    code, _, _ = run(capsys, "docstring", str(repo), *models, "--write")
    assert code == 0
    data = (repo / "bom.py").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.decode("utf-8-sig").count('"""') == 4  # one docstring added
    text = (repo / "latin.py").read_bytes().decode("latin-1")
    assert text.startswith(latin[:40]) and "NAME = 'café'" in text
