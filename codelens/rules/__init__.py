"""The finding codes codelens reports, and their documentation (one markdown file per rule).

Each ``CLxxx.md`` next to this module has the same fixed headings (What it does / Why it matters /
Example / What to do / Known limits); ``codelens explain CODE`` prints it and the SARIF reporter
embeds it as the rule's help.

Below the registry, what every rule shares: how its findings are graded (severity, blocking, what the hook
shows: ``GRADING``, ``meaning_table``) and which rules a scan reports (``select`` / ``ignore``:
``selected_rules``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable

from codelens.choices import FailOn
from codelens.errors import CodelensError, ConfigError
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


# What a finding means, one rule for all of them: its severity, its confidence, whether it blocks a commit,
# and whether a hook shows it.
#
# - **Severity** is how bad the finding is if it is true; each rule grades it as ``GRADING`` says.
# - **Confidence** is how sure the model is (0..1); it never changes the severity.
# - **Blocks**: a finding blocks (exit 1, a failed commit) when its severity reaches ``fail-on`` (``blocks``),
#   unless it is a clone that the change did not make on a scoped scan (``codelens.scan.ScanOutcome.advisory``).
# - **Shown by the hook**: the hook (``--blocking-only``) prints every blocking finding in full, and the others
#   as one line of counts per rule, so a user knows they exist without reading them on every commit.
#
# ``meaning_table`` renders this as the markdown table docs/workflow.md carries (a test keeps them equal) and
# ``meaning_section`` as the part of it ``codelens explain`` shows for one rule.

DEFECT_PRECISION_BANDS = ((0.9, Severity.HIGH), (0.8, Severity.MEDIUM))
"""Measured precision at or above which a CL100 finding gets each severity; below 0.8 it is info, which the
default fail-on (low) does not block on."""
DEFECT_PROBABILITY_BANDS = ((0.9, Severity.HIGH), (0.7, Severity.MEDIUM))
"""For adapters without a measured precision curve: the probability bands, anything lower is low."""


def defect_severity(probability: float, precision: float | None = None) -> Severity:
    """CL100's severity: by the precision measured at the score when the adapter has it; else by the
    probability itself."""
    if precision is not None:
        return next((severity for bound, severity in DEFECT_PRECISION_BANDS if precision >= bound), Severity.INFO)
    for bound, severity in DEFECT_PROBABILITY_BANDS:
        if probability >= bound:
            return severity
    return Severity.LOW


def blocks(severity: Severity, fail_on: FailOn | str) -> bool:
    """Whether a finding of ``severity`` fails a scan (exit 1, a blocked commit) under ``fail_on``."""
    return fail_on != FailOn.NEVER and severity.rank >= Severity(str(fail_on)).rank


@dataclass(frozen=True)
class Grading:
    """How one rule's findings are graded."""

    severities: tuple[Severity, ...]
    """Every severity the rule's findings can have."""
    severity: str
    """How the severity is chosen, in a sentence of the docs."""
    confidence: str
    """What the confidence is."""
    note: str = ""
    """An exception to blocking, if the rule has one."""


def _bands(bands, unit: str) -> str:
    return ", ".join(f"{severity.value} from {unit} {bound}" for bound, severity in bands)


GRADING: dict[str, Grading] = {
    "CL100": Grading(
        (Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH),
        f"by the precision the model measured at the finding's score on held-out code: "
        f"{_bands(DEFECT_PRECISION_BANDS, 'precision')}, info below; for an adapter without that measurement, "
        f"{_bands(DEFECT_PROBABILITY_BANDS, 'probability')}, low below",
        "the calibrated defect probability (the score)"),
    "CL200": Grading(
        (Severity.LOW,), "always low",
        "1.0 for type-1 and type-2 pairs; for a semantic pair a logistic map of its score minus the threshold "
        "(0.5 at the threshold)",
        note="on a scoped scan (pre-commit, --staged, --diff-base) only a clone the change made"),
    "CL300": Grading((Severity.INFO,), "always info", "1.0: a missing docstring is a fact, not a guess"),
}
"""The grading of each rule, by code (every code of ``RULES`` has one)."""


def blocking_words(rule: Rule, fail_on: FailOn | str) -> str:
    """When ``rule``'s findings block under ``fail_on``, in words: never, always, or from which severity."""
    grading = GRADING[rule.code]
    blocking = [s for s in grading.severities if blocks(s, fail_on)]
    if not blocking:
        words = "never"
    elif len(blocking) == len(grading.severities):
        words = "always"
    else:
        names = [s.value for s in blocking]
        words = "when " + (f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0])
    return f"{words}; {grading.note}" if grading.note and blocking else words


HOOK_SHOWS = "in full when it blocks; otherwise counted in one summary line"
"""What the hook (``--blocking-only``) shows of a finding."""


def meaning_table(fail_on: FailOn | str) -> str:
    """The markdown table of every rule's grading, blocking under ``fail_on`` and what the hook shows."""
    lines = [f"| rule | severity | confidence | blocks a commit (fail-on {fail_on}) | the hook shows it |",
             "|---|---|---|---|---|"]
    for rule in RULES.values():
        grading = GRADING[rule.code]
        lines.append(f"| {rule.code} {rule.name} | {grading.severity} | {grading.confidence} | "
                     f"{blocking_words(rule, fail_on)} | {HOOK_SHOWS} |")
    return "\n".join(lines) + "\n"


def meaning_section(rule: Rule, fail_on: FailOn | str) -> str:
    """``## What a finding means`` for ``codelens explain``: the rule's row of ``meaning_table``, in words."""
    grading = GRADING[rule.code]
    return (f"## What a finding means\n\n"
            f"- Severity: {grading.severity}.\n"
            f"- Confidence: {grading.confidence}.\n"
            f"- Blocks a commit (fail-on {fail_on}, the default): {blocking_words(rule, fail_on)}. A finding "
            f"blocks when its severity reaches fail-on.\n"
            f"- The hook shows it {HOOK_SHOWS}.\n")


# Which rules a scan reports, in ruff's terms: ``select`` and ``ignore`` lists of selectors.
#
# A selector is a rule code (``CL100``), a prefix of codes (``CL1``: every CL1xx rule; ``CL``: all of them),
# ``ALL``, or a rule name (``likely-defect``), in any case. As in ruff, the most specific selector that
# matches a rule decides: ``select = ["CL"]`` with ``ignore = ["CL1"]`` leaves CL100 out, ``select =
# ["CL100"]`` with ``ignore = ["CL"]`` keeps it; between a select and an ignore equally specific, ignore
# wins. An empty ``select`` keeps what was selected before (every rule, at the top level).

ALL = "ALL"
"""The selector that matches every rule (as ruff's)."""


def split_selectors(values: Iterable[str]) -> tuple[str, ...]:
    """Selectors as given, comma-separated lists split (``--select CL100,CL200``), blanks dropped."""
    return tuple(part.strip() for value in values for part in str(value).split(",") if part.strip())


def _specificity(selector: str, code: str) -> int | None:
    """How specifically ``selector`` names rule ``code`` (the length of the prefix matched; a code or
    name in full: 5 and more), or None when it does not match it."""
    key = selector.strip()
    if key.upper() == ALL:
        return 0
    rule = RULES[code]
    if key.lower() == rule.name:
        return len(code)
    if code.startswith(key.upper()):
        return len(key)
    return None


def check_selectors(selectors: Iterable[str], where: str) -> tuple[str, ...]:
    """``selectors`` (split as ``split_selectors`` does), each checked to match at least one rule; a
    ConfigError naming ``where`` and listing the rules otherwise."""
    checked = split_selectors(selectors)
    for selector in checked:
        if not any(_specificity(selector, code) is not None for code in RULES):
            known = ", ".join(f"{r.code} ({r.name})" for r in RULES.values())
            raise ConfigError(f"{where}: unknown rule {selector!r}",
                              hint=f"use a rule code, a prefix of one (CL1, CL) or a name; the rules: {known}")
    return checked


def selected_rules(select: Iterable[str], ignore: Iterable[str],
                   before: Iterable[str] | None = None) -> frozenset[str]:
    """The codes left on: each rule goes by the most specific of ``select`` and ``ignore`` that matches it
    (ignore winning a tie); a rule neither names keeps its state in ``before`` (default: every rule)."""
    on = set(RULES if before is None else before)
    select, ignore = tuple(select), tuple(ignore)
    out = set()
    for code in RULES:
        chosen = max((s for s in (_specificity(x, code) for x in select) if s is not None), default=None)
        dropped = max((s for s in (_specificity(x, code) for x in ignore) if s is not None), default=None)
        if dropped is not None and (chosen is None or dropped >= chosen):
            continue
        if chosen is not None or (not select and code in on):
            out.add(code)
    return frozenset(out)
