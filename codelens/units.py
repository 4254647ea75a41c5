"""CodeUnit: one function or method cut out of a source file. Pure data, no model knowledge."""

from __future__ import annotations

from dataclasses import dataclass


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
