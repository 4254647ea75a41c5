"""GitLab Code Quality report: a JSON array of issues, shown in merge request widgets and diffs.

Each issue has ``description``, ``check_name`` (the rule code), ``fingerprint``, ``severity`` and
``location`` (``path`` relative to the repository root, ``lines.begin``). GitLab compares issues of the
merge request with those of the target branch by fingerprint, so it must be unique within a report and
stable across runs: it hashes the rule, the function's qualified name and its content hash (not the
path or the line, so moved code keeps its fingerprint) plus an occurrence index that separates
identical functions (copies of one function in several files, numbered in report order).
"""

from __future__ import annotations

import json

from codelens.findings import Finding, Severity, finding_order, fingerprint
from codelens.report.model import ScanReport, printable, rounded

SEVERITIES = {Severity.INFO: "info", Severity.LOW: "minor", Severity.MEDIUM: "major", Severity.HIGH: "critical"}
"""Code Quality severity (info, minor, major, critical, blocker) for each codelens severity."""


def render(report: ScanReport) -> str:
    """The report as a Code Quality JSON array (2-space indent, trailing newline)."""
    return json.dumps(rounded(code_quality(report)), indent=2, ensure_ascii=False) + "\n"


def issue_fingerprint(finding: Finding, occurrence: int) -> str:
    """Digest of the finding's identity and its occurrence: unique and line-independent."""
    return fingerprint(*map(printable, finding.identity()), str(occurrence))


def _location(finding: Finding) -> dict:
    """``lines.begin`` for a function-wide finding; ``positions`` (line and column) where the finding has an
    exact region, so the merge request marks the token itself."""
    region = finding.region
    if region is None:
        return {"path": finding.path, "lines": {"begin": max(1, finding.start_line)}}
    return {"path": finding.path, "positions": {"begin": {"line": region.start_line, "column": region.start_column},
                                                "end": {"line": region.end_line, "column": region.end_column}}}


def code_quality(report: ScanReport) -> list[dict]:
    """The issues as plain data, in report order."""
    seen: dict[tuple[str, str, str], int] = {}
    issues = []
    for finding in sorted(report.findings, key=finding_order):
        key = finding.identity()
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        issues.append({
            "description": finding.message,
            "check_name": finding.code,
            "fingerprint": issue_fingerprint(finding, occurrence),
            "severity": SEVERITIES[finding.severity],
            "location": _location(finding),
        })
    return issues
