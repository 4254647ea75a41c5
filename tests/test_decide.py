"""The scan's decide step: scores in, the findings a user sees out (no parser, no model, no git)."""

from __future__ import annotations

import dataclasses
import json

from codelens.core import Thresholds
from codelens.decide import Evidence, decide
from codelens.report.json import render
from codelens.report.model import ReportOptions, ScanReport
from tests.tasks.factory import body, result, unit, vector

JS = "function cartTotal(items) {\n  let total = 0;\n  for (const item of items) total += item.price;\n  return total;\n}"


def summarised(u, text: str, confidence: float = -0.5):
    return dataclasses.replace(result(u, 0.1, summary=text), summary_confidence=confidence)


def test_json_all_shows_no_summary_in_a_language_the_model_was_not_trained_on():
    """Issue #20's bug: the language filter sat in the findings, so `--format json --all` listed a suggested
    summary for a JavaScript function of a Python-only model. The gate takes it away for every output."""
    py = unit("total_price", "shop/pricing.py", 1)
    js = unit("cartTotal", "web/cart.js", 1, JS, language="javascript")
    results = {py.hash: summarised(py, "Return the total price."), js.hash: summarised(js, "Return a list of the value.")}
    decision = decide(Evidence(units=[py, js], selected=[py, js], results=results, markers={}, thresholds=Thresholds(),
                               tasks=("defect", "clone", "summary"), languages=("python",), suppressions=False))
    report = ScanReport(units=[py, js], results=decision.results, findings=decision.findings,
                        options=ReportOptions(all=True))
    shown = {f["qualname"]: f["summary"] for f in json.loads(render(report))["functions"]}
    assert shown == {"total_price": "Return the total price.", "cartTotal": None}
    assert [(f.path, f.fix) for f in decision.findings if f.code == "CL300"] == [
        ("shop/pricing.py", "Return the total price."), ("web/cart.js", None)]
    assert decision.stats["summaries_below_gate"] == 0  # not below the gate: not shown at all


def test_summaries_below_the_gate_are_counted_and_taken_away():
    sure, unsure = unit("sure_fn", "a.py", 1), unit("unsure_fn", "a.py", 20)
    results = {sure.hash: summarised(sure, "Parse the header.", -0.4),
               unsure.hash: summarised(unsure, "Parse the footer.", -2.5)}
    decision = decide(Evidence(units=[sure, unsure], selected=[sure, unsure], results=results, markers={},
                               thresholds=Thresholds(summary=-1.0), tasks=("summary",), suppressions=False))
    assert {h: r.summary for h, r in decision.results.items()} == {sure.hash: "Parse the header.", unsure.hash: None}
    assert decision.stats["summaries_below_gate"] == 1


def test_a_narrowed_scan_names_every_twin_and_lists_the_pairs_of_its_functions():
    """Clone classes are computed once, then narrowed to those holding a function of this scan: the selected
    function's finding names the whole class, and the listed pairs are those of its findings."""
    code = body("first")
    a, b, c = (unit(name, path, 1, code.replace("first", name), normalized="same")
               for name, path in (("first", "a.py"), ("second", "b.py"), ("third", "c.py")))
    results = {u.hash: result(u, 0.1, vector(1.0)) for u in (a, b, c)}
    evidence = Evidence(units=[a, b, c], selected=[a], results=results, markers={}, suppressions=False,
                        thresholds=Thresholds(defect=1.0, clone=0.99), tasks=("clone",), changed=lambda units: {a.key})
    decision = decide(evidence)
    (finding,) = decision.findings
    assert finding.key == a.key and [r.path for r in finding.related] == ["b.py", "c.py"]
    assert [(p.a.path, p.b.path) for p in decision.clones] == [("a.py", "b.py"), ("a.py", "c.py")]
    assert decision.advisory == set()  # the class holds a changed function: the clone counts
    untouched = decide(dataclasses.replace(evidence, changed=lambda units: set()))
    assert untouched.advisory == {(*a.key, "CL200")}
    assert decide(dataclasses.replace(evidence, changed=lambda units: None)).advisory == set()  # outside git
