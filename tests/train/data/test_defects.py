"""Bug rewrites: one exact example per kind, byte-identical elsewhere, and still valid code."""

from __future__ import annotations

import random

import pytest

from codelens.parsing import function_syntax as syntax
from codelens.parsing.sites import BUG_KINDS
from codelens.train.data.defects import bug_rewrites, sample_bugs

SOURCE = '''def clamp_sum(values, low, high):
    total = 0
    for value in values:
        if not value is None and value > low:
            total = total + max(value, high)
    while total >= high or False:
        total -= 1
    return total'''


def _lines(kind: str) -> list[tuple[int, str]]:
    return [(r.line, r.source.splitlines()[r.line - 1]) for r in bug_rewrites(SOURCE, kinds=(kind,))]


REAL_FIX_SOURCE = '''def visible(self, rows, n):
    if self.width > self.height:
        return max(rows[:n - 1])
    return self.name.startswith("x", 3)'''
"""A function with the shapes of the four kinds real fixes take (attributes, callees, slices, calls)."""


def test_every_kind_is_produced_in_a_fixed_order():
    kinds = [r.kind for r in bug_rewrites(SOURCE)]
    assert [k for k in dict.fromkeys(kinds) if k in BUG_KINDS[:9]] == list(BUG_KINDS[:9])
    real = [r.kind for r in bug_rewrites(REAL_FIX_SOURCE)]
    assert [k for k in dict.fromkeys(real) if k in BUG_KINDS[9:]] == list(BUG_KINDS[9:])
    assert bug_rewrites(SOURCE) == bug_rewrites(SOURCE)


@pytest.mark.parametrize(("kind", "expected"), [
    ("wrong-attribute", [(2, "    if self.height > self.height:"), (2, "    if self.name > self.height:"),
                         (2, "    if self.width > self.name:"), (2, "    if self.width > self.width:"),
                         (4, "    return self.height.startswith(\"x\", 3)"),
                         (4, "    return self.width.startswith(\"x\", 3)")]),
    ("wrong-callee", [(3, "        return min(rows[:n - 1])"), (4, "    return self.name.endswith(\"x\", 3)")]),
    ("off-by-one-slice", [(3, "        return max(rows[:n])"), (3, "        return max(rows[:n + 1])")]),
    ("missing-argument", [(4, "    return self.name.startswith(\"x\")")]),
])
def test_real_fix_kinds_give_exactly_these_rewrites(kind, expected):
    lines = [(r.line, r.source.splitlines()[r.line - 1]) for r in bug_rewrites(REAL_FIX_SOURCE, kinds=(kind,))]
    assert lines == expected


def test_a_dropped_argument_is_located_at_the_closing_parenthesis_with_no_repair():
    """What a scan weighs for a missing argument is the call's ')': the bug's site in the rewritten text."""
    from codelens.parsing.sites import edit_sites
    from codelens.train.data.dataset import repair_target

    (bug,) = bug_rewrites(REAL_FIX_SOURCE, kinds=("missing-argument",))
    assert bug.source[bug.site[0]:bug.site[1]] == ")" and bug.repair == ", 3)"
    assert repair_target(bug, "python", "") == ("missing-argument", ())
    closers = [s for s in edit_sites(bug.source) if s.kind == "missing-argument"]
    assert [(s.text, s.alternatives) for s in closers] == [(")", ()), (")", ())]


def test_slice_repairs_undo_the_off_by_one():
    from codelens.model.repairs import REPAIR_CLASSES, repair_class
    from codelens.train.data.dataset import repair_target

    for bug in bug_rewrites(REAL_FIX_SOURCE, kinds=("off-by-one-slice",)):
        kind, candidates = repair_target(bug, "python", "")
        assert kind == "off-by-one-slice" and bug.repair in candidates
    # n - 1 where n was right: dropping the "- 1" adds one; n + 1 -> n takes one away
    assert REPAIR_CLASSES[repair_class("off-by-one-slice", "n - 1", "n")] == "+1"
    assert REPAIR_CLASSES[repair_class("off-by-one-slice", "n + 1", "n")] == "-1"
    assert REPAIR_CLASSES[repair_class("off-by-one-slice", "n", "n + 1")] == "+1"


def test_variable_misuse_uses_only_locals_bound_before_the_use():
    lines = _lines("variable-misuse")
    # The loop iterable cannot be the loop variable itself, nor a name bound later.
    assert [text for line, text in lines if line == 3] == [
        "    for value in high:", "    for value in low:", "    for value in total:"]
    assert (8, "    return value") in lines
    assert (5, "            total = total + max(value, value)") in lines
    # Assignment targets are never rewritten (they bind, they do not read).
    assert not any(text.startswith("    high = ") for _, text in lines)
    assert len(lines) == 39


@pytest.mark.parametrize(("kind", "expected"), [
    ("swapped-arguments", [(5, "            total = total + max(high, value)")]),
    ("wrong-binary-operator", [(5, "            total = total - max(value, high)")]),
    ("wrong-comparison", [(4, "        if not value is None and value >= low:"),
                          (4, "        if not value is None and value < low:"),
                          (6, "    while total > high or False:"),
                          (6, "    while total <= high or False:")]),
    ("wrong-boolean-operator", [(4, "        if not value is None or value > low:"),
                                (6, "    while total >= high and False:")]),
    ("off-by-one", [(2, "    total = 1"), (7, "        total -= 2"), (7, "        total -= 0")]),
    ("flipped-boolean", [(6, "    while total >= high or True:")]),
    ("dropped-negation", [(4, "        if value is None and value > low:")]),
    ("added-negation", [(4, "        if not (not value is None and value > low):"),
                        (6, "    while not (total >= high or False):")]),
])
def test_each_kind_gives_exactly_these_rewrites(kind, expected):
    assert _lines(kind) == expected


def test_rest_of_the_text_is_byte_identical_and_still_parses():
    old_lines = SOURCE.split("\n")
    for rewrite in bug_rewrites(SOURCE):
        new_lines = rewrite.source.split("\n")
        assert len(new_lines) == len(old_lines)
        assert [i + 1 for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b] == [rewrite.line]
        old, new = old_lines[rewrite.line - 1], new_lines[rewrite.line - 1]
        # The indentation and the statement's opening word are never touched.
        assert new[: len(old) - len(old.lstrip())] == old[: len(old) - len(old.lstrip())]
        assert syntax.reparses(rewrite.source.encode(), "python")


def test_methods_keep_their_indentation():
    method = "def area(self, width):\n        size = width * 2\n        return self.scale(size, width)"
    rewrites = bug_rewrites(method, indent="    ")
    assert rewrites[0].source == "def area(self, width):\n        size = width * 2\n        return self.scale(width, width)"
    assert {r.kind for r in rewrites} == {"variable-misuse", "swapped-arguments", "wrong-binary-operator", "off-by-one",
                                          "missing-argument"}
    assert all(r.source.startswith("def area(self, width):\n        ") for r in rewrites)


def test_self_is_never_swapped_in_or_out():
    method = "def get(self, key):\n        value = self.data[key]\n        return value"
    texts = [r.source for r in bug_rewrites(method, indent="    ", kinds=("variable-misuse",))]
    assert all("self.data" in t for t in texts)
    assert texts == ["def get(self, key):\n        value = self.data[key]\n        return key"]


def test_unparsable_or_unsupported_input_gives_no_rewrites():
    assert bug_rewrites("def broken(:\n    return 1") == []
    assert bug_rewrites("function f(a) { return a + 1; }", language="javascript") == []


def test_sampling_spreads_over_kinds_and_is_seeded():
    first = sample_bugs(SOURCE, random.Random(3), count=6)
    assert first == sample_bugs(SOURCE, random.Random(3), count=6)
    assert len(first) == 6 and len({r.source for r in first}) == 6
    assert len({r.kind for r in first}) >= 4
