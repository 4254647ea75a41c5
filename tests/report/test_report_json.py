"""JSON report: versioned shape, key order, rounding, determinism."""

from __future__ import annotations

import json
import random

from codelens.report import render
from tests.report.scenario import build_report


def _doc(report=None) -> dict:
    return json.loads(render(report or build_report(), "json"))


def test_keys_in_schema_order():
    doc = _doc()
    assert list(doc) == ["schema_version", "tool", "model", "functions", "clones", "findings", "stats"]
    assert doc["schema_version"] == 2 and list(doc["tool"]) == ["name", "version"]
    assert list(doc["functions"][0]) == ["path", "qualname", "language", "start_line", "end_line", "hash",
                                         "defect_probability", "summary", "has_docstring", "bug", "neighbours"]
    assert doc["functions"][0]["bug"] == {
        "region": {"start_line": 14, "start_column": 16, "end_line": 14, "end_column": 19}, "text": "key",
        "kind": "variable-misuse", "repair": "value", "site_probability": 0.8, "repair_probability": 0.9}
    assert list(doc["functions"][0]["neighbours"][0]) == ["path", "qualname", "start_line", "similarity"]
    assert list(doc["clones"][0]) == ["a", "b", "similarity", "kind"]
    assert list(doc["clones"][0]["a"]) == ["path", "qualname", "start_line", "end_line"]
    assert list(doc["findings"][0]) == ["code", "rule", "path", "start_line", "end_line", "message", "severity",
                                        "confidence", "region", "replacement"]
    assert doc["findings"][0]["replacement"] == "value" and doc["findings"][1]["region"] is None


def test_functions_without_findings_are_listed_only_with_all():
    listed = [(f["path"], f["qualname"]) for f in _doc()["functions"]]
    assert ("pkg/shop.py", "Item.name") not in listed and len(listed) == 5
    everything = [(f["path"], f["qualname"]) for f in _doc(build_report(everything=True))["functions"]]
    assert everything[-1] == ("pkg/shop.py", "Item.name") and len(everything) == 6


def test_floats_are_rounded_to_four_decimals():
    text = render(build_report(), "json")
    for number in json.loads(text, parse_float=str)["stats"].values():
        assert len(str(number).partition(".")[2]) <= 4
    clone = _doc()["clones"][1]
    assert clone["kind"] == "semantic" and clone["similarity"] == 0.9174


def test_output_does_not_depend_on_input_order():
    report = build_report()
    shuffled = build_report()
    random.Random(0).shuffle(shuffled.units)
    random.Random(1).shuffle(shuffled.findings)
    shuffled.clones = list(reversed(shuffled.clones))
    shuffled.stats = dict(reversed(list(shuffled.stats.items())))
    assert render(shuffled, "json") == render(report, "json")


def test_missing_results_and_non_finite_numbers_become_null():
    report = build_report(everything=True)
    report.results = {}
    report.stats["seconds"] = float("nan")
    doc = _doc(report)
    assert all(f["defect_probability"] is None and f["summary"] is None for f in doc["functions"])
    assert doc["stats"]["seconds"] is None
