"""BugLab-style bugs: one small rewrite of a correct function, made on its tree-sitter tree.

Every rewrite is a byte splice of one node (or two, for swapped arguments), so the rest of the function
stays byte-identical, and a rewrite is kept only if the result still parses. Kinds:

  variable-misuse         a use of a local replaced by another local already bound at that point
  swapped-arguments       two adjacent positional call arguments exchanged
  wrong-binary-operator   ``+`` -> ``-``, ``*`` -> ``/``, ``//`` -> ``/``, ``<<`` -> ``>>``, ...
  wrong-comparison        ``<`` <-> ``<=``, ``<`` <-> ``>``, ``==`` <-> ``!=``, ...
  wrong-boolean-operator  ``and`` <-> ``or``
  off-by-one              a small integer literal n -> n + 1 or n - 1
  flipped-boolean         ``True`` <-> ``False``
  dropped-negation        ``not x`` -> ``x``
  added-negation          an ``if`` / ``elif`` / ``while`` condition c -> ``not c``

The operator tables and node names come from ``syntax.NODE_TYPES``; variable misuse needs the
language's scope rules, which exist for Python.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from codelens.train.data import syntax

BUG_KINDS = (
    "variable-misuse",
    "swapped-arguments",
    "wrong-binary-operator",
    "wrong-comparison",
    "wrong-boolean-operator",
    "off-by-one",
    "flipped-boolean",
    "dropped-negation",
    "added-negation",
)
MAX_LITERAL = 1000
"""Integer literals above this are constants (sizes, masks), not counters: no off-by-one there."""
_SELF_NAMES = frozenset({"self", "cls"})


class Rewrite(NamedTuple):
    """One single-edit variant of a function."""

    source: str
    """The rewritten function source, framed like the input (same indentation)."""
    kind: str
    """One of BUG_KINDS (or a clone transform name in clones.py)."""
    line: int
    """1-based line of the edit inside ``source``."""


Edit = tuple[int, int, bytes]


def _edit(node, text: str) -> Edit:
    return (node.start_byte, node.end_byte, text.encode("utf-8"))


def _variable_misuse(parsed, table) -> list[list[Edit]]:
    if table is not syntax.PYTHON:
        return []
    scope = syntax.python_scope(parsed)
    out = []
    for use in scope.uses:
        name = parsed.text(use)
        if name in _SELF_NAMES:
            continue
        others = sorted((pos, other) for other, pos in scope.first_def.items()
                        if other != name and other not in _SELF_NAMES and pos < use.start_byte
                        and other not in scope.comprehension_names)
        out += [[_edit(use, other)] for _, other in others]
    return out


def _swapped_arguments(parsed, table) -> list[list[Edit]]:
    out = []
    for node in syntax.walk(parsed.fn):
        if node.type != table.argument_list:
            continue
        args = [c for c in node.named_children]
        for left, right in zip(args, args[1:]):
            if left.type in table.positional_excluded or right.type in table.positional_excluded:
                continue
            if parsed.text(left) != parsed.text(right):
                out.append([_edit(left, parsed.text(right)), _edit(right, parsed.text(left))])
    return out


def _operator_swaps(parsed, node_type: str, ops: dict[str, tuple[str, ...]]) -> list[list[Edit]]:
    out = []
    for node in syntax.walk(parsed.fn):
        if node.type != node_type:
            continue
        for child in node.children:
            for new in ops.get(child.type, ()) if not child.is_named else ():
                out.append([_edit(child, new)])
    return out


def _off_by_one(parsed, table) -> list[list[Edit]]:
    out = []
    for node in syntax.walk(parsed.fn):
        text = parsed.text(node) if node.type == table.integer else ""
        if text.isdigit() and int(text) <= MAX_LITERAL:
            value = int(text)
            out += [[_edit(node, str(v))] for v in (value + 1, value - 1) if v >= 0]
    return out


def _flipped_boolean(parsed, table) -> list[list[Edit]]:
    flip = {table.true: "False", table.false: "True"}
    return [[_edit(n, flip[n.type])] for n in syntax.walk(parsed.fn) if n.type in flip]


def _dropped_negation(parsed, table) -> list[list[Edit]]:
    out = []
    for node in syntax.walk(parsed.fn):
        if node.type == table.negation:
            argument = node.child_by_field_name("argument")
            if argument is not None:
                out.append([_edit(node, parsed.text(argument))])
    return out


def _added_negation(parsed, table) -> list[list[Edit]]:
    out = []
    for node in syntax.walk(parsed.fn):
        if node.type not in table.conditions:
            continue
        cond = node.child_by_field_name("condition")
        if cond is None or cond.type == table.negation:
            continue
        text = parsed.text(cond)
        out.append([_edit(cond, f"not {text}" if cond.type in table.atoms else f"not ({text})")])
    return out


def _candidates(parsed, table) -> dict[str, list[list[Edit]]]:
    return {
        "variable-misuse": _variable_misuse(parsed, table),
        "swapped-arguments": _swapped_arguments(parsed, table),
        "wrong-binary-operator": _operator_swaps(parsed, table.binary, table.binary_ops),
        "wrong-comparison": _operator_swaps(parsed, table.comparison, table.comparison_ops),
        "wrong-boolean-operator": _operator_swaps(parsed, table.boolean,
                                                  {k: (v,) for k, v in table.boolean_ops.items()}),
        "off-by-one": _off_by_one(parsed, table),
        "flipped-boolean": _flipped_boolean(parsed, table),
        "dropped-negation": _dropped_negation(parsed, table),
        "added-negation": _added_negation(parsed, table),
    }


def _apply(parsed, kind: str, edits: list[Edit], language: str) -> Rewrite | None:
    data = syntax.splice(parsed.data, edits)
    if data == parsed.data or not syntax.reparses(data, language):
        return None
    return Rewrite(syntax.unframe(data, parsed.start), kind, parsed.line_of(min(e[0] for e in edits)))


def bug_rewrites(source: str, language: str = "python", indent: str = "",
                 kinds: tuple[str, ...] = BUG_KINDS) -> list[Rewrite]:
    """Every single-edit bug of the given kinds, in kind order then source order.

    ``indent`` is the whitespace before the ``def`` in its file (methods); the result keeps it.
    A language without a rewrite table, or a source that does not parse, gives no rewrites.
    """
    table = syntax.NODE_TYPES.get(language)
    parsed = syntax.parse_function(source, language, indent) if table else None
    if parsed is None:
        return []
    out = []
    for kind, candidates in _candidates(parsed, table).items():
        if kind in kinds:
            out += [r for edits in candidates if (r := _apply(parsed, kind, edits, language)) is not None]
    return out


def sample_bugs(source: str, rng: random.Random, count: int = 1, language: str = "python",
                indent: str = "", kinds: tuple[str, ...] = BUG_KINDS) -> list[Rewrite]:
    """Up to ``count`` distinct bugs, spread over kinds: draw a kind uniformly, then one of its rewrites.

    Drawing the kind first keeps frequent kinds (every integer literal is a candidate) from drowning
    the rare ones.
    """
    table = syntax.NODE_TYPES.get(language)
    parsed = syntax.parse_function(source, language, indent) if table else None
    if parsed is None:
        return []
    pools = {k: list(v) for k, v in _candidates(parsed, table).items() if k in kinds and v}
    out: list[Rewrite] = []
    seen = {source}
    while len(out) < count and pools:
        kind = rng.choice(sorted(pools))
        edits = pools[kind].pop(rng.randrange(len(pools[kind])))
        if not pools[kind]:
            del pools[kind]
        rewrite = _apply(parsed, kind, edits, language)
        if rewrite is not None and rewrite.source not in seen:
            seen.add(rewrite.source)
            out.append(rewrite)
    return out
