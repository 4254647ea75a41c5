"""GitHub workflow annotations: exact output and the Actions toolkit's escaping rules."""

from __future__ import annotations

from dataclasses import replace

from codelens.findings import Severity
from codelens.report import render
from codelens.report.github import annotation, escape_data, escape_property
from codelens.report.model import ScanReport
from tests.report.scenario import build_report, check_snapshot


def test_output_matches_its_snapshot():
    check_snapshot("report.github", render(build_report(), "github"))


def test_one_command_per_finding_with_level_by_severity():
    report = build_report()
    lines = render(report, "github").splitlines()
    assert len(lines) == len(report.findings) == 8
    # a located bug points at its token: line and columns of the site, not the whole function
    assert lines[0] == ("::error file=pkg/config.py,line=14,endLine=14,col=16,endColumn=19,title=CL100 likely-defect::"
                        "parse_config may hold a bug at line 14, column 16: `key`, did you mean `value`? (score 0.93) "
                        "[high, confidence 0.93]")
    assert [line.split(" ", 1)[0] for line in lines] == [
        "::error", "::notice", "::warning", "::warning", "::warning", "::warning", "::notice", "::warning"]


def test_escaping_of_data_and_properties():
    assert escape_data("100% sure\r\nnext: a,b") == "100%25 sure%0D%0Anext: a,b"
    assert escape_property("dir,x/a:b%.py\n") == "dir%2Cx/a%3Ab%25.py%0A"
    finding = replace(build_report().findings[0], path="we,ird:dir/50%.py", message="line one\nline: two, 100%",
                      severity=Severity.LOW, confidence=0.5, start_line=3, end_line=2, region=None)
    assert annotation(finding) == (
        "::warning file=we%2Cird%3Adir/50%25.py,line=3,endLine=3,title=CL100 likely-defect::"
        "line one%0Aline: two, 100%25 [low, confidence 0.50]")


def test_no_findings_is_empty_output():
    assert render(ScanReport(units=[], results={}, findings=[]), "github") == ""
