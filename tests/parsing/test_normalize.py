"""Normalised sources and the two hashes: what they ignore and what they keep."""

from __future__ import annotations

import pytest

from codelens.parsing import abstracted_source, extract_units, normalized_source, source_hashes

from .helpers import FIXTURES, extract_fixture


def _units(text: str, language: str, rel: str) -> dict:
    return {u.qualname: u for u in extract_units(rel, text, language).units}


def test_python_normalized_and_abstracted_text():
    source = "def add(a, b):\n    # sum them\n    total = a+b  # inline\n    return total * 2 + 'x'\n"
    assert normalized_source(source, "python") == "def add ( a , b ) :\ntotal = a + b\nreturn total * 2 + 'x'"
    assert abstracted_source(source, "python") == "def ID1 ( ID2 , ID3 ) :\nID4 = ID2 + ID3\nreturn ID4 * LIT + LIT"


def test_python_keeps_relative_indentation():
    nested = "def f(x):\n    if x:\n        y = 1\n    return y\n"
    assert normalized_source(nested, "python") == "def f ( x ) :\nif x :\n    y = 1\nreturn y"
    flat = "def f(x):\n    if x:\n        y = 1\n        return y\n"
    assert source_hashes(nested, "python")[0] != source_hashes(flat, "python")[0]


def test_brace_languages_fold_all_whitespace():
    a = "int f(int x) {\n    /* twice */\n    return x*2;\n}"
    b = "int f(int x) { return x * 2; }  // comment"
    assert normalized_source(a, "c") == normalized_source(b, "c") == "int f ( int x ) { return x * 2 ; }"
    assert abstracted_source(a, "c") == "int ID1 ( int ID2 ) { return ID2 * LIT ; }"


def test_string_literal_is_one_token_with_its_spaces():
    assert normalized_source('function f() { return "a  b"; }', "javascript") == 'function f ( ) { return "a  b" ; }'
    assert abstracted_source("fn f() -> char { 'x' }", "rust") == "fn ID1 ( ) -> char { LIT }"


RENAMED = {
    "python": (
        "def total(items):\n    acc = 0\n    for it in items:\n        acc += it.price\n    return acc\n",
        "def sum_prices(rows):\n    s = 0\n    for r in rows:\n        s += r.cost\n    return s\n",
    ),
    "javascript": (
        "function total(items) { let acc = 0; for (const it of items) acc += it.price; return acc; }",
        "function sumPrices(rows) { let s = 0; for (const r of rows) s += r.cost; return s; }",
    ),
    "typescript": (
        "function total(items: Item[]): number { return items.reduce((a, i) => a + i.price, 0); }",
        "function sumPrices(rows: Row[]): number { return rows.reduce((s, r) => s + r.cost, 0); }",
    ),
    "java": (
        "class A { int total(int[] items) { int acc = 0; for (int it : items) acc += it; return acc; } }",
        "class B { int sumAll(int[] rows) { int s = 0; for (int r : rows) s += r; return s; } }",
    ),
    "go": (
        "package p\nfunc total(items []int) int { acc := 0; for _, it := range items { acc += it }; return acc }",
        "package p\nfunc sumAll(rows []int) int { s := 0; for _, r := range rows { s += r }; return s }",
    ),
    "c": (
        "int total(int *items, int n) { int acc = 0; for (int i = 0; i < n; i++) acc += items[i]; return acc; }",
        "int sum_all(int *rows, int k) { int s = 0; for (int j = 0; j < k; j++) s += rows[j]; return s; }",
    ),
    "cpp": (
        "int Bag::total() const { int acc = 0; for (auto it : items_) acc += it; return acc; }",
        "int Box::sumAll() const { int s = 0; for (auto r : rows_) s += r; return s; }",
    ),
    "rust": (
        "fn total(items: &[i32]) -> i32 { let mut acc = 0; for it in items { acc += it; } acc }",
        "fn sum_all(rows: &[i32]) -> i32 { let mut s = 0; for r in rows { s += r; } s }",
    ),
}
_SUFFIX = {
    "python": "py", "javascript": "js", "typescript": "ts", "java": "java", "go": "go", "c": "c", "cpp": "cpp",
    "rust": "rs",
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(RENAMED))
def test_renamed_identifiers_share_normalized_hash_but_not_hash(language):
    first, second = (extract_units(f"m.{_SUFFIX[language]}", text, language).units for text in RENAMED[language])
    assert len(first) == len(second) == 1
    assert first[0].normalized_hash == second[0].normalized_hash
    assert first[0].hash != second[0].hash


def test_literal_change_keeps_only_normalized_hash():
    a = _units("def f():\n    return 1\n", "python", "a.py")["f"]
    b = _units("def f():\n    return 2\n", "python", "b.py")["f"]
    assert a.normalized_hash == b.normalized_hash and a.hash != b.hash


def test_docstring_comments_and_formatting_do_not_change_hash():
    plain = _units("def f(x):\n    return x+1\n", "python", "a.py")["f"]
    documented = _units('def f(x):\n    """Add one."""\n    # why\n    return x + 1  # note\n', "python", "b.py")["f"]
    assert plain.hash == documented.hash
    assert plain.normalized_hash == documented.normalized_hash
    js_doc = _units("/** Add one. */\nfunction f(x) { return x + 1; }", "javascript", "a.js")["f"]
    js_plain = _units("function f(x) {\n  return x+1; // one\n}", "javascript", "b.js")["f"]
    assert js_doc.hash == js_plain.hash


def test_method_hashes_like_the_same_function_at_top_level():
    method = _units("class A:\n    def f(self, x):\n        if x:\n            return 1\n", "python", "a.py")["A.f"]
    top = _units("def f(self, x):\n    if x:\n        return 1\n", "python", "b.py")["f"]
    assert method.hash == top.hash


def test_standalone_hashes_match_extracted_hashes_for_every_fixture():
    """``source_hashes(unit.body)`` reproduces the unit's hashes (methods are parsed inside a wrapper)."""
    checked = 0
    for path in sorted(FIXTURES.glob("*/*")):
        result = extract_fixture(path.parent.name, path.name)
        for unit in result.units:
            assert source_hashes(unit.body, unit.language) == (unit.hash, unit.normalized_hash), unit.qualname
            checked += 1
    assert checked == 73
