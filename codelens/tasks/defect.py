"""CL100 likely-defect: functions whose calibrated defect score reaches the threshold, with the suspect token
and the proposed repair where the model located them.

The score is a score, not a certainty: the message quotes the precision the adapter measured at that score
on held-out code, and the severity follows that precision (``codelens.rules.GRADING``, where every rule's
grading is stated), so by default (fail-on low) a CL100 blocks a commit only where the model's measured
precision is at least 0.8.
"""

from __future__ import annotations

import logging
import math
from typing import Mapping, Sequence

from codelens.core import CodeUnit, UnitResult
from codelens.errors import ConfigError
from codelens.findings import Finding, Region
from codelens.rules import defect_severity, rule_of

RULE = rule_of("defect")
"""The rule of this task's findings."""

logger = logging.getLogger(__name__)

def precision_at(curve: Sequence[Sequence[float]], score: float) -> float | None:
    """The precision of the highest curve level at or below ``score`` (None below the curve or without one)."""
    found = None
    for level, precision in curve:
        if level <= score:
            found = float(precision)
    return found


def defect_findings(units: Sequence[CodeUnit], results: Mapping[str, UnitResult], threshold: float,
                    min_confidence: float = 0.0, precision_curve: Sequence[Sequence[float]] = ()) -> list[Finding]:
    """One CL100 finding per function whose defect probability is >= ``threshold``.

    ``results`` is keyed by ``CodeUnit.hash``; its ``defect_probability`` is already calibrated by the
    engine, so it is the finding's confidence as it is. ``precision_curve`` is the adapter's measured
    [score, precision] pairs (``Calibration.defect_precision``). Findings below ``min_confidence`` are
    dropped; functions without a result, or with a probability that is not a number, are skipped.
    """
    for name, value in (("defect threshold", threshold), ("min_confidence", min_confidence)):
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{name} must be between 0 and 1, got {value}",
                              hint="pass a probability, e.g. 0.5")
    findings = []
    for unit in units:
        result = results.get(unit.hash)
        if result is None:
            continue
        probability = float(result.defect_probability)
        if not math.isfinite(probability):
            logger.warning("%s:%d %s: defect probability is %s; skipped", unit.path, unit.start_line,
                           unit.qualname, probability)
            continue
        if probability < threshold or probability < min_confidence:
            continue
        precision = precision_at(precision_curve, probability)
        region, replacement, where = None, None, ""
        bug = result.bug
        if bug is not None and 0 <= bug.start <= bug.end <= len(unit.body):
            start, end = unit.position(bug.start), unit.position(bug.end)
            region = Region(start[0], start[1], end[0], end[1])
            replacement = bug.repair
            where = f" at line {start[0]}, column {start[1]}: `{_short(bug.text)}`"
            if bug.repair is not None:
                where += f", did you mean `{_short(bug.repair)}`?"
        measured = f"; the model's precision at this score on held-out code: {precision:.2f}" \
            if precision is not None else ""
        findings.append(Finding(
            code=RULE.code, rule=RULE.name, path=unit.path, start_line=unit.start_line,
            end_line=unit.end_line, qualname=unit.qualname,
            message=f"{unit.qualname} may hold a bug{where} (score {probability:.2f}{measured})",
            severity=defect_severity(probability, precision), confidence=probability, unit_hash=unit.hash,
            region=region, replacement=replacement,
            extra={"probability": probability, "logit": float(result.defect_logit), "precision": precision,
                   "kind": bug.kind if bug is not None else None},
        ))
    return findings


def _short(text: str, limit: int = 60) -> str:
    """A site's text on one line, cut to ``limit`` characters (a negated condition can be long)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
