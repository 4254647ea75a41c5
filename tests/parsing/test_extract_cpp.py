"""C++ extraction: in-class and out-of-line methods, namespaces, operators, destructors, templates."""

from __future__ import annotations

from codelens.parsing import extract_units

from .helpers import check_spans, extract_fixture, fixture_text, outline

SAMPLE = [
    ("geo.Point.norm", 11, 11, True),
    ("geo.Polygon.operator==", 21, 23, False),
    ("geo.Polygon.Polygon", 30, 30, True),
    ("geo.Polygon.~Polygon", 32, 32, False),
    ("geo.Polygon.perimeter", 34, 41, False),
    ("max_of", 47, 49, True),
    ("main", 51, 53, False),
]


def test_sample_outline_and_spans():
    result = extract_fixture("cpp", "sample.cpp")
    # Declarations inside the class and the lambda are not units.
    assert outline(result) == SAMPLE
    assert result.error_count == 0
    check_spans(result, fixture_text("cpp", "sample.cpp"))


def test_doc_comments_above_templates_and_in_classes():
    units = {u.qualname: u for u in extract_fixture("cpp", "sample.cpp").units}
    assert units["max_of"].docstring == "Largest of two values."
    assert units["max_of"].source.startswith("T max_of(T a, T b) {")
    assert units["geo.Point.norm"].docstring == "Distance from the origin."
    assert units["geo.Polygon.Polygon"].docstring == "Builds a polygon from its corners."


def test_broken_file_keeps_good_functions_and_counts_errors():
    result = extract_fixture("cpp", "broken.cpp")
    assert outline(result) == [("good", 1, 3, False), ("also_good", 9, 11, False)]
    assert result.error_count == 1


def test_conversion_operators_references_and_function_pointer_returns():
    source = (
        "struct A { operator bool() const { return true; } int& get() { return x; } };\n"
        "A::operator int() const { return 1; }\n"
        "int& A::ref() { return x; }\n"
        "const char* (*getter(void))(int) { return 0; }\n"
        "namespace a::b { void f() {} }\n"
        "namespace { void hidden() {} }\n"
        "template<> void S<int>::g() {}\n"
        "struct B { B() = default; };\n"
    )
    units = extract_units("x.cpp", source, "cpp").units
    assert [(u.qualname, u.start_line) for u in units] == [
        ("A.operator bool", 1), ("A.get", 1), ("A.operator int", 2), ("A.ref", 3), ("getter", 4),
        ("a.b.f", 5), ("hidden", 6), ("S.g", 7),
    ]  # fmt: skip
