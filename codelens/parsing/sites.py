"""Edit sites of a function: where a one-token bug can sit, and what could stand there instead.

One enumeration serves both directions. Training makes BugLab-style bugs by putting an alternative at a
site of a correct function (``codelens.train.data.defects``); a scan that has located a likely bug
proposes the repair among the candidates at that site of the function as it is (``repair_candidates``).
Offsets are character offsets in the function's text, the text the model reads (``CodeUnit.body``).

Kinds, named after the bug they make:

  variable-misuse         a use of a local -> another local already bound at that point (Python)
  swapped-arguments       two adjacent positional call arguments -> exchanged
  wrong-binary-operator   ``+`` -> ``-``, ``*`` -> ``/``, ``//`` -> ``/``, ``<<`` -> ``>>``, ...
  wrong-comparison        ``<`` <-> ``<=``, ``<`` <-> ``>``, ``==`` <-> ``!=``, ...
  wrong-boolean-operator  ``and`` <-> ``or``
  off-by-one              a small integer literal n -> n + 1 or n - 1
  flipped-boolean         ``True`` <-> ``False``
  dropped-negation        ``not x`` -> ``x``
  added-negation          an ``if`` / ``elif`` / ``while`` condition c -> ``not c``
"""

from __future__ import annotations

from dataclasses import dataclass

from codelens.parsing import function_syntax as syntax

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


@dataclass(frozen=True)
class Site:
    """One place of a function where a single edit makes (or mends) a bug."""

    start: int
    """Character offset of the site in the function text."""
    end: int
    kind: str
    """One of BUG_KINDS: the bug an alternative would make here."""
    text: str
    """What stands at the site now."""
    alternatives: tuple[str, ...]
    """What the bug kind puts here instead, in a fixed order (the bug tables)."""
    line: int
    """1-based line of the site in the function text."""


@dataclass(frozen=True)
class _Raw:
    start: int
    end: int
    kind: str
    alternatives: tuple[str, ...]


def _variable_misuse(parsed, table) -> list[_Raw]:
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
        if others:
            out.append(_Raw(use.start_byte, use.end_byte, "variable-misuse", tuple(o for _, o in others)))
    return out


def _swapped_arguments(parsed, table) -> list[_Raw]:
    out = []
    for node in syntax.walk(parsed.fn):
        if node.type != table.argument_list:
            continue
        args = list(node.named_children)
        for left, right in zip(args, args[1:]):
            if left.type in table.positional_excluded or right.type in table.positional_excluded:
                continue
            if parsed.text(left) != parsed.text(right):
                between = parsed.data[left.end_byte:right.start_byte].decode("utf-8")
                out.append(_Raw(left.start_byte, right.end_byte, "swapped-arguments",
                                (parsed.text(right) + between + parsed.text(left),)))
    return out


def _operators(parsed, node_type: str, ops: dict[str, tuple[str, ...]], kind: str) -> list[_Raw]:
    out = []
    for node in syntax.walk(parsed.fn):
        if node.type != node_type:
            continue
        for child in node.children:
            if not child.is_named and ops.get(child.type):
                out.append(_Raw(child.start_byte, child.end_byte, kind, ops[child.type]))
    return out


def _off_by_one(parsed, table) -> list[_Raw]:
    out = []
    for node in syntax.walk(parsed.fn):
        text = parsed.text(node) if node.type == table.integer else ""
        if text.isdigit() and int(text) <= MAX_LITERAL:
            value = int(text)
            out.append(_Raw(node.start_byte, node.end_byte, "off-by-one",
                            tuple(str(v) for v in (value + 1, value - 1) if v >= 0)))
    return out


def _flipped_boolean(parsed, table) -> list[_Raw]:
    flip = {table.true: "False", table.false: "True"}
    return [_Raw(n.start_byte, n.end_byte, "flipped-boolean", (flip[n.type],))
            for n in syntax.walk(parsed.fn) if n.type in flip]


def _dropped_negation(parsed, table) -> list[_Raw]:
    out = []
    for node in syntax.walk(parsed.fn):
        if node.type == table.negation:
            argument = node.child_by_field_name("argument")
            if argument is not None:
                out.append(_Raw(node.start_byte, node.end_byte, "dropped-negation", (parsed.text(argument),)))
    return out


def _added_negation(parsed, table) -> list[_Raw]:
    out = []
    for node in syntax.walk(parsed.fn):
        if node.type not in table.conditions:
            continue
        cond = node.child_by_field_name("condition")
        if cond is None or cond.type == table.negation:
            continue
        text = parsed.text(cond)
        out.append(_Raw(cond.start_byte, cond.end_byte, "added-negation",
                        (f"not {text}" if cond.type in table.atoms else f"not ({text})",)))
    return out


def _raw_sites(parsed, table) -> list[_Raw]:
    """Every site, in BUG_KINDS order, each kind in source order."""
    return [
        *_variable_misuse(parsed, table),
        *_swapped_arguments(parsed, table),
        *_operators(parsed, table.binary, table.binary_ops, "wrong-binary-operator"),
        *_operators(parsed, table.comparison, table.comparison_ops, "wrong-comparison"),
        *_operators(parsed, table.boolean, {k: (v,) for k, v in table.boolean_ops.items()}, "wrong-boolean-operator"),
        *_off_by_one(parsed, table),
        *_flipped_boolean(parsed, table),
        *_dropped_negation(parsed, table),
        *_added_negation(parsed, table),
    ]


def parse_sites(source: str, language: str = "python", indent: str = ""):
    """(parsed function, its sites in byte offsets of the framed text) or None when it cannot be parsed."""
    table = syntax.NODE_TYPES.get(language)
    parsed = syntax.parse_function(source, language, indent) if table else None
    if parsed is None:
        return None
    return parsed, _raw_sites(parsed, table)


def edit_sites(source: str, language: str = "python", indent: str = "") -> list[Site]:
    """The sites of a function's text (``indent``: the whitespace before its first line in the file).

    A language without edit tables, or a text that does not parse, has none.
    """
    found = parse_sites(source, language, indent)
    if found is None:
        return []
    parsed, raw = found
    chars = _CharOffsets(parsed.data, parsed.start)
    return [Site(chars(r.start), chars(r.end), r.kind, parsed.data[r.start:r.end].decode("utf-8"), r.alternatives,
                 parsed.line_of(r.start)) for r in raw]


def repair_candidates(site: Site, language: str = "python") -> tuple[str, ...]:
    """What could have stood at ``site`` before a bug of its kind: the bug table read both ways.

    An operator made wrong by ``*`` -> ``+`` is mended by ``+`` -> ``*``, which the forward table of ``+``
    (``-``) lacks; so the candidates are the site's own alternatives plus every operator whose table
    leads to what stands there. Variables, literals, negations, swaps and booleans are their own inverse.
    """
    table = syntax.NODE_TYPES.get(language)
    if table is None:
        return site.alternatives
    forward = {"wrong-binary-operator": table.binary_ops, "wrong-comparison": table.comparison_ops,
               "wrong-boolean-operator": {k: (v,) for k, v in table.boolean_ops.items()}}.get(site.kind)
    if forward is None:
        return site.alternatives
    inverse = tuple(op for op, targets in forward.items() if site.text in targets)
    return tuple(dict.fromkeys((*site.alternatives, *inverse)))


class _CharOffsets:
    """Byte offsets of the framed text -> character offsets of the function text (ASCII: a subtraction)."""

    def __init__(self, data: bytes, start: int) -> None:
        self.data, self.start = data, start
        self.ascii = data[start:].isascii()

    def __call__(self, byte: int) -> int:
        if self.ascii:
            return byte - self.start
        return len(self.data[self.start:byte].decode("utf-8"))
