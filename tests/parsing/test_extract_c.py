"""C extraction: definitions named through pointer declarators; prototypes skipped; block comments."""

from __future__ import annotations

from codelens.parsing import extract_units

from .helpers import check_spans, extract_fixture, fixture_text, outline

SAMPLE = [
    ("buffer_new", 14, 17, True),
    ("buffer_append", 20, 29, True),
    ("buffer_free", 31, 31, False),
]


def test_sample_outline_and_spans():
    result = extract_fixture("c", "sample.c")
    assert outline(result) == SAMPLE  # the function-pointer prototype ``pick`` is not a definition
    assert result.error_count == 0
    check_spans(result, fixture_text("c", "sample.c"))


def test_comments_are_cleaned():
    units = {u.qualname: u for u in extract_fixture("c", "sample.c").units}
    assert units["buffer_new"].docstring == "Allocate an empty buffer.\nReturns NULL when out of memory."
    assert units["buffer_append"].docstring == "Append n bytes from src."


def test_broken_file_keeps_good_functions_and_counts_errors():
    result = extract_fixture("c", "broken.c")
    assert outline(result) == [("good", 1, 4, False), ("also_good", 11, 14, False)]
    assert result.error_count == 1


def test_declarator_chains():
    source = "int (*pick(int w))(int) { return 0; }\nstatic int *(wrapped)(void) { return 0; }\nint proto(void);\n"
    assert [u.qualname for u in extract_units("x.c", source, "c").units] == ["pick", "wrapped"]
