"""ScanReport: everything a reporter renders, as plain data. Reporters never compute findings."""

from __future__ import annotations

import math
import numbers
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from codelens import __version__
from codelens.core import CodeUnit, UnitResult
from codelens.escapes import escape_controls
from codelens.findings import Finding, Region
from codelens.tasks.clone import ClonePair, Neighbour, unit_key

PROJECT_URL = "https://github.com/codelens/codelens"
"""Where the tool is documented (SARIF ``informationUri``)."""
FLOAT_DIGITS = 4
"""Decimals floats are rounded to in machine-readable reports, so outputs compare byte for byte."""


@dataclass
class ReportOptions:
    """How much a reporter shows."""

    all: bool = False
    """List every function (JSON ``functions``), not only those with findings."""
    not_shown: dict[str, int] = field(default_factory=dict)
    """Findings left out because they do not block (``--blocking-only``, the hook), counted by rule code; the
    text report names them in one line."""


@dataclass
class ScanReport:
    """One scan's outcome, ready to render."""

    units: list[CodeUnit]
    """Every function scanned."""
    results: Mapping[str, UnitResult]
    """Model results keyed by ``CodeUnit.hash`` (a function may have none)."""
    findings: list[Finding]
    """Findings of all tasks, in report order (see ``codelens.tasks.all_findings``)."""
    clones: list[ClonePair] = field(default_factory=list)
    """Clone pairs, each with its kind (``CloneReport.pairs``)."""
    neighbours: Mapping[CodeUnit, tuple[Neighbour, ...]] = field(default_factory=dict)
    """Most similar other functions per function (``CloneReport.neighbours``)."""
    model: dict[str, Any] = field(default_factory=dict)
    """Model identity: model id, adapter path, fingerprints, quantize, device, dtype."""
    stats: dict[str, Any] = field(default_factory=dict)
    """Numbers about the run (EngineStats fields plus what the scan adds); the text footer reads
    ``elapsed_s`` (else ``seconds``) and ``cache_hits`` when present."""
    options: ReportOptions = field(default_factory=ReportOptions)
    tool_name: str = "codelens"
    tool_version: str = __version__
    tool_uri: str = PROJECT_URL

    def sorted_units(self) -> list[CodeUnit]:
        """Functions in report order (file, then position)."""
        return sorted(self.units, key=unit_key)


def region_dict(region: Region | None) -> dict | None:
    """A finding's region as JSON data (None stays None)."""
    if region is None:
        return None
    return {"start_line": region.start_line, "start_column": region.start_column, "end_line": region.end_line,
            "end_column": region.end_column}


def finding_unit_key(finding: Finding) -> tuple[str, str, int]:
    """What ties a finding to its function."""
    return (finding.path, finding.qualname, finding.start_line)


def unit_finding_key(unit: CodeUnit) -> tuple[str, str, int]:
    return (unit.path, unit.qualname, unit.start_line)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` in a form that can be written as UTF-8; valid text is returned as it is.

    A file name byte that is not UTF-8 reaches a report as a lone surrogate (Python's ``os.fsdecode``
    keeps 0xFF as ``\\udcff``), and no encoder writes one: it is shown escaped, ``\\xff``. Any other lone
    surrogate (from a source file declaring ``raw_unicode_escape``) becomes ``\\ud800``. Every reporter
    passes what it writes through this, so a report can always be written out.
    """
    if text.isascii():  # nearly every string: no regular expression run
        return text
    return _SURROGATE.sub(_escape_surrogate, text)


def one_line(text: str) -> str:
    """``text`` with control characters, line breaks and bidi controls shown escaped (``\\n``), for
    line-based reports: a file named "a.py\\nfake.py:1: CL100 ..." must not print a line of its own, nor
    one named with a terminal escape drive the terminal (``codelens.escapes``)."""
    return escape_controls(text)


def rounded(value: Any, digits: int = FLOAT_DIGITS) -> Any:
    """``value`` made JSON-ready: floats rounded (NaN / inf become None), numpy scalars and paths
    turned into plain numbers and strings (see ``printable``), containers converted recursively."""
    if isinstance(value, str):
        return value if value.isascii() else printable(value)  # the test inlined: reports hold many strings
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return round(number, digits) if math.isfinite(number) else None
    if isinstance(value, Mapping):
        return {printable(str(k)): rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [rounded(v, digits) for v in value]
    if isinstance(value, os.PathLike):
        return printable(Path(value).as_posix())
    return printable(str(value))


def sorted_mapping(value: Mapping) -> dict:
    """A dict with keys sorted at every level, so free-form sections serialise deterministically."""
    return {k: sorted_mapping(v) if isinstance(v, Mapping) else v
            for k, v in sorted(value.items(), key=lambda item: str(item[0]))}
