"""JSON Lines: exact output, one self-contained object per finding."""

from __future__ import annotations

import json

from codelens.report import render
from codelens.report.model import ScanReport
from tests.report.scenario import build_report, check_snapshot


def test_output_matches_its_snapshot():
    check_snapshot("report.jsonl", render(build_report(), "jsonl"))


def test_one_object_per_line_with_stable_keys():
    lines = render(build_report(), "jsonl").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 8
    assert all(list(r) == ["code", "rule", "path", "start_line", "end_line", "qualname", "message", "severity",
                           "confidence", "related", "fix", "region", "replacement"] for r in records)
    assert records[0]["region"] == {"start_line": 14, "start_column": 16, "end_line": 14, "end_column": 19}
    assert records[1]["fix"] == "Parse a config text into a dict."
    assert records[2]["related"] == [{"path": "pkg/io.py", "start_line": 4, "end_line": 7, "qualname": "load"}]
    assert records[5]["confidence"] == 0.5044  # rounded to 4 decimals


def test_no_findings_is_no_lines():
    assert render(ScanReport(units=[], results={}, findings=[]), "jsonl") == ""
