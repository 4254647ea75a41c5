"""The finding codes codelens reports, and their documentation (one markdown file per rule).

Each ``CLxxx.md`` next to this module has the same fixed headings (What it does / Why it matters /
Example / What to do / Known limits); ``codelens explain CODE`` prints it and the SARIF reporter
embeds it as the rule's help.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from codelens.errors import CodelensError
from codelens.findings import Severity

DOC_HEADINGS = ("What it does", "Why it matters", "Example", "What to do", "Known limits")


@dataclass(frozen=True)
class Rule:
    """One finding code: its stable identity and its defaults."""

    code: str
    """Stable code, e.g. CL100; never reused for another meaning."""
    name: str
    """Kebab-case name, accepted wherever a code is."""
    severity: Severity
    """Default severity (a task may report a finding higher or lower, e.g. CL100 by probability)."""
    description: str
    """One sentence, shown in SARIF shortDescription and in listings."""
    task: str
    """The task of ``codelens.core.TASKS`` whose findings carry this code."""
    precision: str
    """How often its findings are right, in SARIF's words (very-high, high, medium, low): code-scanning UIs
    sort and filter alerts by it."""
    related: str = "related"
    """What a finding's related locations are (a clone's twins are "clone")."""
    tags: tuple[str, ...] = ()
    """Categories for code-scanning UIs (SARIF properties.tags)."""

    @property
    def doc(self) -> str:
        """The rule's full markdown documentation."""
        return _read_doc(self.code)

    def section(self, heading: str) -> str:
        """The text under one ``## heading`` of the documentation, without the heading."""
        return doc_section(self.doc, heading)


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule("CL100", "likely-defect", Severity.MEDIUM, "The model rates this function as likely to contain a bug.",
             task="defect", precision="medium", tags=("correctness", "bug")),
        Rule("CL200", "clone", Severity.LOW, "This function duplicates one or more other functions.",
             task="clone", precision="high", related="clone", tags=("maintainability", "duplication")),
        Rule("CL300", "missing-docstring", Severity.INFO, "This public function has no docstring; codelens suggests one.",
             task="summary", precision="very-high", tags=("documentation",)),
    )
}
"""Rules by code, in code order."""


def rule_of(task: str) -> Rule:
    """The rule whose findings a task reports (defect: CL100, clone: CL200, summary: CL300)."""
    return next(rule for rule in RULES.values() if rule.task == task)


def get_rule(code_or_name: str) -> Rule:
    """The rule with this code (``CL100``, any case) or kebab-case name (``likely-defect``)."""
    key = code_or_name.strip()
    for rule in RULES.values():
        if key.upper() == rule.code or key.lower() == rule.name:
            return rule
    known = ", ".join(f"{r.code} ({r.name})" for r in RULES.values())
    raise CodelensError(f"unknown rule {code_or_name!r}; known rules: {known}",
                        hint="pass one of the codes or names listed, e.g. `codelens explain CL100`")


def explain(code_or_name: str) -> str:
    """The markdown documentation of a rule, by code or name."""
    return get_rule(code_or_name).doc


def doc_section(markdown: str, heading: str) -> str:
    """The text between ``## heading`` and the next ``## `` heading, stripped."""
    match = re.search(rf"^## {re.escape(heading)}\s*\n(.*?)(?=^## |\Z)", markdown, flags=re.M | re.S)
    return match.group(1).strip() if match else ""


@lru_cache(maxsize=None)
def _read_doc(code: str) -> str:
    try:
        return resources.files(__name__).joinpath(f"{code}.md").read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CodelensError(f"the documentation of {code} ({code}.md) is missing from the codelens package",
                            hint="reinstall codelens; rules/*.md ship as package data") from exc
