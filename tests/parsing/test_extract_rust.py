"""Rust extraction: impl / trait / mod scopes, nested fns, doc comments across attributes."""

from __future__ import annotations

from .helpers import check_spans, extract_fixture, fixture_text, outline

SAMPLE = [
    ("Store.new", 12, 14, True),
    ("Store.get", 18, 20, True),
    ("Store.insert", 22, 25, False),
    ("Describe.describe", 32, 34, True),
    ("Vec.name", 38, 43, False),
    ("Vec.name.helper", 39, 41, False),
    ("tests.inserts_and_gets", 51, 55, False),
]


def test_sample_outline_and_spans():
    result = extract_fixture("rust", "sample.rs")
    # The trait's bodiless ``name`` and the closure are skipped; ``impl Describe for Vec<T>`` is ``Vec``.
    assert outline(result) == SAMPLE
    assert result.error_count == 0
    check_spans(result, fixture_text("rust", "sample.rs"))


def test_doc_comments_and_attributes():
    units = {u.qualname: u for u in extract_fixture("rust", "sample.rs").units}
    assert units["Store.get"].docstring == "Returns the value for `key`, if any."
    assert units["Store.get"].decorator_lines == (17,)
    assert units["Store.get"].source.startswith("pub fn get(")
    assert units["tests.inserts_and_gets"].decorator_lines == (50,)
    assert units["Store.new"].docstring == "Creates an empty store."


def test_broken_file_keeps_good_functions_and_counts_errors():
    result = extract_fixture("rust", "broken.rs")
    assert outline(result) == [("good", 1, 3, False), ("also_good", 9, 11, False)]
    assert result.error_count == 1
