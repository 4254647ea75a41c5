"""Text report: finding lines with their source lines (ruff style), concise lines, clone classes, footer,
the hook's count of findings not shown, statistics; no colour codes."""

from __future__ import annotations

import dataclasses
import json

import pytest

from codelens.errors import ConfigError
from codelens.findings import Region
from codelens.report import render
from codelens.report.model import ReportOptions, ScanReport
from codelens.report.statistics import render_statistics
from codelens.report.text import finding_line, snippet
from tests.report.scenario import build_report, check_snapshot
from tests.tasks.factory import unit


def test_each_finding_line_is_followed_by_its_source_lines():
    report = build_report()
    blocks = render(report, "text").split("\n\n")
    assert blocks[0] == (
        "pkg/config.py:14:16: CL100 likely-defect parse_config may hold a bug at line 14, column 16: "
        "`key`, did you mean `value`? (score 0.93) [high, confidence 0.93]\n"
        "   |\n"
        '13 |         key, _, value = line.partition("=")\n'
        "14 |         result[key] = value\n"
        "   |                ^^^ did you mean `value`?\n"
        "15 |     return result\n"
        "   |")
    assert blocks[1] == (
        'pkg/config.py:10: CL300 missing-docstring parse_config has no docstring; suggested: "Parse a config text '
        'into a dict." [info, confidence 1.00]\n'
        "   |\n"
        "10 | def parse_config(text):\n"
        "   |")


def test_concise_is_one_line_per_finding_in_the_documented_format():
    report = build_report()
    lines = render(report, "concise").splitlines()
    assert [finding_line(f) for f in report.findings] == lines[: len(report.findings)]
    check_snapshot("report.concise.txt", render(report, "concise"))


def test_text_snapshot():
    check_snapshot("report.txt", render(build_report(), "text"))


def test_underline_counts_tabs_and_escapes_and_runs_to_the_end_of_a_multiline_region():
    source = "def f(a, b):\n\tif not (a and\n\t\tb):\n\t\treturn 1"
    u = unit("f", "pkg/t.py", 1, source)
    finding = dataclasses.replace(build_report().findings[0], path="pkg/t.py", qualname="f", start_line=1,
                                  region=Region(2, 5, 3, 5), replacement="a and\nb")
    assert snippet(finding, u) == [
        "  |",
        "1 | def f(a, b):",
        "2 |     if not (a and",
        "  |        ^^^^^^^^^^ did you mean `a and\\nb`?",
        "3 |         b):",
        "  |"]


def test_clone_classes_are_grouped_and_the_footer_counts():
    text = render(build_report(), "text")
    assert "Clone classes (2):\n  1. 2 functions, type-1, similarity >= 1.00\n     pkg/config.py:30 load\n" in text
    assert text.endswith("8 findings: 2 CL100, 4 CL200, 2 CL300 (high 1, medium 1, low 4, info 2).\n"
                         "Scanned 6 functions in 3 files; 2 cache hits; 1.23 s.\n")


def test_findings_not_shown_are_counted_in_one_line():
    report = build_report()
    report.findings, report.clones = [], []
    report.options = ReportOptions(not_shown={"CL300": 2, "CL100": 1})
    assert render(report, "text") == (
        "No blocking findings.\n"
        "3 findings not shown (they do not block): 1 CL100, 2 CL300; run `codelens scan` to see them.\n"
        "Scanned 6 functions in 3 files; 2 cache hits; 1.23 s.\n")


def test_no_colour_codes():
    assert "\x1b" not in render(build_report(), "text")


def test_elapsed_time_of_the_whole_scan_is_preferred_to_model_seconds():
    report = build_report()
    report.stats["elapsed_s"] = 4.5
    assert render(report, "text").endswith("; 2 cache hits; 4.50 s.\n")


def test_clean_scan_and_cache_hits_counted_from_results_when_stats_lack_them():
    report = build_report()
    clean = ScanReport(units=report.units, results=report.results, findings=[], options=ReportOptions())
    assert render(clean, "text") == "No findings.\nScanned 6 functions in 3 files; 2 cache hits.\n"


def test_statistics_count_findings_per_rule_most_frequent_first():
    report = build_report()
    assert render_statistics(report) == ("4  CL200  clone              (low 4)\n"
                                         "2  CL100  likely-defect      (high 1, medium 1)\n"
                                         "2  CL300  missing-docstring  (info 2)\n")
    assert json.loads(render_statistics(report, "json"))[1] == {
        "code": "CL100", "name": "likely-defect", "count": 2, "severities": {"high": 1, "medium": 1}}
    report.findings = []
    assert render_statistics(report) == "" and render_statistics(report, "json") == "[]\n"
    with pytest.raises(ConfigError, match="statistics are printed as text or json, not sarif"):
        render_statistics(report, "sarif")
