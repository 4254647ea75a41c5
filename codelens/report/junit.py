"""JUnit XML, the convention of linters' JUnit outputs (ESLint, Ruff, Stylelint).

One ``<testsuite>`` per file with findings, named by its path; one ``<testcase>`` per finding, named
``CODE rule: qualname`` with the path as ``classname`` and a ``<failure>`` whose ``message`` is the
finding's message, ``type`` its severity and text ``path:line: CODE rule message [severity, confidence]``.
A scan without findings gives one suite ``codelens`` holding one passing case ``no findings``, so a CI
test view shows a green check rather than nothing. Characters XML 1.0 forbids are replaced by U+FFFD.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import groupby

from codelens.findings import finding_order
from codelens.report.model import ScanReport, printable
from codelens.report.text import finding_line

_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", printable(text))


def render(report: ScanReport) -> str:
    """The report as a JUnit XML document (2-space indent, trailing newline)."""
    findings = sorted(report.findings, key=finding_order)
    root = ET.Element("testsuites", name=report.tool_name, tests=str(max(1, len(findings))),
                      failures=str(len(findings)), errors="0")
    if not findings:
        suite = ET.SubElement(root, "testsuite", name=report.tool_name, tests="1", failures="0", errors="0",
                              skipped="0")
        ET.SubElement(suite, "testcase", name="no findings", classname=report.tool_name)
    for path, group in groupby(findings, key=lambda f: f.path):
        members = list(group)
        suite = ET.SubElement(root, "testsuite", name=_clean(path), tests=str(len(members)),
                              failures=str(len(members)), errors="0", skipped="0")
        for finding in members:
            case = ET.SubElement(suite, "testcase", name=_clean(f"{finding.code} {finding.rule}: {finding.qualname}"),
                                 classname=_clean(path), file=_clean(path),
                                 line=str(finding.region.start_line if finding.region else finding.start_line))
            failure = ET.SubElement(case, "failure", message=_clean(finding.message), type=finding.severity.value)
            failure.text = _clean(finding_line(finding))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
