"""The plain-string shortcut for docstring values agrees with ``ast.literal_eval`` or stands aside."""

from __future__ import annotations

import ast

import pytest

from codelens.parsing.docs import _plain_string_value

TAKEN = ['"""Doc."""', "'''Doc.'''", '"one line"', "'x'", 'r"""raw"""', 'u"uni"', 'R"x"', '""""""', '""',
         '"""Say "hi" now."""', '"""multi\n    line\n"""', "'''tab\there'''", '"""é ✓ \x0c"""']  # fmt: skip
DECLINED = [
    '"""a\\nb"""',  # escape
    'r"""a\\"""',  # raw with a backslash
    '"a" "b"',  # concatenation
    '"""a""" """b"""',
    '"""a""""',  # a quote right before the closing ones: a syntax error
    '"a\nb"',  # newline in a one-line string
    '"""a\r\nb"""',  # CR: the tokenizer rewrites line ends
    '"a\0"',
    'b"bytes"',
    'f"{x}"',
    'ur"no"',
    '"unterminated',
]


@pytest.mark.parametrize("literal", TAKEN)
def test_plain_literals_give_the_literal_eval_value(literal):
    assert _plain_string_value(literal) == ast.literal_eval(literal)


@pytest.mark.parametrize("literal", DECLINED)
def test_other_literals_are_left_to_literal_eval(literal):
    assert _plain_string_value(literal) is None
