"""Semantics-preserving transforms: exact output per kind, and the same behaviour when executed."""

from __future__ import annotations

import random

import pytest

from codelens.parsing import function_syntax as syntax
from codelens.train.data.clones import TRANSFORM_KINDS, apply_transform, clone_variants

SOURCE = '''def summarize(values, limit=3):
    """Keep the big values and describe them."""
    big = []
    # only values above the limit
    for value in values:
        if value > limit:
            big.append(value*2)

    low = limit - 1
    high = limit + 1
    if len(big) > high:
        label = "many"
    else:
        label = "few"
    return label, big, low'''

SQUARES = '''def squares(values):
    out = [v * v for v in values if v % 2 == 0]
    return out'''


def _apply(kind: str, source: str = SOURCE, seed: int = 0) -> str | None:
    return apply_transform(source, kind, random.Random(seed))


def _body(text: str) -> list[str]:
    return text.split("\n")


def test_rename_is_consistent_and_leaves_the_function_name():
    out = _apply("rename")
    assert out.splitlines()[0] == "def summarize(mapping, offset=3):"
    assert "    for size in mapping:" in out and "            other.append(size*2)" in out
    assert out.endswith("    return line, other, src")
    # Text in strings and comments is not code: it keeps the old words.
    assert '"""Keep the big values and describe them."""' in out and "# only values above the limit" in out


def test_rename_skips_comprehension_variables_and_keyword_names():
    assert _apply("rename", SQUARES) == "def squares(acc):\n    path = [v * v for v in acc if v % 2 == 0]\n    return path"
    call = "def f(a):\n    return g(a=a, b=1)"
    assert apply_transform(call, "rename", random.Random(0)) == "def f(result):\n    return g(a=result, b=1)"


def test_format_spacing_and_blank_lines():
    assert "            big.append(value * 2)" in _apply("format-spacing")
    assert _apply("format-spacing") == SOURCE.replace("value*2", "value * 2")
    blank = _apply("format-blank-lines")
    assert blank == SOURCE.replace('them."""\n', 'them."""\n\n').replace("\n\n    low", "\n\n\n    low")
    assert _apply("format-blank-lines", SQUARES) == "def squares(values):\n    out = [v * v for v in values if v % 2 == 0]\n\n    return out"


def test_comments_removed_and_added():
    assert _apply("remove-comments") == SOURCE.replace("    # only values above the limit\n", "")
    added = _apply("add-comment")
    assert added == SOURCE.replace("        if value > limit:", "        # update the running state\n        if value > limit:")


def test_if_else_swap_negates_the_test():
    assert _apply("if-else-swap") == SOURCE.replace(
        '    if len(big) > high:\n        label = "many"\n    else:\n        label = "few"',
        '    if not (len(big) > high):\n        label = "few"\n    else:\n        label = "many"')


def test_docstring_removal():
    assert _apply("remove-docstring") == SOURCE.replace('    """Keep the big values and describe them."""\n', "")
    assert _apply("remove-docstring", SQUARES) is None


def test_loop_and_comprehension_both_ways():
    assert _apply("loop-to-comprehension") == SOURCE.replace(
        "    big = []\n    # only values above the limit\n    for value in values:\n        if value > limit:\n"
        "            big.append(value*2)", "    big = [value*2 for value in values if value > limit]")
    assert _apply("comprehension-to-loop", SQUARES) == (
        "def squares(values):\n    out = []\n    for v in values:\n        if v % 2 == 0:\n"
        "            out.append(v * v)\n    return out")


def test_loop_variable_used_after_the_loop_blocks_the_comprehension():
    source = "def f(xs):\n    out = []\n    for x in xs:\n        out.append(x)\n    return out, x"
    assert _apply("loop-to-comprehension", source) is None


def test_reorder_only_independent_assignments():
    assert _apply("reorder-statements") == SOURCE.replace(
        "    low = limit - 1\n    high = limit + 1", "    high = limit + 1\n    low = limit - 1")
    dependent = "def f(a):\n    b = a + 1\n    c = b * 2\n    return c"
    assert _apply("reorder-statements", dependent) is None
    with_call = "def f(a):\n    b = g(a)\n    c = h(a)\n    return b, c"
    assert _apply("reorder-statements", with_call) is None


FUNCTIONS = [
    (SOURCE, "summarize", [([1, 5, 9], 3), ([], 0), ([4, 4, 4, 4, 4, 4], 1), ([-2, 7], 6)]),
    (SQUARES, "squares", [([1, 2, 3, 4],), ([],), ([6, -2, 5],)]),
    ('''def collatz_steps(n, cap=100):
    """Count the Collatz steps of n."""
    steps = 0
    while n != 1 and steps < cap:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps''', "collatz_steps", [(6,), (27,), (1,), (7, 5)]),
    ('''def scale_all(rows, factor):
    result = []
    for row in rows:
        result.append([cell*factor for cell in row])
    first = factor + 1
    second = factor * 2
    return result, first - second''', "scale_all", [([[1, 2], [3]], 2), ([], 0)]),
]


def _run(source: str, name: str, args: tuple):
    namespace: dict = {}
    exec(compile(source, "<test>", "exec"), namespace)  # noqa: S102 - our own fixture code
    return namespace[name](*args)


@pytest.mark.parametrize(("source", "name", "inputs"), FUNCTIONS)
def test_every_transform_and_chain_keeps_behaviour(source, name, inputs):
    variants = [apply_transform(source, kind, random.Random(seed)) for kind in TRANSFORM_KINDS for seed in range(3)]
    variants += [v.source for v in clone_variants(source, random.Random(1), count=8)]
    variants = [v for v in variants if v is not None]
    assert len(set(variants)) >= 5
    for variant in variants:
        assert syntax.reparses(variant.encode(), "python")
        for args in inputs:
            assert _run(variant, name, args) == _run(source, name, args), (variant, args)


def test_clone_variants_are_distinct_seeded_and_named():
    first = clone_variants(SOURCE, random.Random(5), count=4)
    assert first == clone_variants(SOURCE, random.Random(5), count=4)
    assert len({v.source for v in first}) == 4 and SOURCE not in {v.source for v in first}
    assert all(set(v.kind.split("+")) <= set(TRANSFORM_KINDS) for v in first)


def test_methods_are_transformed_in_place():
    method = "def total(self, items):\n        acc = 0\n        for item in items:\n            acc += item\n        return acc"
    out = apply_transform(method, "rename", random.Random(0), indent="    ")
    assert out.startswith("def total(self, ") and "\n        for " in out and "self" in out
