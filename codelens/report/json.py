"""JSON report, schema version 2: stable keys, stable order, floats rounded to 4 decimals.

Shape: {"schema_version", "tool": {name, version}, "model": {...}, "functions": [...],
"clones": [...], "findings": [...], "stats": {...}}. ``functions`` lists only functions with
findings unless ``options.all``.

Version 2 (from 1) added: ``findings[].region`` (the exact place a finding is about: start_line,
start_column, end_line, end_column, 1-based, end column exclusive; null when the finding covers the whole
function) and ``findings[].replacement`` (the text proposed for that region, CL100's repair; null when
none); ``functions[].bug`` (where the model puts the function's likely bug: region, text, kind, repair,
site_probability, repair_probability; null when it was not located).
"""

from __future__ import annotations

import json

from codelens.core import CodeUnit, LocatedBug, unit_order
from codelens.findings import Region, finding_order
from codelens.report.model import ScanReport, region_dict, rounded, sorted_mapping
from codelens.tasks.summary import pep257_summary

SCHEMA_VERSION = 2


def render(report: ScanReport) -> str:
    """The report as JSON text (2-space indent, trailing newline)."""
    return json.dumps(rounded(report_dict(report)), indent=2, ensure_ascii=False) + "\n"


def report_dict(report: ScanReport) -> dict:
    """The report as plain data, keys in schema order (floats not yet rounded)."""
    with_findings = {f.key for f in report.findings}
    units = [u for u in report.sorted_units() if report.options.all or u.key in with_findings]
    clones = sorted(report.clones, key=lambda p: (unit_order(p.a), unit_order(p.b)))
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": report.tool_name, "version": report.tool_version},
        "model": sorted_mapping(report.model_dict()),
        "functions": [_function(report, unit) for unit in units],
        "clones": [
            {"a": _place(p.a), "b": _place(p.b), "similarity": p.similarity, "kind": p.kind} for p in clones
        ],
        "findings": [
            {
                "code": f.code, "rule": f.rule, "path": f.path, "start_line": f.start_line,
                "end_line": f.end_line, "message": f.message, "severity": f.severity.value,
                "confidence": f.confidence, "region": region_dict(f.region), "replacement": f.replacement,
            }
            for f in sorted(report.findings, key=finding_order)
        ],
        "stats": sorted_mapping(report.stats),
    }


def _function(report: ScanReport, unit: CodeUnit) -> dict:
    result = report.results.get(unit.hash)
    return {
        "path": unit.path,
        "qualname": unit.qualname,
        "language": unit.language,
        "start_line": unit.start_line,
        "end_line": unit.end_line,
        "hash": unit.hash,
        "defect_probability": None if result is None else float(result.defect_probability),
        "summary": None if result is None else pep257_summary(result.summary),
        "has_docstring": unit.has_docstring,
        "bug": None if result is None else bug_dict(unit, result.bug),
        "neighbours": [
            {"path": n.unit.path, "qualname": n.unit.qualname, "start_line": n.unit.start_line,
             "similarity": n.similarity}
            for n in report.neighbours.get(unit, ())
        ],
    }


def bug_dict(unit: CodeUnit, bug: LocatedBug | None) -> dict | None:
    """Where the model located a function's likely bug, in file coordinates (None when it did not)."""
    if bug is None:
        return None
    (start_line, start_column), (end_line, end_column) = unit.position(bug.start), unit.position(bug.end)
    return {"region": region_dict(Region(start_line, start_column, end_line, end_column)), "text": bug.text,
            "kind": bug.kind, "repair": bug.repair, "site_probability": bug.site_probability,
            "repair_probability": bug.repair_probability}


def _place(unit: CodeUnit) -> dict:
    return {"path": unit.path, "qualname": unit.qualname, "start_line": unit.start_line, "end_line": unit.end_line}
