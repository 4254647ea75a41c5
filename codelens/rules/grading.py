"""What a finding means, one rule for all of them: its severity, its confidence, whether it blocks a commit,
and whether a hook shows it.

- **Severity** is how bad the finding is if it is true; each rule grades it as ``GRADING`` says.
- **Confidence** is how sure the model is (0..1); it never changes the severity.
- **Blocks**: a finding blocks (exit 1, a failed commit) when its severity reaches ``fail-on`` (``blocks``),
  unless it is a clone that the change did not make on a scoped scan (``codelens.scan.ScanOutcome.advisory``).
- **Shown by the hook**: the hook (``--blocking-only``) prints every blocking finding in full, and the others
  as one line of counts per rule, so a user knows they exist without reading them on every commit.

``meaning_table`` renders this as the markdown table docs/workflow.md carries (a test keeps them equal) and
``meaning_section`` as the part of it ``codelens explain`` shows for one rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from codelens.choices import FailOn
from codelens.findings import Severity
from codelens.rules import RULES, Rule

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
