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
  wrong-attribute         ``obj.a`` -> ``obj.b``, another attribute the function reads on the same object (Python)
  wrong-callee            ``min(...)`` -> ``max(...)``, ``startswith`` -> ``endswith``, ...: a name from a table of
                          callees that are easy to confuse (Python)
  off-by-one-slice        a non-literal index or slice bound ``e`` -> ``e + 1`` / ``e - 1``, and ``e +/- 1`` -> ``e``
                          (Python; literal bounds are off-by-one's)
  missing-argument        a call's last argument dropped (Python). The site a scan weighs is the call's closing
                          parenthesis, and there is no repair to propose: what was dropped cannot be known.

The first nine were the BugLab families; the last four are the shapes real fixes take that those miss.
"""

from __future__ import annotations

import functools
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
    "wrong-attribute",
    "wrong-callee",
    "off-by-one-slice",
    "missing-argument",
)
MAX_LITERAL = 1000
"""Integer literals above this are constants (sizes, masks), not counters: no off-by-one there."""
_SELF_NAMES = frozenset({"self", "cls"})
_CONFUSED_CALLEES = (
    ("min", "max"), ("any", "all"), ("startswith", "endswith"), ("lstrip", "rstrip"), ("append", "extend"),
    ("keys", "values", "items"), ("lower", "upper"), ("floor", "ceil"), ("find", "rfind"), ("index", "rindex"),
    ("split", "rsplit"), ("isinstance", "issubclass"), ("getattr", "hasattr"), ("add", "discard"),
    ("remove", "discard"), ("sorted", "reversed"), ("insert", "append"), ("pop", "get"), ("setdefault", "get"),
    ("isdigit", "isalpha"), ("isfile", "isdir"), ("exists", "isfile"), ("read", "readline"), ("match", "search"),
    ("search", "fullmatch"), ("dumps", "loads"), ("encode", "decode"), ("union", "intersection"),
    ("update", "intersection_update"), ("info", "warning"), ("warning", "error"), ("first", "last"),
)
"""Groups of callees one is easily written for another; a callee's alternatives are the rest of its groups."""
_CALLEE_ALTERNATIVES: dict[str, tuple[str, ...]] = {}
for _group in _CONFUSED_CALLEES:
    for _name in _group:
        _CALLEE_ALTERNATIVES[_name] = tuple(dict.fromkeys(
            (*_CALLEE_ALTERNATIVES.get(_name, ()), *(n for n in _group if n != _name))))
_PLUS_MINUS_ONE = __import__("re").compile(r"^(.*\S)\s*([+-])\s*1$", __import__("re").S)


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
    for node in parsed.nodes:
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
    for node in parsed.nodes:
        if node.type != node_type:
            continue
        for child in node.children:
            if not child.is_named and ops.get(child.type):
                out.append(_Raw(child.start_byte, child.end_byte, kind, ops[child.type]))
    return out


def _off_by_one(parsed, table) -> list[_Raw]:
    out = []
    for node in parsed.nodes:
        text = parsed.text(node) if node.type == table.integer else ""
        if text.isdigit() and int(text) <= MAX_LITERAL:
            value = int(text)
            out.append(_Raw(node.start_byte, node.end_byte, "off-by-one",
                            tuple(str(v) for v in (value + 1, value - 1) if v >= 0)))
    return out


def _flipped_boolean(parsed, table) -> list[_Raw]:
    flip = {table.true: "False", table.false: "True"}
    return [_Raw(n.start_byte, n.end_byte, "flipped-boolean", (flip[n.type],))
            for n in parsed.nodes if n.type in flip]


def _dropped_negation(parsed, table) -> list[_Raw]:
    out = []
    for node in parsed.nodes:
        if node.type == table.negation:
            argument = node.child_by_field_name("argument")
            if argument is not None:
                out.append(_Raw(node.start_byte, node.end_byte, "dropped-negation", (parsed.text(argument),)))
    return out


def _added_negation(parsed, table) -> list[_Raw]:
    out = []
    for node in parsed.nodes:
        if node.type not in table.conditions:
            continue
        cond = node.child_by_field_name("condition")
        if cond is None or cond.type == table.negation:
            continue
        text = parsed.text(cond)
        out.append(_Raw(cond.start_byte, cond.end_byte, "added-negation",
                        (f"not {text}" if cond.type in table.atoms else f"not ({text})",)))
    return out


def _attribute_parts(parsed, node):
    """(object text, attribute name node, whether it is called) of an ``attribute`` node, or None."""
    obj, name = node.child_by_field_name("object"), node.child_by_field_name("attribute")
    if obj is None or name is None:
        return None
    parent = node.parent
    called = parent is not None and parent.type == "call" and parent.child_by_field_name("function") == node
    return parsed.text(obj), name, called


def _wrong_attribute(parsed, table) -> list[_Raw]:
    if table is not syntax.PYTHON:
        return []
    uses, names = [], {}
    for node in parsed.nodes:
        if node.type == "attribute" and (parts := _attribute_parts(parsed, node)) is not None:
            obj, name, called = parts
            # Data attributes stand in for data attributes, methods for methods, on the same object.
            names.setdefault((obj, called), set()).add(parsed.text(name))
            uses.append(((obj, called), name))
    out = []
    for key, name in uses:
        others = sorted(names[key] - {parsed.text(name)})
        if others:
            out.append(_Raw(name.start_byte, name.end_byte, "wrong-attribute", tuple(others)))
    return out


def _wrong_callee(parsed, table) -> list[_Raw]:
    if table is not syntax.PYTHON:
        return []
    out = []
    for node in parsed.nodes:
        if node.type != table.call:
            continue
        callee = node.child_by_field_name("function")
        if callee is not None and callee.type == "attribute":
            callee = callee.child_by_field_name("attribute")
        if callee is not None and callee.type == "identifier":
            alternatives = _CALLEE_ALTERNATIVES.get(parsed.text(callee))
            if alternatives:
                out.append(_Raw(callee.start_byte, callee.end_byte, "wrong-callee", alternatives))
    return out


def _slice_bounds(parsed, table):
    """Non-literal index expressions and slice bounds of subscripts (Python)."""
    for node in parsed.nodes:
        if node.type == "subscript":
            for child in node.children_by_field_name("subscript"):
                if child.type == "slice":
                    yield from (c for c in child.named_children if c.type != "comment")
                elif child.type not in ("string", "integer", "tuple", "unary_operator", "none", "true", "false"):
                    yield child


def _off_by_one_slice(parsed, table) -> list[_Raw]:
    if table is not syntax.PYTHON:
        return []
    out = []
    for bound in _slice_bounds(parsed, table):
        if bound.type in (table.integer, "unary_operator", "string", "none"):
            continue
        text = parsed.text(bound)
        if "\n" in text:
            continue
        matched = _PLUS_MINUS_ONE.match(text) if bound.type == table.binary else None
        if matched:  # n - 1 -> n or n + 1: the off-by-one a fix most often removes, or its mirror
            alternatives = [matched.group(1), f"{matched.group(1)} {'+' if matched.group(2) == '-' else '-'} 1"]
        else:
            wrapped = text if bound.type in table.atoms else f"({text})"
            alternatives = [f"{wrapped} + 1", f"{wrapped} - 1"]
        out.append(_Raw(bound.start_byte, bound.end_byte, "off-by-one-slice", tuple(alternatives)))
    return out


def _missing_argument(parsed, table) -> list[_Raw]:
    """The rewrite that drops a call's last argument: from the end of the one before to the closing
    parenthesis, replaced by the parenthesis alone (so the bug's site is that parenthesis)."""
    if table is not syntax.PYTHON:
        return []
    out = []
    for node in parsed.nodes:
        if node.type != table.argument_list:
            continue
        args = [c for c in node.named_children if c.type != table.comment]
        if len(args) < 2 or node.children[-1].type != ")" or args[-1].type in ("list_splat", "dictionary_splat"):
            continue
        out.append(_Raw(args[-2].end_byte, node.end_byte, "missing-argument", (")",)))
    return out


def _call_closers(parsed, table) -> list[_Raw]:
    """As a scan weighs missing arguments: each Python call's closing parenthesis, with no repair."""
    if table is not syntax.PYTHON:
        return []
    return [_Raw(n.end_byte - 1, n.end_byte, "missing-argument", ()) for n in parsed.nodes
            if n.type == table.argument_list and n.children and n.children[-1].type == ")"
            and any(c.type != table.comment for c in n.named_children)]


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
        *_wrong_attribute(parsed, table),
        *_wrong_callee(parsed, table),
        *_off_by_one_slice(parsed, table),
        *_missing_argument(parsed, table),
    ]


@functools.lru_cache(maxsize=64)
def parse_sites(source: str, language: str = "python", indent: str = ""):
    """(parsed function, its sites in byte offsets of the framed text) or None when it cannot be parsed.

    Remembered for the last few functions: making several bugs of one function asks for its sites each time."""
    table = syntax.NODE_TYPES.get(language)
    parsed = syntax.parse_function(source, language, indent) if table else None
    if parsed is None:
        return None
    return parsed, tuple(_raw_sites(parsed, table))


def edit_sites(source: str, language: str = "python", indent: str = "") -> list[Site]:
    """The sites of a function's text (``indent``: the whitespace before its first line in the file).

    A language without edit tables, or a text that does not parse, has none.
    """
    found = parse_sites(source, language, indent)
    if found is None:
        return []
    parsed, raw = found
    # A missing argument is weighed where it would have been: each call's closing parenthesis.
    raw = [r for r in raw if r.kind != "missing-argument"] + _call_closers(parsed, syntax.NODE_TYPES[language])
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
