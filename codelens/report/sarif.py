"""SARIF 2.1.0, in the subset GitHub code scanning reads.

What GitHub relies on, and how it is met here:
- ``tool.driver.rules`` describe every rule once (help from the rule's markdown doc); each result
  points at its rule by ``ruleId`` and by ``ruleIndex`` into that list.
- Locations are relative POSIX paths under ``uriBaseId`` ``%SRCROOT%`` (the repository root), so
  alerts match across runs and machines.
- ``partialFingerprints`` come from content (rule, path, function name, function hash), never from
  line numbers: an alert survives code moving up or down its file.
- A clone's twins are ``relatedLocations`` with ids, linked from the message as ``[name](id)``,
  which is how GitHub shows them.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from codelens.findings import Finding, Location, Region, Severity, finding_order, fingerprint
from codelens.report.model import ScanReport, printable, rounded, sorted_mapping
from codelens.rules import RULES, Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "codelens/v1"

LEVELS = {Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note", Severity.INFO: "note"}
"""SARIF result level for each severity."""


def render(report: ScanReport) -> str:
    """The report as a SARIF 2.1.0 log (JSON text, 2-space indent, trailing newline)."""
    return json.dumps(rounded(sarif_log(report)), indent=2, ensure_ascii=False) + "\n"


def sarif_log(report: ScanReport) -> dict:
    """The SARIF log as plain data."""
    rules = list(RULES.values())
    index = {rule.code: i for i, rule in enumerate(rules)}
    seen: dict[str, int] = {}
    results = [_result(f, index, seen) for f in sorted(report.findings, key=finding_order)]
    run = {
        "tool": {
            "driver": {
                "name": report.tool_name,
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "informationUri": report.tool_uri,
                "rules": [_rule(rule) for rule in rules],
            }
        },
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {"model": sorted_mapping(report.model_dict()), "stats": sorted_mapping(report.stats)},
    }
    return {"$schema": SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def result_fingerprint(finding: Finding, occurrence: int = 0) -> str:
    """Content fingerprint of a finding: its identity and its file, stable when lines shift.

    GitHub matches alerts within a file, so the path is part of it. ``occurrence`` separates findings
    that would otherwise collide (the same rule on two functions with the same name and the same code in
    one file).
    """
    code, qualname, unit_hash = finding.identity()
    parts = (code, finding.path, qualname, unit_hash, *([str(occurrence)] if occurrence else []))
    return fingerprint(*map(printable, parts))


def _rule(rule: Rule) -> dict:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.description},
        "fullDescription": {"text": _first_paragraph(rule.section("What it does"))},
        "help": {"text": rule.doc, "markdown": rule.doc},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": list(rule.tags), "precision": rule.precision},
    }


def _result(finding: Finding, index: dict[str, int], seen: dict[str, int]) -> dict:
    base = result_fingerprint(finding)
    occurrence = seen.get(base, 0)
    seen[base] = occurrence + 1
    message = finding.message
    if finding.related:
        links = ", ".join(f"[{loc.qualname or loc.path}]({i})" for i, loc in enumerate(finding.related, start=1))
        message += f". {RULES[finding.code].related.capitalize()}s: {links}"
    result = {
        "ruleId": finding.code,
        "ruleIndex": index[finding.code],
        "level": LEVELS[finding.severity],
        "message": {"text": message},
        "locations": [_location(finding.path, finding.start_line, finding.end_line, finding.qualname,
                                finding.region)],
    }
    if finding.related:
        result["relatedLocations"] = [_related(i, loc, RULES[finding.code].related)
                                      for i, loc in enumerate(finding.related, start=1)]
    if finding.region is not None and finding.replacement is not None:
        result["fixes"] = [_fix(finding)]
    result["partialFingerprints"] = {FINGERPRINT_KEY: result_fingerprint(finding, occurrence)}
    result["properties"] = {"confidence": finding.confidence, "severity": finding.severity.value}
    if finding.fix:
        result["properties"]["suggestion"] = finding.fix
    return result


def _location(path: str, start_line: int, end_line: int, qualname: str = "", region: Region | None = None) -> dict:
    location: dict = {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(path), "uriBaseId": SRCROOT},
            "region": _region(region) if region is not None else
            {"startLine": max(1, start_line), "endLine": max(start_line, end_line, 1)},
        }
    }
    if qualname:
        location["logicalLocations"] = [{"fullyQualifiedName": qualname, "kind": "function"}]
    return location


def _region(region: Region) -> dict:
    """An exact SARIF region: 1-based lines and columns (the run's columnKind), end column exclusive."""
    return {"startLine": max(1, region.start_line), "startColumn": max(1, region.start_column),
            "endLine": max(region.start_line, region.end_line, 1), "endColumn": max(1, region.end_column)}


def _fix(finding: Finding) -> dict:
    """The finding's proposed edit: its region's text replaced (what GitHub offers as a suggested change)."""
    return {
        "description": {"text": f"Replace with `{finding.replacement}`"},
        "artifactChanges": [{
            "artifactLocation": {"uri": _uri(finding.path), "uriBaseId": SRCROOT},
            "replacements": [{"deletedRegion": _region(finding.region),
                              "insertedContent": {"text": finding.replacement}}],
        }],
    }


def _related(ident: int, loc: Location, label: str) -> dict:
    related = {"id": ident, **_location(loc.path, loc.start_line, loc.end_line)}
    related["message"] = {"text": f"{label}: {loc.qualname or loc.path}"}
    return related


def _uri(path: str) -> str:
    """A relative URI reference: no leading ./, special characters (a backslash too) percent-encoded.

    A file name byte that is not UTF-8 (kept by Python as a lone surrogate) is percent-encoded as the
    byte itself, so the URI still names the file.
    """
    # Report paths use "/" between folders already; a backslash is part of a (POSIX) file name and is
    # percent-encoded with the rest, not turned into a separator.
    posix = path
    while posix.startswith("./"):
        posix = posix[2:]
    posix = posix.lstrip("/")
    try:
        raw = posix.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that stands for no byte: not from a file name
        raw = printable(posix).encode("utf-8")
    return quote(raw, safe="/-._~")


def _first_paragraph(text: str) -> str:
    paragraph = text.split("\n\n", 1)[0]
    return " ".join(paragraph.split())
