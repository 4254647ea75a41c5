"""TypeScript and TSX extraction: classes, abstract members, overloads, namespaces, TSX grammar."""

from __future__ import annotations

from codelens.parsing import extract_units

from .helpers import check_spans, extract_fixture, fixture_text, outline

SAMPLE = [
    ("Circle.constructor", 7, 7, False),
    ("Circle.area", 10, 12, True),
    ("Circle.scale", 14, 14, False),
    ("Base.greet", 21, 23, False),
    ("largest", 26, 28, False),
    ("overloaded", 32, 34, False),
    ("Geometry.distance", 38, 39, True),
]


def test_sample_outline_and_spans():
    result = extract_fixture("typescript", "sample.ts")
    # Interface members, the abstract method and overload signatures have no body: skipped.
    assert outline(result) == SAMPLE
    assert result.error_count == 0
    check_spans(result, fixture_text("typescript", "sample.ts"))


def test_doc_comments_and_decorators():
    units = {u.qualname: u for u in extract_fixture("typescript", "sample.ts").units}
    assert units["Circle.area"].docstring == "Area of the circle."
    assert units["Geometry.distance"].docstring == "Distance between two points."
    assert units["Base.greet"].decorator_lines == (20,)


def test_tsx_uses_the_tsx_grammar():
    result = extract_fixture("typescript", "view.tsx")
    assert outline(result) == [("Greeting", 6, 8, True), ("List", 10, 16, False)]
    assert result.error_count == 0
    text = fixture_text("typescript", "view.tsx")
    assert extract_units("view.ts", text, "typescript").error_count > 0  # the plain TS grammar fails on JSX


def test_broken_file_keeps_good_functions_and_counts_errors():
    result = extract_fixture("typescript", "broken.ts")
    assert outline(result) == [("good", 1, 3, False), ("alsoGood", 9, 11, False)]
    assert result.error_count == 1
