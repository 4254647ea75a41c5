"""Baselines: exact file format, identity that survives moves, counts, and actionable load errors."""

from __future__ import annotations

import json

import pytest

from codelens.baseline import (
    Baseline,
    BaselineEntry,
    create_baseline,
    filter_new,
    load_baseline,
    save_baseline,
)
from codelens.errors import CodelensError
from codelens.findings import Finding, Severity


def _finding(code: str, qualname: str, unit_hash: str, path: str, line: int) -> Finding:
    return Finding(
        code=code, rule="r", path=path, start_line=line, end_line=line + 3, qualname=qualname,
        message="m", severity=Severity.LOW, confidence=0.5, unit_hash=unit_hash,
    )


PARSE = _finding("CL100", "Parser.parse", "aaa", "src/p.py", 10)
CLONE_A = _finding("CL200", "main", "ccc", "b/cli.py", 3)
CLONE_B = _finding("CL200", "main", "ccc", "a/cli.py", 7)

EXPECTED_TEXT = """{
  "entries": [
    {
      "code": "CL100",
      "count": 1,
      "paths": [
        "src/p.py"
      ],
      "qualname": "Parser.parse",
      "unit_hash": "aaa"
    },
    {
      "code": "CL200",
      "count": 2,
      "paths": [
        "a/cli.py",
        "b/cli.py"
      ],
      "qualname": "main",
      "unit_hash": "ccc"
    }
  ],
  "schema_version": 2,
  "tool": "codelens",
  "tool_version": "0.1.0"
}
"""


def test_saved_file_is_exact_and_independent_of_finding_order(tmp_path):
    first, second = tmp_path / "one" / "baseline.json", tmp_path / "two.json"
    save_baseline(create_baseline([PARSE, CLONE_A, CLONE_B], "0.1.0"), first)
    save_baseline(create_baseline([CLONE_B, CLONE_A, PARSE], "0.1.0"), second)
    assert first.read_text(encoding="utf-8") == EXPECTED_TEXT
    assert second.read_bytes() == first.read_bytes()
    assert [p.name for p in tmp_path.joinpath("one").iterdir()] == ["baseline.json"]


def test_load_round_trips(tmp_path):
    path = tmp_path / "baseline.json"
    save_baseline(create_baseline([PARSE, CLONE_A, CLONE_B], "0.1.0"), path)
    assert load_baseline(path) == Baseline(
        entries={
            ("CL100", "Parser.parse", "aaa"): BaselineEntry(1, ("src/p.py",)),
            ("CL200", "main", "ccc"): BaselineEntry(2, ("a/cli.py", "b/cli.py")),
        },
        tool_version="0.1.0",
        path=path,
    )
    assert len(load_baseline(path)) == 3


def test_moved_function_stays_baselined_and_edited_one_is_new(tmp_path):
    path = tmp_path / "baseline.json"
    save_baseline(create_baseline([PARSE], "0.1.0"), path)
    moved = _finding("CL100", "Parser.parse", "aaa", "src/parsing/p.py", 42)
    edited = _finding("CL100", "Parser.parse", "bbb", "src/p.py", 10)
    other_rule = _finding("CL300", "Parser.parse", "aaa", "src/p.py", 10)
    new, baselined = filter_new([moved, edited, other_rule], load_baseline(path))
    assert new == [edited, other_rule]
    assert baselined == [moved]


def test_counts_limit_identical_findings_and_prefer_the_recorded_place(tmp_path):
    path = tmp_path / "baseline.json"
    save_baseline(create_baseline([CLONE_A], "0.1.0"), path)
    third = _finding("CL200", "main", "ccc", "c/cli.py", 1)
    # the copy at the recorded place is the old one even when a new copy comes first
    new, baselined = filter_new([third, CLONE_B, CLONE_A], load_baseline(path))
    assert new == [third, CLONE_B]
    assert baselined == [CLONE_A]
    # without a recorded place the first ones in order are taken
    moved = [_finding("CL200", "main", "ccc", "d/cli.py", n) for n in (1, 2)]
    assert filter_new(moved, load_baseline(path)) == ([moved[1]], [moved[0]])


def test_repeated_keys_in_a_hand_merged_file_add_up(tmp_path):
    path = tmp_path / "b.json"
    entry = {"code": "CL100", "qualname": "f", "unit_hash": "h", "count": 1}
    path.write_text(json.dumps({"schema_version": 1, "entries": [entry, entry]}), encoding="utf-8")
    found = [_finding("CL100", "f", "h", "x.py", n) for n in (1, 2, 3)]
    assert filter_new(found, load_baseline(path)) == ([found[2]], found[:2])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON (line 1: Expecting property name enclosed in double quotes)"),
        ("[]", "is not a codelens baseline (no schema_version)"),
        ('{"schema_version": 3, "entries": []}', "has schema_version 3; this codelens reads 1 and 2"),
        ('{"schema_version": 1}', "has no 'entries' list"),
        (
            '{"schema_version": 1, "entries": [{"code": "CL100", "qualname": "f"}]}',
            "has a malformed entry #1 (needs code, qualname and unit_hash strings)",
        ),
        (
            '{"schema_version": 1, "entries": [{"code": "C", "qualname": "f", "unit_hash": "h", "count": 0}]}',
            "has a malformed entry #1 (count must be a positive integer)",
        ),
    ],
)
def test_bad_files_name_the_file_and_the_fix(tmp_path, content, problem):
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CodelensError) as caught:
        load_baseline(path)
    assert caught.value.message == f"baseline file {path} {problem}"
    assert "codelens baseline create" in caught.value.hint


def test_unwritable_target_is_a_codelens_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(CodelensError) as caught:
        save_baseline(create_baseline([], "0.1.0"), blocker / "baseline.json")
    assert caught.value.message.startswith(f"cannot write the baseline file {blocker / 'baseline.json'}")
