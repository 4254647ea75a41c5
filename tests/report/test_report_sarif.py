"""SARIF structure as GitHub code scanning reads it."""

from __future__ import annotations

import json
import re

from codelens.findings import Finding, Severity
from codelens.report import render
from codelens.report.sarif import result_fingerprint as fingerprint
from codelens.rules import RULES
from tests.report.scenario import build_report


def _log(report=None) -> dict:
    return json.loads(render(report or build_report(), "sarif"))


def test_top_level_and_driver_keys():
    log = _log()
    assert list(log) == ["$schema", "version", "runs"]
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert {"name", "version", "informationUri", "rules"} <= set(driver)
    assert driver["name"] == "codelens" and driver["informationUri"].startswith("https://")


def test_rules_carry_descriptions_help_level_and_tags():
    rules = _log()["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    for rule in rules:
        assert rule["name"] == RULES[rule["id"]].name
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"].endswith(".")
        assert rule["help"]["markdown"].startswith(f"# {rule['id']} ") and rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}
        assert rule["properties"]["tags"]


def test_every_result_points_at_its_rule_consistently():
    run = _log()["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert run["results"]
    for res in run["results"]:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        assert {"ruleId", "ruleIndex", "level", "message", "locations", "partialFingerprints"} <= set(res)
        physical = res["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not uri.startswith(("/", "./")) and "\\" not in uri
        assert 1 <= physical["region"]["startLine"] <= physical["region"]["endLine"]


def test_levels_follow_severity():
    levels = {(r["ruleId"], r["properties"]["severity"]): r["level"] for r in _log()["runs"][0]["results"]}
    assert levels == {("CL100", "high"): "error", ("CL100", "medium"): "warning", ("CL200", "low"): "note",
                      ("CL300", "info"): "note"}


def test_clone_twins_are_related_locations_linked_from_the_message():
    res = next(r for r in _log()["runs"][0]["results"] if r["ruleId"] == "CL200")
    related = res["relatedLocations"]
    assert [r["id"] for r in related] == list(range(1, len(related) + 1))
    for rel in related:
        assert f"]({rel['id']})" in res["message"]["text"]
        assert rel["message"]["text"].startswith("clone: ")
        assert rel["physicalLocation"]["artifactLocation"]["uri"] == "pkg/io.py"


def test_fingerprints_are_stable_when_lines_shift_and_distinct_per_result():
    before = _log(build_report())["runs"][0]["results"]
    after = _log(build_report(shift=7))["runs"][0]["results"]
    prints_before = [r["partialFingerprints"]["codelens/v1"] for r in before]
    prints_after = [r["partialFingerprints"]["codelens/v1"] for r in after]
    assert prints_before == prints_after
    assert len(set(prints_before)) == len(prints_before)
    assert all(re.fullmatch(r"[0-9a-f]{32}", p) for p in prints_before)
    lines_before = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in before]
    lines_after = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after]
    assert [b + 7 for b in lines_before] == lines_after


def test_colliding_fingerprints_get_an_occurrence_number():
    twin = Finding("CL300", "missing-docstring", "a.py", 1, 4, "f", "f has no docstring", Severity.INFO, 1.0, "h")
    moved = Finding("CL300", "missing-docstring", "a.py", 9, 12, "f", "f has no docstring", Severity.INFO, 1.0, "h")
    report = build_report()
    report.findings = [twin, moved]
    prints = [r["partialFingerprints"]["codelens/v1"] for r in _log(report)["runs"][0]["results"]]
    assert prints == [fingerprint(twin), fingerprint(moved, 1)] and prints[0] != prints[1]


def test_paths_are_percent_encoded_posix_uris():
    odd = Finding("CL100", "likely-defect", "src\\my dir/ä.py", 3, 5, "f", "m", Severity.LOW, 0.6, "h")
    report = build_report()
    report.findings = [odd]
    (res,) = _log(report)["runs"][0]["results"]
    # report paths separate folders with "/" already: a backslash is part of a file name, kept (encoded)
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src%5Cmy%20dir/%C3%A4.py"


def _region_ok(region: dict) -> bool:
    """A text region as SARIF 2.1.0 requires: startLine >= 1; columns >= 1; an end not before the start."""
    start, end = region["startLine"], region.get("endLine", region["startLine"])
    if start < 1 or end < start or any(region.get(k, 1) < 1 for k in ("startColumn", "endColumn")):
        return False
    return end > start or region.get("endColumn", 2) >= region.get("startColumn", 1)


def test_a_located_defect_has_an_exact_region_and_a_fix_in_sarif_2_1_0_shape():
    (result,) = [r for r in _log(build_report())["runs"][0]["results"] if "fixes" in r]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 14, "startColumn": 16, "endLine": 14, "endColumn": 19} and _region_ok(region)
    (fix,) = result["fixes"]
    # fix: description (a message) and artifactChanges (>= 1); artifactChange: artifactLocation and
    # replacements (>= 1); replacement: deletedRegion (required) and insertedContent (an artifactContent)
    assert set(fix) == {"description", "artifactChanges"} and fix["description"]["text"]
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"] == {"uri": "pkg/config.py", "uriBaseId": "%SRCROOT%"}
    (replacement,) = change["replacements"]
    assert _region_ok(replacement["deletedRegion"]) and replacement["deletedRegion"] == region
    assert replacement["insertedContent"] == {"text": "value"}
    # results without an exact region keep the function's lines, and have no fix
    plain = [r for r in _log(build_report())["runs"][0]["results"] if "fixes" not in r]
    assert all("startColumn" not in r["locations"][0]["physicalLocation"]["region"] for r in plain)
