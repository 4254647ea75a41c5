"""Summary targets: the cleaned first sentence of a docstring, or nothing."""

from __future__ import annotations

import pytest

from codelens.train.data.summaries import first_sentence


@pytest.mark.parametrize(("docstring", "expected"), [
    ("Return the sum of two numbers.", "Return the sum of two numbers."),
    ("return the sum\nof two numbers", "Return the sum of two numbers."),
    ("Parse a file. Lines starting with # are skipped.", "Parse a file."),
    ("Compute e.g. the mean of values.\n\nMore text.", "Compute e.g. the mean of values."),
    ("Call :func:`os.path.join` on ``a`` and `b`.", "Call os.path.join on a and b."),
    ("Use :class:`~pkg.mod.Reader` for it.", "Use Reader for it."),
    ("See the :ref:`guide <intro>` first", None),
    ("Build the index:", "Build the index."),
    ("Args:\n    x: a value", None),
    (">>> f(1)\n2", None),
    ("TODO: write this", None),
    ("Done.", None),
    ("", None),
    (None, None),
    ("word " * 25, None),
    ("42 !!", None),
])
def test_first_sentence(docstring, expected):
    assert first_sentence(docstring) == expected
