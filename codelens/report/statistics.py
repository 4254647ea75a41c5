"""``--statistics``: the number of findings per rule, most frequent first (as ``ruff --statistics``).

Text: one line per rule, ``count  code  name  (severities)``; JSON: a list of ``{"code", "name", "count",
"severities"}``. Nothing found: no text, an empty JSON list.
"""

from __future__ import annotations

import json
from collections import Counter

from codelens.errors import ConfigError
from codelens.findings import Severity
from codelens.report.model import ScanReport


def rule_counts(report: ScanReport) -> list[dict]:
    """Per rule with findings: code, name, count and the count of each severity (highest first); most
    findings first, then by code."""
    by_code = Counter(f.code for f in report.findings)
    names = {f.code: f.rule for f in report.findings}
    severities = Counter((f.code, f.severity) for f in report.findings)
    rows = []
    for code in sorted(by_code, key=lambda c: (-by_code[c], c)):
        levels = {s.value: severities[(code, s)] for s in reversed(list(Severity)) if severities[(code, s)]}
        rows.append({"code": code, "name": names[code], "count": by_code[code], "severities": levels})
    return rows


def render_statistics(report: ScanReport, fmt: str = "text") -> str:
    """The statistics of ``report`` as text or JSON."""
    rows = rule_counts(report)
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    if fmt != "text":
        raise ConfigError(f"statistics are printed as text or json, not {fmt}",
                          hint="pass --format text or --format json with --statistics")
    if not rows:
        return ""
    width = len(str(rows[0]["count"]))
    name_width = max(len(row["name"]) for row in rows)
    lines = []
    for row in rows:
        levels = ", ".join(f"{level} {count}" for level, count in row["severities"].items())
        lines.append(f"{row['count']:>{width}}  {row['code']}  {row['name']:<{name_width}}  ({levels})")
    return "\n".join(lines) + "\n"
