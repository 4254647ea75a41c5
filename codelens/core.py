"""The data every layer shares, at the bottom of the import graph: nothing here imports codelens but the
choices (``codelens.choices``, as low).

    TASKS         the three jobs of the one adapter (``codelens.choices.Task``)
    SourceFile    a readable source file discovery found (input of parsing)
    Span          where a function sits in its file
    CodeUnit      one function cut out of a file (input of the model, the tasks and the reporters)
    FunctionKey   which function: (path, qualname, start line), ``CodeUnit.key`` and ``Finding.key``
    unit_order    the order functions are listed in everywhere
    UnitResult    the model's outputs for one distinct function (what the engine returns and the cache stores)
    LocatedBug    where a likely bug sits in a function, and its proposed repair
    FunctionText  what the model reads of a function
    Thresholds    the decision points an adapter was fitted with (or the user overrode)
    Calibration   how model scores become the confidences findings quote
    ClonePair, Neighbour, CloneReport   what clone search found (``codelens.tasks.clone``)

Pure data, no model knowledge; numpy is only named for type checkers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from codelens.choices import Task

if TYPE_CHECKING:  # numpy is only needed by whoever builds a result
    import numpy as np

TASKS: tuple[Task, ...] = tuple(Task)
"""The tasks one adapter serves, in report order: the names in codelens.json, `codelens train --tasks` and
the task data. Each has its finding code (CL100, CL200, CL300 in ``codelens.rules``)."""

FunctionKey = tuple[str, str, int]
"""Which function a unit or a finding is: (path, qualified name, first line). Two functions of one file
may share a name (a redefinition, an overload), never a name and a first line."""


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
    statements: int | None = None
    """Statements in the function, nested ones included, the docstring not (``LanguageSpec.statement_kinds``);
    None when not counted (a unit built by hand): clone size rules then count non-blank body lines."""
    nested_in_function: bool = False
    """Defined inside another function (a closure or local helper): never part of a module's API."""
    exported: bool | None = None
    """Whether the module exports it: Python's literal ``__all__`` lists it (a method: its top-level
    class), Go's name is capitalised. None when the module does not say (no ``__all__``, a computed one)
    or the language has no such rule."""
    indent: str = ""
    """The whitespace before the unit's first line in its file (a method's indentation): what re-parsing
    the unit on its own needs (the repair candidates of a likely bug)."""
    body_cut: tuple[int, int] | None = None
    """Character span of ``source`` removed to make ``body`` (the docstring), so a position in ``body``
    maps back to the file; None when nothing was removed."""
    stub: bool = False
    """Declares an interface rather than implementing one (``LanguageSpec.stub``; Python: ``@overload``,
    ``@abstractmethod``, a method of a ``Protocol`` class, or a body of only ``...``, ``pass``,
    ``raise NotImplementedError`` and a docstring). Its documentation lives on what implements it."""
    token_set: frozenset[str] | None = field(default=None, compare=False, repr=False)
    """The identifiers and keywords of ``body``, what clone scores compare (``codelens.tasks.clone``),
    taken from the tokens extraction walked so that no one parses the function again; None for a unit
    built without a parser. Not compared: it follows from ``body``."""

    @property
    def key(self) -> FunctionKey:
        """Which function this is (``FunctionKey``): what ties a finding, a clone pair or a suppression to it."""
        return (self.path, self.qualname, self.span.start_line)

    @property
    def start_line(self) -> int:
        return self.span.start_line

    @property
    def end_line(self) -> int:
        return self.span.end_line

    @property
    def has_docstring(self) -> bool:
        return bool(self.docstring and self.docstring.strip())

    def position(self, body_offset: int) -> tuple[int, int]:
        """(1-based line, 1-based column) in the file of a character offset into ``body``."""
        offset = body_offset
        if self.body_cut is not None and offset >= self.body_cut[0]:
            offset += self.body_cut[1] - self.body_cut[0]
        before = self.source[:offset]
        newline = before.rfind("\n")
        column = offset - (newline + 1) + (len(self.indent) if newline < 0 else 0)
        return self.span.start_line + before.count("\n"), column + 1


def unit_order(unit: CodeUnit) -> tuple:
    """The order functions are listed in everywhere (reports, clone pairs and classes): by file, then position."""
    return (unit.path, unit.start_line, unit.end_line, unit.qualname, unit.hash)


@dataclass(frozen=True)
class LocatedBug:
    """A likely bug's site in a function's ``body`` and the repair the model proposes there."""

    start: int
    """Character offset of the site in the function's body."""
    end: int
    kind: str
    """The bug kind the site belongs to (see ``codelens.parsing.sites.BUG_KINDS``)."""
    text: str
    """What stands at the site now."""
    repair: str | None
    """The text the model would put there instead; None when it proposes none."""
    site_probability: float
    """P(the bug is at this site | there is a bug)."""
    repair_probability: float | None
    """P(this repair | the bug is at this site)."""


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
    bug: LocatedBug | None = None
    """Where the model puts the likely bug and what would mend it; None when it was not worth locating
    (a low score) or nothing in the function can be edited that way."""
    summary_confidence: float | None = None
    """Mean log-probability of the summary's tokens: what the confidence gate reads (None: no summary)."""


@dataclass(frozen=True)
class FunctionText:
    """What the model reads of one function: its text (``CodeUnit.body``), and how to parse it again on its
    own (the repair candidates of a likely bug come from its tree)."""

    code: str
    language: str = "python"
    indent: str = ""
    """The whitespace before its first line in its file (see ``CodeUnit.indent``)."""


@dataclass
class Thresholds:
    """Decision points, chosen on the validation split when training (``AdapterMetadata.thresholds``)."""

    defect: float = 0.5
    """Defect probability at or above which CL100 is reported."""
    clone: float = 0.9
    """Cosine similarity at or above which two embeddings are a clone pair (types 3-4)."""
    clone_lexical: float = 0.0
    """Weight of identifier-set Jaccard in the clone score, ``(1 - w) * cosine + w * Jaccard``
    (``codelens.tasks.clone.fused_similarity``), fitted on validation; ``clone`` applies to that score."""
    summary: float | None = None
    """Mean token log-probability from which a generated summary is shown (the confidence gate, fitted on
    validation so that shown summaries beat the function's split name); None: every summary is shown."""


@dataclass
class Calibration:
    """Temperature scaling of the defect logit, fitted on validation (confidence = calibrated prob)."""

    defect_temperature: float = 1.0
    clone_scale: float = 1.0
    """Slope of a logistic map from (similarity - clone threshold) to clone confidence."""
    defect_precision: list = field(default_factory=list)
    """[score, precision] pairs, score ascending: the share of validation functions scoring at least that
    much that were really buggy. A CL100 finding quotes the precision at its score."""


@dataclass(frozen=True)
class ClonePair:
    """Two functions that duplicate each other; ``a`` sorts before ``b`` (``unit_order``)."""

    a: CodeUnit
    b: CodeUnit
    similarity: float
    """Cosine similarity of the clone embeddings; 1.0 for type-1 and type-2 pairs."""
    kind: str
    """One of ``codelens.tasks.clone.CLONE_KINDS``."""


@dataclass(frozen=True)
class Neighbour:
    """One of a function's most similar other functions."""

    unit: CodeUnit
    similarity: float


@dataclass
class CloneReport:
    """Everything clone detection found in one scan."""

    pairs: list[ClonePair]
    """Unique pairs, sorted by (a, b) position."""
    classes: list[tuple[CodeUnit, ...]]
    """Connected groups of paired functions, each sorted, sorted by their first member."""
    threshold: float
    """The cosine threshold used for semantic pairs."""
    neighbours: dict[CodeUnit, tuple[Neighbour, ...]] = field(default_factory=dict)
    """Top-K most similar other functions per function (empty unless asked for)."""
