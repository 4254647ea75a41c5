"""Text report: finding lines, clone classes, footer, no colour codes."""

from __future__ import annotations

from codelens.report import render
from codelens.report.model import ReportOptions, ScanReport
from codelens.report.text import finding_line
from tests.report.scenario import build_report


def test_one_line_per_finding_in_the_documented_format():
    report = build_report()
    lines = render(report, "text").splitlines()
    assert lines[0] == ("pkg/config.py:14:16: CL100 likely-defect parse_config may hold a bug at line 14, column 16: "
                        "`key`, did you mean `value`? (score 0.93) [high, confidence 0.93]")
    assert [finding_line(f) for f in report.findings] == lines[: len(report.findings)]


def test_clone_classes_are_grouped_and_the_footer_counts():
    text = render(build_report(), "text")
    assert "Clone classes (2):\n  1. 2 functions, type-1, similarity >= 1.00\n     pkg/config.py:30 load\n" in text
    assert text.endswith("8 findings: 2 CL100, 4 CL200, 2 CL300 (high 1, medium 1, low 4, info 2).\n"
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
