"""Exact output of every reporter on the hand-built scan (snapshots in tests/report/snapshots/).

Regenerate after an intended change with: CODELENS_UPDATE_SNAPSHOTS=1 python -m pytest tests/report
"""

from __future__ import annotations

import pytest

from codelens.errors import ConfigError
from codelens.report import REPORTERS, render
from tests.report.scenario import build_report, check_snapshot


@pytest.mark.parametrize("fmt, name", [("text", "report.txt"), ("json", "report.json"), ("sarif", "report.sarif")])
def test_reporter_output_matches_its_snapshot(fmt, name):
    check_snapshot(name, render(build_report(), fmt))


def test_json_with_all_functions_matches_its_snapshot():
    check_snapshot("report_all.json", render(build_report(everything=True), "json"))


def test_registry_and_unknown_format():
    assert list(REPORTERS)[:3] == ["text", "json", "sarif"]
    with pytest.raises(ConfigError, match="unknown report format 'xml'; known formats: text, json, sarif"):
        render(build_report(), "xml")
