"""Identifier-and-keyword sets and their Jaccard similarity (the lexical clone baseline)."""

from __future__ import annotations

import numpy as np
import pytest

from codelens.tasks.lexical import jaccard, jaccard_matrix, token_set


def test_token_set_keeps_names_and_keywords_only():
    code = ('def total(self, items):\n    """Sum the items."""\n    # a comment about value\n'
            '    for item in items:\n        self.value += item * 2  # more words\n    return "value"\n')
    assert token_set(code) == {"def", "total", "self", "items", "for", "item", "in", "value", "return"}


def test_token_set_other_languages():
    assert token_set("function f(a) { const b = a + 1; return `x${b}`; }", "javascript") == {
        "function", "f", "a", "const", "b", "return"}
    assert token_set("func (r *T) M(x int) int { return x }", "go") == {"func", "r", "T", "M", "x", "int", "return"}


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
