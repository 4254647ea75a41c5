"""JavaScript extraction: declarations, methods, named function values; anonymous callbacks skipped."""

from __future__ import annotations

from codelens.parsing import extract_units

from .helpers import check_spans, extract_fixture, fixture_text, outline

SAMPLE = [
    ("parseList", 7, 9, True),
    ("add", 12, 12, True),
    ("Stack.constructor", 15, 17, False),
    ("Stack.push", 20, 22, True),
    ("Stack.pop", 24, 26, False),
    ("Stack.from", 28, 32, False),
    ("module.exports.helper", 35, 40, False),
    ("module.exports.helper.inner", 36, 38, False),
    ("api.get", 43, 45, False),
    ("api.post", 46, 46, False),
]


def test_sample_outline_and_spans():
    result = extract_fixture("javascript", "sample.js")
    assert outline(result) == SAMPLE  # the .map / forEach / setTimeout callbacks are skipped
    assert result.error_count == 0
    check_spans(result, fixture_text("javascript", "sample.js"))


def test_doc_comments_and_sources():
    units = {u.qualname: u for u in extract_fixture("javascript", "sample.js").units}
    assert units["parseList"].docstring == "Parse a comma separated list of numbers.\n@param {string} text"
    assert units["add"].docstring == "Adds two numbers."
    assert units["add"].source == "(a, b) => a + b"  # the function node; its name is the qualname
    assert units["Stack.push"].docstring == "Push one value."
    for unit in units.values():
        assert unit.body == unit.source


def test_broken_file_keeps_good_functions_and_counts_errors():
    result = extract_fixture("javascript", "broken.js")
    assert outline(result) == [("good", 1, 3, False), ("alsoGood", 9, 11, False)]
    assert result.error_count == 1


def test_jsx_parses_with_the_javascript_grammar():
    text = "/** Hi. */\nexport function Hello({ name }) {\n  return <b>Hello {name}</b>;\n}\n"
    result = extract_units("c.jsx", text, "javascript")
    assert outline(result) == [("Hello", 2, 4, True)]
    assert result.error_count == 0


def test_blank_line_or_trailing_comment_is_not_a_doc_comment():
    text = "// license header\n\nfunction a() {}\nlet x = 1; // trailing\nfunction b() {}\n"
    assert [(u.qualname, u.docstring) for u in extract_units("m.js", text, "javascript").units] == [
        ("a", None),
        ("b", None),
    ]


def test_assignment_targets_name_function_values():
    source = (
        "Foo.prototype.bar = function () { return 1; };\n"
        "this.handler = () => 2;\n"
        "obj[key] = function () {};\n"
        "items[0].run = () => 3;\n"
        "const named = function inner() {};\n"
        "[1].map(function visit(x) { return x; });\n"
        "const Klass = class { method() {} };\n"
    )
    assert [u.qualname for u in extract_units("m.js", source, "javascript").units] == [
        "Foo.prototype.bar", "this.handler", "run", "named", "visit", "Klass.method",
    ]  # fmt: skip
