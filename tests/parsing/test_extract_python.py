"""Python extraction: qualified names, spans, docstrings, decorators, bodies, broken files, unicode."""

from __future__ import annotations

from codelens.parsing import extract_units, source_hashes

from .helpers import check_spans, extract_fixture, fixture_text, outline

SAMPLE = [
    ("total_price", 6, 11, True),
    ("Inventory.__init__", 17, 18, False),
    ("Inventory.size", 21, 23, True),
    ("Inventory.normalise", 27, 29, False),
    ("Inventory.refresh", 31, 37, False),
    ("Inventory.refresh.keep", 32, 34, True),
    ("make_counter", 40, 48, False),
    ("make_counter.increment", 43, 46, False),
]


def test_sample_outline_and_spans():
    result = extract_fixture("python", "sample.py")
    assert outline(result) == SAMPLE  # the module-level lambda is anonymous: skipped
    assert result.error_count == 0
    check_spans(result, fixture_text("python", "sample.py"))
    assert {u.path for u in result.units} == {"python/sample.py"}
    assert {u.language for u in result.units} == {"python"}


def test_docstrings_are_cleaned_values():
    units = {u.qualname: u for u in extract_fixture("python", "sample.py").units}
    assert units["total_price"].docstring == (
        "Return the summed price of ``items``.\n\nEach item is a ``(name, price)`` pair."
    )
    assert units["Inventory.size"].docstring == "Number of distinct items."
    assert units["Inventory.normalise"].docstring is None  # a comment is not a docstring


def test_body_drops_docstring_lines_and_keeps_the_rest_byte_identical():
    units = {u.qualname: u for u in extract_fixture("python", "sample.py").units}
    total = units["total_price"]
    assert total.source.startswith('def total_price(items):\n    """Return')
    assert total.body == "def total_price(items):\n    return sum(price for _, price in items)"
    keep = units["Inventory.refresh.keep"]
    assert keep.body == 'def keep(entry):\n            return entry.get("active", False)'
    assert units["Inventory.normalise"].body == units["Inventory.normalise"].source


def test_decorators_are_outside_source_and_listed_by_line():
    units = {u.qualname: u for u in extract_fixture("python", "sample.py").units}
    assert units["Inventory.size"].decorator_lines == (20,)
    assert units["Inventory.normalise"].decorator_lines == (25, 26)
    assert units["Inventory.normalise"].source.startswith("def normalise(name):")
    assert units["total_price"].decorator_lines == ()


def test_broken_file_keeps_good_functions_and_counts_errors():
    result = extract_fixture("python", "broken.py")
    assert outline(result) == [("good_before", 1, 2, False), ("good_after", 9, 11, True)]
    assert result.error_count == 1


def test_unicode_spans_are_utf8_byte_offsets():
    text = fixture_text("python", "unicode.py")
    result = extract_fixture("python", "unicode.py")
    assert outline(result) == [("grüße", 1, 3, True), ("after_emoji", 6, 7, False)]
    check_spans(result, text)
    after = result.units[1]
    assert after.span.start_byte == len(text[: text.index("def after_emoji")].encode("utf-8"))
    assert after.span.start_byte > text.index("def after_emoji")  # bytes, not characters
    assert result.units[0].docstring == "Grüßt 🌍."


def test_docstring_only_and_one_line_functions():
    text = 'def stub():\n    """Only a docstring."""\n\n\ndef inline(): """Doc."""; return 1\n'
    units = extract_units("m.py", text, "python").units
    assert [(u.qualname, u.docstring, u.body) for u in units] == [
        ("stub", "Only a docstring.", "def stub():"),
        ("inline", "Doc.", "def inline(): return 1"),
    ]
    for unit in units:  # the hashes are those of the body, whether computed in the file or alone
        assert source_hashes(unit.body, "python") == (unit.hash, unit.normalized_hash)


def test_fstring_and_bytes_are_not_docstrings():
    text = 'def f(x):\n    f"""{x}"""\n    return x\n\n\ndef g():\n    b"raw"\n'
    units = extract_units("m.py", text, "python").units
    assert [(u.qualname, u.docstring) for u in units] == [("f", None), ("g", None)]
    assert units[0].body == units[0].source


def test_async_nested_class_in_function():
    text = "def outer():\n    class Local:\n        async def run(self):\n            return 1\n    return Local\n"
    assert [u.qualname for u in extract_units("m.py", text, "python").units] == ["outer", "outer.Local.run"]


def test_empty_and_garbage_input_do_not_crash():
    assert extract_units("e.py", "", "python").units == []
    garbage = extract_units("g.py", "\x00\x01 def ((((\n\t\t'''", "python")
    assert garbage.units == [] and garbage.error_count >= 1
