"""Identifier-and-keyword sets and their Jaccard similarity (the lexical clone baseline)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from codelens.parsing import extract_units, language_for_path
from codelens.tasks.clone import jaccard, jaccard_matrix, token_set, unit_token_set
from tests.parsing.helpers import FIXTURES


def test_token_set_keeps_names_and_keywords_only():
    code = ('def total(self, items):\n    """Sum the items."""\n    # a comment about value\n'
            '    for item in items:\n        self.value += item * 2  # more words\n    return "value"\n')
    assert token_set(code) == {"def", "total", "self", "items", "for", "item", "in", "value", "return"}


def test_token_set_other_languages():
    assert token_set("function f(a) { const b = a + 1; return `x${b}`; }", "javascript") == {
        "function", "f", "a", "const", "b", "return"}
    assert token_set("func (r *T) M(x int) int { return x }", "go") == {"func", "r", "T", "M", "x", "int", "return"}


def test_extraction_gives_each_unit_the_token_set_of_its_body():
    """The set comes from the tokens extraction walked, not a second parse, and is the one ``token_set``
    computes from the body alone: every language, methods, nested functions, bodies without their docstring."""
    checked = set()
    for path in sorted(FIXTURES.glob("*/*")):
        language = language_for_path(path.name)
        for unit in extract_units(path.name, path.read_text("utf-8"), language).units:
            assert unit.token_set == token_set(unit.body, language), (path.name, unit.qualname)
            checked.add(language)
    assert checked == {"python", "javascript", "typescript", "java", "go", "c", "cpp", "rust"}


def test_a_units_token_set_is_not_part_of_its_identity():
    (unit,) = extract_units("a.py", "def area(w, h):\n    return w * h\n", "python").units
    built = dataclasses.replace(unit, token_set=None)  # as a unit built without a parser has it
    assert unit.token_set == {"def", "area", "w", "h", "return"} == unit_token_set(built)
    assert built == unit and hash(built) == hash(unit)


def test_jaccard():
    a, b = frozenset({"x", "y", "z"}), frozenset({"y", "z", "w", "v"})
    assert jaccard(a, b) == pytest.approx(2 / 5)
    assert jaccard(a, a) == 1.0 and jaccard(frozenset(), frozenset()) == 0.0 and jaccard(a, frozenset()) == 0.0


def test_jaccard_matrix_matches_the_pairwise_function():
    sets = [frozenset("abc"), frozenset("bcd"), frozenset(), frozenset("xyz"), frozenset("abcd")]
    matrix = jaccard_matrix(sets)
    expected = np.array([[jaccard(a, b) for b in sets] for a in sets])
    assert matrix.dtype == np.float32 and matrix.shape == (5, 5)
    assert np.allclose(matrix, expected)


def test_renamed_identifiers_lower_the_score():
    first = token_set("def area(self):\n    side = self.side\n    return side * side\n")
    renamed = token_set("def area(self):\n    width = self.side\n    return width * width\n")
    assert 0 < jaccard(first, renamed) < 1
