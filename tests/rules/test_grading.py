"""What a finding means, stated once: severity, blocking and the hook's view, in code, docs and explain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codelens.choices import FailOn
from codelens.config import ScanConfig
from codelens.findings import Severity
from codelens.rules import (GRADING, RULES, blocking_words, blocks, defect_severity, meaning_section,
                            meaning_table)

WORKFLOW = Path(__file__).resolve().parents[2] / "docs" / "workflow.md"


@pytest.mark.parametrize("severity, fail_on, expected", [
    (Severity.INFO, FailOn.LOW, False), (Severity.LOW, FailOn.LOW, True), (Severity.HIGH, FailOn.MEDIUM, True),
    (Severity.MEDIUM, FailOn.HIGH, False), (Severity.INFO, FailOn.INFO, True), (Severity.HIGH, FailOn.NEVER, False),
])
def test_a_finding_blocks_when_its_severity_reaches_fail_on(severity, fail_on, expected):
    assert blocks(severity, fail_on) is expected
    assert blocks(severity, fail_on.value) is expected


def test_every_rule_is_graded_and_every_severity_it_grades_is_listed():
    assert set(GRADING) == set(RULES)
    assert {defect_severity(p, precision) for p in (0.1, 0.75, 0.95) for precision in (None, 0.5, 0.85, 0.95)} \
        <= set(GRADING["CL100"].severities)


def test_blocking_in_words_follows_blocks():
    assert [blocking_words(rule, "low") for rule in RULES.values()] == [
        "when low, medium or high",
        "always; on a scoped scan (pre-commit, --staged, --diff-base) only a clone the change made",
        "never"]
    assert blocking_words(RULES["CL100"], "medium") == "when medium or high"
    assert blocking_words(RULES["CL200"], "never") == "never"


def test_docs_carry_the_table_the_code_renders():
    text = WORKFLOW.read_text(encoding="utf-8")
    table = re.search(r"<!-- meaning-table:[^\n]*-->\n(.*?)<!-- end meaning-table -->", text, re.S).group(1)
    assert table == meaning_table(ScanConfig().fail_on)
    assert "CL100 and CL200 block" not in text  # CL100 is info below precision 0.8: it does not block then


def test_explain_shows_the_rules_row(capsys):
    from codelens.cli.main import main

    assert main(["explain", "CL100"]) == 0
    out = capsys.readouterr().out
    assert meaning_section(RULES["CL100"], "low") in out
    assert "- Blocks a commit (fail-on low, the default): when low, medium or high." in out
