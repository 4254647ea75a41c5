"""The data every layer shares, at the bottom of the import graph: nothing here imports codelens.

    TASKS        the three jobs of the one adapter
    SourceFile   a readable source file discovery found (input of parsing)
    Span         where a function sits in its file
    CodeUnit     one function cut out of a file (input of the model, the tasks and the reporters)
    UnitResult   the model's outputs for one distinct function (what the engine returns and the cache stores)

Pure data, no model knowledge; numpy is only named for type checkers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is only needed by whoever builds a result
    import numpy as np

TASKS = ("defect", "clone", "summary")
"""The tasks one adapter serves, in report order: the names in codelens.json, `codelens train --tasks` and
the task data. Each has its finding code (CL100, CL200, CL300 in ``codelens.rules``)."""


@dataclass(frozen=True)
class SourceFile:
    """A readable, supported source file."""

    path: Path
    """Where to read it (as found: symlinks are not resolved)."""
    rel: str
    """Path relative to the scan root, with forward slashes (what reports show)."""
    language: str
    """Language key from the parsing registry."""
    text: str
    """The decoded contents (a UTF-8 byte-order mark is dropped)."""


@dataclass(frozen=True)
class Span:
    """Where a unit sits in its file: 1-based inclusive lines, 0-based half-open bytes."""

    start_line: int
    end_line: int
    start_byte: int
    end_byte: int


@dataclass(frozen=True)
class CodeUnit:
    """A function or method, with everything the model and the reporters need about it."""

    path: str
    """Path relative to the scan root, with forward slashes."""
    language: str
    """Language key from the parsing registry (python, javascript, typescript, java, go, c, cpp, rust)."""
    qualname: str
    """Dotted qualified name, e.g. ``Parser.parse`` or ``outer.<locals>.inner`` style ``outer.inner``."""
    span: Span
    source: str
    """The function's full text, exactly as in the file (decorators excluded)."""
    docstring: str | None
    """The docstring or leading doc comment, cleaned of quotes / comment markers; None if absent."""
    body: str
    """The source with the docstring / doc comment removed: what the model reads."""
    hash: str
    """sha256 hex of the normalised source (comments and whitespace runs folded)."""
    normalized_hash: str
    """sha256 hex of the source with identifiers and literals abstracted (type-2 clone key)."""
    decorator_lines: tuple[int, ...] = ()
    """1-based lines of decorators / attributes above the definition (for suppressions)."""

    @property
    def start_line(self) -> int:
        return self.span.start_line

    @property
    def end_line(self) -> int:
        return self.span.end_line

    @property
    def has_docstring(self) -> bool:
        return bool(self.docstring and self.docstring.strip())


@dataclass
class UnitResult:
    """The model's outputs for one distinct function (keyed by CodeUnit.hash)."""

    hash: str
    """CodeUnit.hash of the function(s) this result belongs to."""
    defect_probability: float
    """Calibrated: sigmoid(defect_logit / calibration.defect_temperature)."""
    defect_logit: float
    """Raw output of the defect head."""
    embedding: np.ndarray
    """L2-normalised clone embedding, float32, shape (clone_dim,)."""
    summary: str | None
    """Generated one-line summary; None when no summary was asked for this function."""
    cached: bool
    """True when the result came from the result cache rather than from the model."""
