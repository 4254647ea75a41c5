"""Helpers for the parsing tests: extract a fixture file of tests/fixtures/parsing/<language>/."""

from __future__ import annotations

from pathlib import Path

from codelens.parsing import ParseResult, extract_units, language_for_path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "parsing"


def fixture_text(language: str, name: str) -> str:
    return (FIXTURES / language / name).read_text(encoding="utf-8")


def extract_fixture(language: str, name: str) -> ParseResult:
    """Extract a fixture with its path relative to the fixtures root, as a scan would."""
    assert language_for_path(name) == language
    return extract_units(f"{language}/{name}", fixture_text(language, name), language)


def outline(result: ParseResult) -> list[tuple[str, int, int, bool]]:
    """``(qualname, start_line, end_line, has_docstring)`` of every unit, in order."""
    return [(u.qualname, u.start_line, u.end_line, u.has_docstring) for u in result.units]


def check_spans(result: ParseResult, text: str) -> None:
    """Every unit's byte span cuts exactly its source out of the UTF-8 text, at its lines."""
    data = text.encode("utf-8")
    lines = text.splitlines()
    for unit in result.units:
        assert data[unit.span.start_byte : unit.span.end_byte].decode("utf-8") == unit.source
        first_line = unit.source.splitlines()[0]
        assert first_line in lines[unit.start_line - 1]
        assert unit.source.splitlines()[-1] in lines[unit.end_line - 1]
