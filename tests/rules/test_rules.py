"""Rule registry, explain(), and the fixed layout of every rule's documentation."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from codelens.errors import CodelensError
from codelens.findings import Severity
from codelens.rules import DOC_HEADINGS, RULES, doc_section, explain, get_rule


def test_registry_holds_the_three_rules_with_their_defaults():
    assert [(r.code, r.name, r.severity) for r in RULES.values()] == [
        ("CL100", "likely-defect", Severity.MEDIUM), ("CL200", "clone", Severity.LOW),
        ("CL300", "missing-docstring", Severity.INFO)]
    assert all(r.description.endswith(".") for r in RULES.values())


@pytest.mark.parametrize("key", ["CL100", "cl100", "likely-defect", " Likely-Defect "])
def test_explain_accepts_a_code_or_a_name(key):
    assert explain(key).startswith("# CL100 likely-defect\n")


def test_unknown_rule_lists_the_known_ones():
    with pytest.raises(CodelensError) as caught:
        explain("CL999")
    assert "CL100 (likely-defect), CL200 (clone), CL300 (missing-docstring)" in str(caught.value)
    assert caught.value.hint


@pytest.mark.parametrize("code", list(RULES))
def test_every_doc_has_the_fixed_headings_in_order(code):
    doc = RULES[code].doc
    assert doc.splitlines()[0] == f"# {code} {RULES[code].name}"
    assert re.findall(r"^## (.+)$", doc, flags=re.M) == list(DOC_HEADINGS)
    assert all(doc_section(doc, heading) for heading in DOC_HEADINGS)
    assert "```" in doc_section(doc, "Example")


def test_docs_ship_inside_the_package():
    files = sorted(p.name for p in resources.files("codelens.rules").iterdir() if p.name.endswith(".md"))
    assert files == [f"{code}.md" for code in RULES]


def test_get_rule_and_sections():
    rule = get_rule("clone")
    assert rule.code == "CL200"
    assert rule.section("What it does").startswith("codelens compares every function with every other one")
    assert rule.section("No such heading") == ""
