"""ScanReport: everything a reporter renders, as plain data. Reporters never compute findings."""

from __future__ import annotations

import math
import numbers
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from codelens import __version__
from codelens.core import ClonePair, CodeUnit, Neighbour, Thresholds, UnitResult, unit_order
from codelens.escapes import escape_controls
from codelens.findings import Finding, Region

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


@dataclass(frozen=True)
class ModelInfo:
    """Which model a scan ran, and the decision points it applied: the report's ``model`` section."""

    id: str
    """The base as resolved: a local folder or a hub id."""
    adapter: str
    """The adapter folder as the user named it, or "default"."""
    base_fingerprint: str
    adapter_hash: str
    quantize: str
    device: str
    dtype: str
    languages: tuple[str, ...] = ()
    """Languages the adapter was trained on (empty: not known)."""
    thresholds: Thresholds = field(default_factory=Thresholds)
    """The adapter's thresholds with the user's overrides, as the scan applied them."""

    def as_dict(self) -> dict[str, Any]:
        """The section as JSON data (keys sorted by ``sorted_mapping`` where rendered)."""
        return {"id": self.id, "adapter": self.adapter, "base_fingerprint": self.base_fingerprint,
                "adapter_hash": self.adapter_hash, "quantize": self.quantize, "device": self.device,
                "dtype": self.dtype, "languages": list(self.languages), "thresholds": asdict(self.thresholds)}


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
    model: ModelInfo | None = None
    """The model the scan ran (None when it ran none: nothing to scan)."""
    stats: dict[str, Any] = field(default_factory=dict)
    """Numbers about the run (EngineStats fields plus what the scan adds); the text footer reads
    ``elapsed_s`` (else ``seconds``) and ``cache_hits`` when present."""
    options: ReportOptions = field(default_factory=ReportOptions)
    tool_name: str = "codelens"
    tool_version: str = __version__
    tool_uri: str = PROJECT_URL

    def model_dict(self) -> dict[str, Any]:
        """``model`` as JSON data (empty when the scan ran no model)."""
        return {} if self.model is None else self.model.as_dict()

    def sorted_units(self) -> list[CodeUnit]:
        """Functions in report order (file, then position)."""
        return sorted(self.units, key=unit_order)


def region_dict(region: Region | None) -> dict | None:
    """A finding's region as JSON data (None stays None)."""
    if region is None:
        return None
    return {"start_line": region.start_line, "start_column": region.start_column, "end_line": region.end_line,
            "end_column": region.end_column}


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
