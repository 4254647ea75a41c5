"""GitLab Code Quality: exact output, severities, unique and line-independent fingerprints."""

from __future__ import annotations

import json
from dataclasses import replace

from codelens.report import render
from codelens.report.model import ScanReport
from tests.report.scenario import build_report, check_snapshot


def _issues(report=None) -> list[dict]:
    return json.loads(render(report or build_report(), "gitlab"))


def test_output_matches_its_snapshot():
    check_snapshot("report.gitlab.json", render(build_report(), "gitlab"))


def test_issue_shape_and_severity_mapping():
    issues = _issues()
    assert all(list(i) == ["description", "check_name", "fingerprint", "severity", "location"] for i in issues)
    assert issues[0]["location"] == {"path": "pkg/config.py", "positions": {"begin": {"line": 14, "column": 16},
                                                                           "end": {"line": 14, "column": 19}}}
    assert issues[1]["location"] == {"path": "pkg/config.py", "lines": {"begin": 10}}
    assert [(i["check_name"], i["severity"]) for i in issues[:3]] == [
        ("CL100", "critical"), ("CL300", "info"), ("CL200", "minor")]
    assert {i["severity"] for i in issues} == {"critical", "major", "minor", "info"}


def test_fingerprints_are_unique_even_for_identical_functions():
    issues = _issues()
    prints = [i["fingerprint"] for i in issues]
    assert len(set(prints)) == len(prints) == 8
    # the two 'load' copies share code, name and hash: only the occurrence index separates them
    loads = [i for i in issues if i["check_name"] == "CL200" and "load duplicates" in i["description"]]
    assert len(loads) == 2 and loads[0]["fingerprint"] != loads[1]["fingerprint"]


def test_fingerprints_survive_moved_code_but_not_edited_code():
    assert [i["fingerprint"] for i in _issues(build_report(shift=7))] == [i["fingerprint"] for i in _issues()]
    report = build_report()
    report.findings = [replace(report.findings[0], unit_hash="0" * 64), *report.findings[1:]]
    assert _issues(report)[0]["fingerprint"] != _issues()[0]["fingerprint"]


def test_no_findings_is_an_empty_array():
    assert render(ScanReport(units=[], results={}, findings=[]), "gitlab") == "[]\n"
