"""Findings: what the tasks conclude, rendered by reporters. Severity and confidence stay separate."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    """How bad a finding is if it is true (ordered: info < low < medium < high)."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH]


@dataclass(frozen=True)
class Location:
    """A place in a file, for related locations (a clone's twin)."""

    path: str
    start_line: int
    end_line: int
    qualname: str = ""


@dataclass(frozen=True)
class Finding:
    """One thing a task concluded about one function."""

    code: str
    """Stable rule code, e.g. CL100."""
    rule: str
    """Kebab-case rule name, e.g. likely-defect."""
    path: str
    start_line: int
    end_line: int
    qualname: str
    message: str
    severity: Severity
    confidence: float
    """How sure the model is, 0..1 (calibrated on validation data where the adapter says so)."""
    unit_hash: str
    """Hash of the function's normalised source: a content fingerprint that survives moves."""
    related: tuple[Location, ...] = ()
    fix: str | None = None
    """A suggested replacement text (e.g. the summary for CL300), if any."""
    extra: dict = field(default_factory=dict, compare=False, hash=False)
