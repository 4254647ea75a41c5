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
earlier comment on the same line: ``# noqa  # codelens: ignore``). Comments are the comment nodes of the
file's tree-sitter parse (``codelens.parsing.ParseResult.comments``), so ``"# codelens: ignore"`` in any
string literal (text blocks, template and raw strings included) is not a marker. Known limit: the C and
C++ grammars keep a ``//`` comment that follows a ``#define`` value inside the macro's text, so a marker
trailing a ``#define`` is not read (no function's marker sits on such a line; a file marker can stand alone).

A suppression is *used* when it hid at least one finding; the rest come back as ``unused`` so the CLI
can warn about stale or misplaced markers (an empty ``ignore[]`` or an unknown code is always unused).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from codelens.core import CodeUnit
from codelens.findings import Finding
from codelens.parsing.registry import LANGUAGES


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


_MARKER = r"\s*codelens:\s*(ignore-file|ignore)(?![\w-])(?:\[([^\]\n]*)\])?"
_BLOCK_MARKER = re.compile(r"/\*" + _MARKER)


def _blank(data: bytes) -> bool:
    """Whether ``data`` is only whitespace (as ``str.isspace`` sees it, not just ASCII)."""
    return not data.decode("utf-8", "surrogatepass").strip()


def _code_before(src: bytes, comments: Sequence[tuple[int, int]], index: int) -> bool:
    """Whether code precedes comment ``index`` on its line; other comments there are not code."""
    start = comments[index][0]
    line_start = src.rfind(b"\n", 0, start) + 1
    for earlier in range(index - 1, -1, -1):
        earlier_start, earlier_end = comments[earlier]
        if earlier_end <= line_start:
            break
        if not _blank(src[earlier_end:start]):
            return True
        start = earlier_start  # a comment opened on an earlier line leaves nothing before it to check
    return not _blank(src[line_start:start])


def parse_suppressions(path: str, text: str, language: str,
                       comments: Sequence[tuple[int, int]]) -> list[Suppression]:
    """Every suppression marker in one file, in line order; an unknown language has none.

    ``comments`` are the file's comment byte ranges from its parse (``ParseResult.comments``).
    """
    spec = LANGUAGES.get(language)
    if spec is None or "codelens:" not in text:  # nearly every file: nothing to read
        return []
    line_marker = re.compile(re.escape(spec.comment_prefix) + _MARKER)
    src = text.encode("utf-8", "surrogatepass")  # as parsing encoded it: the ranges index these bytes
    found: list[Suppression] = []
    for index, (start, end) in enumerate(comments):
        comment = src[start:end]
        if b"codelens:" not in comment:
            continue
        if comment.endswith(b"\n"):  # a Rust doc comment holds its line break
            comment, end = comment[:-1], end - 1
        block = comment.startswith(b"/*")
        if block and b"\n" in comment:
            continue  # only a block comment that opens and closes on one line is read
        # A C line comment ending in a backslash runs on to the next line; the marker sits on the first.
        comment = comment.split(b"\n", 1)[0]
        line_end = src.find(b"\n", end)
        own_line = not _code_before(src, comments, index) and (
            not block or _blank(src[end:line_end if line_end >= 0 else len(src)]))
        lineno = src.count(b"\n", 0, start) + 1
        pattern = _BLOCK_MARKER if block else line_marker
        for match in pattern.finditer(comment.decode("utf-8", "surrogatepass")):
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
