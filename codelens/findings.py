"""Findings: what the tasks conclude, rendered by reporters. Severity and confidence stay separate."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum

from codelens.core import FunctionKey


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
class Region:
    """An exact place in a file: 1-based lines and columns (Unicode code points), the end column exclusive."""

    start_line: int
    start_column: int
    end_line: int
    end_column: int


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
    """A suggested text for the function as a whole (the one-line docstring of CL300), if any."""
    region: Region | None = None
    """The exact place the finding is about inside the function (the suspect token of CL100), if known."""
    replacement: str | None = None
    """What the finding proposes to put at ``region`` instead (CL100's repair), if anything."""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> FunctionKey:
        """Which function the finding is about (``codelens.core.FunctionKey``, as ``CodeUnit.key``)."""
        return (self.path, self.qualname, self.start_line)

    def identity(self) -> tuple[str, str, str]:
        """(code, qualname, unit_hash): what the finding is about, wherever its function sits.

        A function that moves (lines shift above it, or it goes to another file) keeps its identity; an
        edit to its body gives a new one. Baselines key on it; report fingerprints hash it.
        """
        return self.code, self.qualname, self.unit_hash


def finding_order(finding: Finding) -> tuple:
    """Report order: by file, line, code, then function name."""
    return (finding.path, finding.start_line, finding.code, finding.qualname)


def fingerprint(*parts: str) -> str:
    """32 hex digits of sha256 over ``parts`` joined by NUL: the digest behind every report fingerprint."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]
