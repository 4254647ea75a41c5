"""Suppression comments: ``codelens: ignore[...]`` on a function, ``codelens: ignore-file[...]`` on a file.

Forms (each language writes them in its own line-comment syntax, ``#`` for Python and ``//`` for the
others; the C family, JavaScript / TypeScript, Java, Go and Rust also accept a ``/* ... */`` comment
that opens and closes on one line)::

    # codelens: ignore[CL100]                 one code
    # codelens: ignore[CL100, clone]          several, by code or by rule name (case-insensitive)
    # codelens: ignore                        every code
    # codelens: ignore-file[CL300]            the whole file (bare ``ignore-file``: every code)

Where a function suppression counts: on the line that names the function (its ``def`` / signature
line), on any line from its first decorator / attribute / annotation down to that line, or on the line
directly above the first of them when that comment stands on its own line. A trailing comment on the
previous statement (``return x  # codelens: ignore``) never leaks onto the next function.

Where a file suppression counts: a comment anywhere in the file, on its own line or trailing code
(like ruff's ``# ruff: noqa``): a header is the usual place, but generated files often start with a
licence, and a limit of the first N lines would silently stop working when that header grows.

The marker must follow the comment marker itself (``# codelens:``, ``// codelens:``, also after an
earlier comment on the same line: ``# noqa  # codelens: ignore``), and comments are found with a small
line lexer that skips string literals (single-line, triple-quoted Python and Java text blocks, JS / Go
backtick strings, multi-line Rust strings), so ``"# codelens: ignore"`` in a string is not a marker.
Known limits: raw strings with custom delimiters (Rust ``r#"..."#``, C++ ``R"(...)"``) are read as
plain strings.

A suppression is *used* when it hid at least one finding; the rest come back as ``unused`` so the CLI
can warn about stale or misplaced markers (an empty ``ignore[]`` or an unknown code is always unused).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable, Iterator, Mapping

from codelens.core import CodeUnit
from codelens.findings import Finding


@dataclass(frozen=True)
class Suppression:
    """One ``codelens: ignore`` / ``ignore-file`` marker found in a file."""

    path: str
    """The file, as in ``CodeUnit.path`` / ``Finding.path``."""
    line: int
    """1-based line of the comment."""
    codes: frozenset[str] | None
    """Codes or rule names as written (matched case-insensitively); None means every code."""
    file_level: bool
    """True for ``ignore-file``: applies to every finding in the file."""
    own_line: bool = False
    """True when the comment is alone on its line (required for the line-above form)."""

    @property
    def marker(self) -> str:
        """The marker as a user would write it, for messages (``codelens: ignore[CL100]``)."""
        word = "ignore-file" if self.file_level else "ignore"
        if self.codes is None:
            return f"codelens: {word}"
        return f"codelens: {word}[{', '.join(sorted(self.codes))}]"


@dataclass(frozen=True)
class SuppressionResult:
    """What ``apply_suppressions`` did."""

    kept: list[Finding]
    """Findings no suppression covers, in input order."""
    suppressed: list[Finding]
    """Findings hidden by at least one suppression, in input order."""
    unused: list[Suppression]
    """Suppressions that hid nothing, sorted by path and line."""


@dataclass(frozen=True)
class _Lexicon:
    """What the comment scanner needs to know about one language."""

    line_comment: str
    block_comments: bool
    strings: tuple[tuple[str, bool], ...]
    """String delimiters, longest first, each with whether the string may span lines."""
    char_literals: bool = False
    """``'`` starts a char literal only when one closes right after (Rust: else it is a lifetime)."""


_C_STRINGS = (('"', False), ("'", False))
_LEXICONS: dict[str, _Lexicon] = {
    "python": _Lexicon("#", False, (('"""', True), ("'''", True), ('"', False), ("'", False))),
    "javascript": _Lexicon("//", True, (("`", True), ('"', False), ("'", False))),
    "typescript": _Lexicon("//", True, (("`", True), ('"', False), ("'", False))),
    "java": _Lexicon("//", True, (('"""', True), *_C_STRINGS)),
    "go": _Lexicon("//", True, (("`", True), *_C_STRINGS)),
    "c": _Lexicon("//", True, _C_STRINGS),
    "cpp": _Lexicon("//", True, _C_STRINGS),
    "rust": _Lexicon("//", True, (('"', True),), char_literals=True),
}

_RUST_CHAR = re.compile(r"'(?:\\[^']{1,10}|[^\\'])'")
_MARKER = r"\s*codelens:\s*(ignore-file|ignore)(?![\w-])(?:\[([^\]\n]*)\])?"


def _lexicon(language: str) -> _Lexicon | None:
    """The scanner settings for a language; the comment marker comes from the parsing registry."""
    lexicon = _LEXICONS.get(language)
    if lexicon is None:
        return None
    from codelens.parsing.registry import LANGUAGES

    spec = LANGUAGES.get(language)
    if spec is not None and spec.comment_prefix != lexicon.line_comment:
        lexicon = replace(lexicon, line_comment=spec.comment_prefix)
    return lexicon


def _string_end(line: str, start: int, delimiter: str) -> int:
    """Index just past the closing ``delimiter`` at or after ``start``, or -1 if the line has none."""
    i = start
    while i < len(line):
        if line[i] == "\\":
            i += 2
        elif line.startswith(delimiter, i):
            return i + len(delimiter)
        else:
            i += 1
    return -1


def _comments(text: str, lex: _Lexicon) -> Iterator[tuple[int, str, bool]]:
    """Every comment that lies on one line: (1-based line, text from its marker, alone on its line)."""
    open_string: str | None = None
    in_block = False
    # Split on "\n" only: str.splitlines also breaks on form feeds and U+2028, which would shift
    # line numbers away from tree-sitter's.
    for lineno, line in enumerate(text.split("\n"), start=1):
        i, code_before = 0, False
        if open_string is not None:
            i = _string_end(line, 0, open_string)
            if i < 0:
                continue
            open_string, code_before = None, True
        elif in_block:
            i = line.find("*/")
            if i < 0:
                continue
            in_block, i = False, i + 2
        while i < len(line):
            if line.startswith(lex.line_comment, i):
                yield lineno, line[i:], not code_before
                break
            if lex.block_comments and line.startswith("/*", i):
                end = line.find("*/", i + 2)
                if end < 0:
                    in_block = True
                    break
                yield lineno, line[i:end + 2], not code_before and not line[end + 2:].strip()
                i = end + 2
                continue
            if lex.char_literals and line[i] == "'":
                literal = _RUST_CHAR.match(line, i)
                i, code_before = (literal.end() if literal else i + 1), True
                continue
            delimiter = next((d for d in lex.strings if line.startswith(d[0], i)), None)
            if delimiter is not None:
                quote, multiline = delimiter
                end = _string_end(line, i + len(quote), quote)
                if end < 0:
                    open_string = quote if multiline else None
                    break
                i, code_before = end, True
                continue
            code_before = code_before or not line[i].isspace()
            i += 1


def parse_suppressions(path: str, text: str, language: str) -> list[Suppression]:
    """Every suppression marker in one file, in line order; an unknown language has none."""
    lex = _lexicon(language)
    if lex is None or "codelens:" not in text:  # nearly every file: no comment to find, nothing to lex
        return []
    line_marker = re.compile(re.escape(lex.line_comment) + _MARKER)
    block_marker = re.compile(r"/\*" + _MARKER)
    found: list[Suppression] = []
    for lineno, comment, own_line in _comments(text, lex):
        pattern = block_marker if comment.startswith("/*") else line_marker
        for match in pattern.finditer(comment):
            word, listed = match.group(1), match.group(2)
            codes = None if listed is None else frozenset(c.strip() for c in listed.split(",") if c.strip())
            found.append(Suppression(path, lineno, codes, word == "ignore-file", own_line))
    return found


def _name_line(unit: CodeUnit) -> int:
    """The line that names the function (a C return type or Java annotations may come first)."""
    name = unit.qualname.rsplit(".", 1)[-1]
    word = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])")
    for offset, line in enumerate(unit.source.split("\n")):
        if word.search(line):
            return unit.start_line + offset
    return unit.start_line


def _zone(unit: CodeUnit | None, finding: Finding) -> tuple[int, int]:
    """Lines ``[first, last]`` where a marker covers the finding's function (``first - 1`` if alone)."""
    if unit is None:
        return finding.start_line, finding.start_line
    first = min((unit.start_line, *unit.decorator_lines))
    return first, max(unit.start_line, _name_line(unit))


def _names(finding: Finding, rule_names: Mapping[str, str]) -> set[str]:
    names = {finding.code, finding.rule, rule_names.get(finding.code, "")}
    return {n.casefold() for n in names if n}


def _covers(suppression: Suppression, zone: tuple[int, int], names: set[str]) -> bool:
    if suppression.codes is not None and not names & {c.casefold() for c in suppression.codes}:
        return False
    if suppression.file_level:
        return True
    first, last = zone
    return first <= suppression.line <= last or (suppression.own_line and suppression.line == first - 1)


def apply_suppressions(
    findings: Iterable[Finding],
    units: Iterable[CodeUnit],
    suppressions_by_path: Mapping[str, list[Suppression]],
    rule_names: Mapping[str, str],
) -> SuppressionResult:
    """Split findings into kept and suppressed, and list the suppressions that hid nothing.

    Each finding is matched to its unit by path, qualified name and first line (falling back to
    path and first line) to learn its decorator lines; a finding without a unit is covered by
    markers on its own first line or the line above. ``rule_names`` maps codes to rule names so
    that ``ignore[likely-defect]`` works for CL100.
    """
    units = list(units)
    by_name = {u.key: u for u in units}
    by_line = {(u.path, u.start_line): u for u in units}
    used: set[tuple[str, int]] = set()
    kept: list[Finding] = []
    suppressed: list[Finding] = []
    for finding in findings:
        unit = by_name.get(finding.key) or by_line.get(
            (finding.path, finding.start_line)
        )
        zone, names = _zone(unit, finding), _names(finding, rule_names)
        hits = [
            index
            for index, suppression in enumerate(suppressions_by_path.get(finding.path, ()))
            if _covers(suppression, zone, names)
        ]
        used.update((finding.path, index) for index in hits)
        (suppressed if hits else kept).append(finding)
    unused = [
        suppression
        for path, suppressions in suppressions_by_path.items()
        for index, suppression in enumerate(suppressions)
        if (path, index) not in used
    ]
    unused.sort(key=lambda s: (s.path, s.line, s.file_level))
    return SuppressionResult(kept, suppressed, unused)
