"""JSON Lines: one finding per line, for log pipelines, ``jq`` and line-oriented tools.

Each line is a self-contained JSON object with the keys ``code, rule, path, start_line, end_line,
qualname, message, severity, confidence, related, fix, region, replacement`` in that order (``related``
lists the other functions of a clone class as ``{path, start_line, end_line, qualname}``; ``fix`` is the
suggested docstring of CL300 or null; ``region`` and ``replacement`` are as in the JSON report: CL100's
suspect token and proposed repair, or null). Floats are rounded to 4 decimals. No findings: no lines at all.
"""

from __future__ import annotations

import json

from codelens.findings import Finding, finding_order
from codelens.report.model import ScanReport, region_dict, rounded


def render(report: ScanReport) -> str:
    """One JSON object per finding, each on its own line, in report order."""
    return "".join(json.dumps(rounded(finding_record(f)), ensure_ascii=False) + "\n"
                   for f in sorted(report.findings, key=finding_order))


def finding_record(finding: Finding) -> dict:
    """One finding as plain data (floats not yet rounded)."""
    return {
        "code": finding.code,
        "rule": finding.rule,
        "path": finding.path,
        "start_line": finding.start_line,
        "end_line": finding.end_line,
        "qualname": finding.qualname,
        "message": finding.message,
        "severity": finding.severity.value,
        "confidence": finding.confidence,
        "related": [
            {"path": loc.path, "start_line": loc.start_line, "end_line": loc.end_line, "qualname": loc.qualname}
            for loc in finding.related
        ],
        "fix": finding.fix,
        "region": region_dict(finding.region),
        "replacement": finding.replacement,
    }
