"""CL100 likely-defect: functions whose calibrated defect probability reaches the threshold."""

from __future__ import annotations

import logging
import math
from typing import Mapping, Sequence

from codelens.core import CodeUnit, UnitResult
from codelens.errors import ConfigError
from codelens.findings import Finding, Severity
from codelens.rules import rule_of

RULE = rule_of("defect")
"""The rule of this task's findings."""


logger = logging.getLogger(__name__)

SEVERITY_BANDS = ((0.9, Severity.HIGH), (0.7, Severity.MEDIUM))
"""Probability at or above which a CL100 finding gets each severity; lower ones are low."""


def defect_severity(probability: float) -> Severity:
    """high from 0.9, medium from 0.7, low below."""
    for bound, severity in SEVERITY_BANDS:
        if probability >= bound:
            return severity
    return Severity.LOW


def defect_findings(units: Sequence[CodeUnit], results: Mapping[str, UnitResult], threshold: float,
                    min_confidence: float = 0.0) -> list[Finding]:
    """One CL100 finding per function whose defect probability is >= ``threshold``.

    ``results`` is keyed by ``CodeUnit.hash``; its ``defect_probability`` is already calibrated by
    the engine, so it is the finding's confidence as it is. Findings below ``min_confidence`` are
    dropped. Functions without a result, or with a probability that is not a number, are skipped.
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
        findings.append(Finding(
            code=RULE.code, rule=RULE.name, path=unit.path, start_line=unit.start_line,
            end_line=unit.end_line, qualname=unit.qualname,
            message=f"{unit.qualname} is likely to contain a defect (probability {probability:.2f})",
            severity=defect_severity(probability), confidence=probability, unit_hash=unit.hash,
            extra={"probability": probability, "logit": float(result.defect_logit)},
        ))
    return findings
