"""The task registry and all_findings."""

from __future__ import annotations

import pytest

from codelens.core import TASKS, Calibration, Thresholds
from codelens.errors import ConfigError
from codelens.tasks import FINDERS, all_findings
from codelens.tasks.clone import find_clones
from codelens.tasks.summary import gate_summaries
from tests.tasks.factory import result, unit, vector


def _scan():
    a = unit("parse", "pkg/b.py", 30)
    b = unit("parse", "pkg/a.py", 12)  # a type-1 twin of a
    c = unit("render", "pkg/a.py", 1, docstring="Render it.")
    units = [a, b, c]
    results = {a.hash: result(a, 0.95, vector(1), summary="parses input"),
               c.hash: result(c, 0.2, vector(0, 1))}
    return units, results


def test_registry_names_match_the_adapter_tasks():
    assert list(FINDERS) == list(TASKS) == ["defect", "clone", "summary"]


def test_all_findings_are_sorted_by_path_line_and_code():
    units, results = _scan()
    findings = all_findings(units, results, thresholds=Thresholds(defect=0.5, clone=0.9))
    assert [(f.path, f.start_line, f.code) for f in findings] == [
        ("pkg/a.py", 12, "CL100"), ("pkg/a.py", 12, "CL200"), ("pkg/a.py", 12, "CL300"),
        ("pkg/b.py", 30, "CL100"), ("pkg/b.py", 30, "CL200"), ("pkg/b.py", 30, "CL300")]


def test_chosen_tasks_only_and_min_confidence():
    units, results = _scan()
    assert {f.code for f in all_findings(units, results, tasks=["clone"])} == {"CL200"}
    assert {f.code for f in all_findings(units, results, min_confidence=0.96)} == {"CL200", "CL300"}


def test_a_precomputed_clone_report_is_used_as_given():
    units, results = _scan()
    empty = find_clones(units[2:], results, threshold=0.9)
    assert all_findings(units, results, tasks=["clone"], clones=empty, calibration=Calibration()) == []


def test_unknown_task_is_a_config_error_listing_the_known_ones():
    with pytest.raises(ConfigError, match="unknown task.*known tasks: defect, clone, summary"):
        all_findings([], {}, tasks=["defect", "bugs"])


def test_defects_and_suggestions_only_in_the_languages_the_adapter_was_trained_on():
    """An adapter trained on Python says nothing sure about JavaScript: its CL100 threshold and measured
    precision were fitted on Python, so a JavaScript function gets no CL100 and a CL300 without a suggestion."""
    py = unit("parse", "pkg/a.py", 1)
    js = unit("cartTotal", "web/cart.js", 1, "function cartTotal(items) {\n  return items.length;\n}\n",
              language="javascript")
    results = {u.hash: result(u, 0.95, summary="Return the total.") for u in (py, js)}
    shown, _ = gate_summaries(results, None, [py, js], ["python"])  # the gate takes the suggestion away
    scoped = all_findings([py, js], shown, thresholds=Thresholds(defect=0.5), languages=["python"])
    assert [(f.path, f.code, f.fix) for f in scoped] == [
        ("pkg/a.py", "CL100", None), ("pkg/a.py", "CL300", "Return the total."), ("web/cart.js", "CL300", None)]
    assert "suggested" not in scoped[-1].message
    # An adapter that does not record its languages (CodeXGLUE data, older adapters) is taken at its word.
    unscoped = all_findings([py, js], gate_summaries(results, None, [py, js], [])[0], thresholds=Thresholds(defect=0.5))
    assert [(f.path, f.code) for f in unscoped if f.fix or f.code == "CL100"] == [
        ("pkg/a.py", "CL100"), ("pkg/a.py", "CL300"), ("web/cart.js", "CL100"), ("web/cart.js", "CL300")]


def test_a_trained_adapter_records_its_languages():
    from codelens.train.trainer import trained_languages

    assert trained_languages([]) == ["python"]  # the corpus reader takes Python
    assert trained_languages(["data/devign.jsonl"]) == []  # CodeXGLUE records carry any language
