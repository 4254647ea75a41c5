"""Which functions each rule looks at: test code out by default, stubs out of CL300, deselected rules cost
no model time; and the template gate on summaries."""

from __future__ import annotations

import dataclasses

from codelens.core import Thresholds
from codelens.tasks import all_findings
from codelens.tasks.scope import Scope
from codelens.tasks.summary import asks_for_docstring, drop_templates
from tests.tasks.factory import body, result, results_for, unit

ALL_RULES = frozenset({"CL100", "CL200", "CL300"})


def scope_of(units, rules=ALL_RULES, tests=frozenset(), languages=()) -> Scope:
    return Scope({u.path: frozenset(rules) for u in units}, frozenset(tests), tuple(languages))


def test_test_code_is_out_of_every_rule_unless_its_tests_setting_brings_it_back():
    src, test = unit("load", "pkg/io.py"), unit("test_load", "tests/test_io.py")
    results = results_for((src, result(src, 0.99)), (test, result(test, 0.99)))
    found = all_findings([src, test], results, thresholds=Thresholds(defect=0.5))
    assert sorted((f.code, f.path) for f in found) == [("CL100", "pkg/io.py"), ("CL300", "pkg/io.py")]
    found = all_findings([src, test], results, thresholds=Thresholds(defect=0.5), tests=["defect"])
    assert sorted((f.code, f.path) for f in found) == [("CL100", "pkg/io.py"), ("CL100", "tests/test_io.py"),
                                                       ("CL300", "pkg/io.py")]
    assert not scope_of([test]).needs_model(test)
    assert scope_of([test], tests={"summary"}).wants_summary(test)


def test_stubs_are_not_asked_for_a_docstring():
    stub = dataclasses.replace(unit("Reader.read"), stub=True)
    assert asks_for_docstring(unit("Reader.read")) and not asks_for_docstring(stub)
    assert all_findings([stub], {}, tasks=["summary"]) == []


def test_a_deselected_rule_costs_no_model_time():
    small = unit("helper", source="def helper(x):\n    return x + 1\n")  # too small to pair, too short for CL300
    big = unit("compute", source=body("compute"))
    assert not scope_of([big], rules={"CL100", "CL200"}).wants_summary(big)  # no summary without CL300
    assert scope_of([small]).needs_model(small)  # CL100 looks at every function
    assert not scope_of([small], rules={"CL200", "CL300"}).needs_model(small)
    assert scope_of([big], rules={"CL200"}).needs_model(big)  # a clone candidate
    assert not scope_of([big], rules={"CL300"}, languages=["go"]).needs_model(big)  # no suggestion in python


def test_clone_search_runs_when_any_file_reports_clones():
    a, b = unit("a", "gen/a.py"), unit("b", "src/b.py")
    scope = Scope({"gen/a.py": frozenset(), "src/b.py": frozenset({"CL200"})})
    assert scope.clone_candidate(a) and scope.needs_model(a)  # a twin of b's, though gen/ reports no clones


def test_the_same_suggestion_for_many_functions_is_a_template_and_is_not_shown():
    units = [unit(f"f{i}", source=body(f"f{i}")) for i in range(6)]
    summaries = ["Return a list of the file.", "return a list of the FILE", "Return a list of the file!",
                 "Returns a list of the file.", "Parse the header.", "Parse the header."]
    results = results_for(*[(u, result(u, summary=s)) for u, s in zip(units, summaries)])
    kept, dropped = drop_templates(results, repeats=4)
    assert dropped == 4
    assert [kept[u.hash].summary for u in units] == [None, None, None, None, "Parse the header.", "Parse the header."]
    findings = all_findings(units, kept, tasks=["summary"])
    assert [f.fix for f in findings] == [None, None, None, None, "Parse the header.", "Parse the header."]


def test_no_model_time_for_a_task_the_adapter_lacks_or_summaries_turned_off():
    big = unit("compute", source=body("compute"))
    rules = {big.path: ALL_RULES}
    assert not Scope(rules, tasks=frozenset({"summary"}), summaries=False).needs_model(big)
    assert not Scope(rules, tasks=frozenset({"defect"})).wants_summary(big)
    assert not Scope(rules, tasks=frozenset({"defect"})).clone_candidate(big)
    assert Scope(rules, tasks=frozenset({"defect"})).needs_model(big)
