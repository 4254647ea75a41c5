"""JUnit XML: exact output, one suite per file, one failing case per finding, valid XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from codelens.report import render
from codelens.report.model import ScanReport
from tests.report.scenario import build_report, check_snapshot


def test_output_matches_its_snapshot():
    check_snapshot("report.junit.xml", render(build_report(), "junit"))


def test_suites_per_file_and_cases_per_finding():
    root = ET.fromstring(render(build_report(), "junit"))
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "8", "8")
    suites = root.findall("testsuite")
    assert [(s.get("name"), s.get("tests")) for s in suites] == [
        ("pkg/config.py", "3"), ("pkg/io.py", "1"), ("pkg/shop.py", "4")]
    case = suites[0].find("testcase")
    assert case.attrib == {"name": "CL100 likely-defect: parse_config", "classname": "pkg/config.py",
                           "file": "pkg/config.py", "line": "14"}
    failure = case.find("failure")
    assert failure.get("type") == "high"
    assert failure.text.startswith("pkg/config.py:14:16: CL100 likely-defect parse_config may hold a bug")


def test_clean_scan_is_one_passing_case():
    root = ET.fromstring(render(ScanReport(units=[], results={}, findings=[]), "junit"))
    assert (root.get("tests"), root.get("failures")) == ("1", "0")
    case = root.find("testsuite/testcase")
    assert case.get("name") == "no findings" and case.find("failure") is None


def test_markup_and_control_characters_stay_valid_xml():
    report = build_report()
    report.findings = [replace(report.findings[0], message='a < b && "c"\x01\nd', qualname="f<T>")]
    root = ET.fromstring(render(report, "junit"))
    failure = root.find("testsuite/testcase/failure")
    assert failure.get("message") == 'a < b && "c"\ufffd\nd'
    assert root.find("testsuite/testcase").get("name") == "CL100 likely-defect: f<T>"
