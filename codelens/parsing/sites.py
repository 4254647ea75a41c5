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
One walk of a function's tree finds the sites of every kind (``_SiteWalk``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

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


class _Raw(NamedTuple):
    """A site in byte offsets of the framed text (a tuple: tens of thousands are made per thousand functions)."""

    start: int
    end: int
    kind: str
    alternatives: tuple[str, ...]


class FunctionSites(NamedTuple):
    """A parsed function and its sites, in byte offsets of its framed text."""

    parsed: syntax.Parsed
    rewrites: tuple[_Raw, ...]
    """Every site as training rewrites it, in BUG_KINDS order, each kind in source order."""
    closers: tuple[_Raw, ...]
    """Each Python call's closing parenthesis, with no repair: where a scan weighs a missing argument."""


class _SiteWalk:
    """The sites of one function, gathered in one walk of its tree (``syntax.visit``): each node goes to
    the kinds that read its type, each kind lists its sites in source order, and ``sites`` joins the
    lists in BUG_KINDS order. Variable misuse and wrong attributes need the whole function seen first
    (the locals, the attributes read on each object), so they are settled after the walk."""

    def __init__(self, parsed: syntax.Parsed, table: syntax.NodeTypes) -> None:
        self.parsed, self.table = parsed, table
        self.found: dict[str, list[_Raw]] = {kind: [] for kind in BUG_KINDS}
        self.closers: list[_Raw] = []
        self.attributes: dict[tuple[str, bool], set[str]] = {}
        """(object text, called) -> the attribute names read on it: data stand in for data, methods for methods."""
        self.attribute_uses: list[tuple[tuple[str, bool], object]] = []
        self.scope = syntax.ScopeWalk(parsed) if table is syntax.PYTHON else None

    def sites(self) -> tuple[_Raw, ...]:
        """Every site, once the walk is over: BUG_KINDS order, each kind in source order."""
        if self.scope is not None:
            self._variable_misuse(self.scope.scope())
            self._wrong_attribute()
        return tuple(site for kind in BUG_KINDS for site in self.found[kind])

    def _variable_misuse(self, scope: syntax.Scope) -> None:
        text, out = self.parsed.text, self.found["variable-misuse"]
        # The locals a use could be mistaken for, by where each is first bound: a use's candidates are
        # those bound before it.
        bound = sorted((pos, other) for other, pos in scope.first_def.items()
                       if other not in _SELF_NAMES and other not in scope.comprehension_names)
        for use in scope.uses:
            name = text(use)
            if name in _SELF_NAMES:
                continue
            start = use.start_byte
            others = tuple(other for pos, other in bound if pos < start and other != name)
            if others:
                out.append(_Raw(start, use.end_byte, "variable-misuse", others))

    def _wrong_attribute(self) -> None:
        text, out = self.parsed.text, self.found["wrong-attribute"]
        for key, name in self.attribute_uses:
            others = sorted(self.attributes[key] - {text(name)})
            if others:
                out.append(_Raw(name.start_byte, name.end_byte, "wrong-attribute", tuple(others)))

    def _swapped_arguments(self, node, parent, field, own) -> None:
        parsed, excluded = self.parsed, self.table.positional_excluded
        args = node.named_children
        for left, right in zip(args, args[1:]):
            if left.type in excluded or right.type in excluded:
                continue
            if parsed.text(left) != parsed.text(right):
                between = parsed.data[left.end_byte:right.start_byte].decode("utf-8")
                self.found["swapped-arguments"].append(_Raw(left.start_byte, right.end_byte, "swapped-arguments",
                                                            (parsed.text(right) + between + parsed.text(left),)))

    def _off_by_one(self, node, parent, field, own) -> None:
        text = self.parsed.text(node)
        if text.isdigit() and int(text) <= MAX_LITERAL:
            value = int(text)
            self.found["off-by-one"].append(_Raw(node.start_byte, node.end_byte, "off-by-one",
                                                 tuple(str(v) for v in (value + 1, value - 1) if v >= 0)))

    def _flipped_boolean(self, node, parent, field, own) -> None:
        flipped = "False" if node.type == self.table.true else "True"
        self.found["flipped-boolean"].append(_Raw(node.start_byte, node.end_byte, "flipped-boolean", (flipped,)))

    def _dropped_negation(self, node, parent, field, own) -> None:
        argument = node.child_by_field_name("argument")
        if argument is not None:
            self.found["dropped-negation"].append(_Raw(node.start_byte, node.end_byte, "dropped-negation",
                                                       (self.parsed.text(argument),)))

    def _added_negation(self, node, parent, field, own) -> None:
        cond = node.child_by_field_name("condition")
        if cond is None or cond.type == self.table.negation:
            return
        text = self.parsed.text(cond)
        negated = f"not {text}" if cond.type in self.table.atoms else f"not ({text})"
        self.found["added-negation"].append(_Raw(cond.start_byte, cond.end_byte, "added-negation", (negated,)))

    def _attributes_read(self, node, parent, field, own) -> None:
        obj, name = node.child_by_field_name("object"), node.child_by_field_name("attribute")
        if obj is None or name is None:
            return
        called = parent is not None and parent.type == "call" and field == "function"
        key = (self.parsed.text(obj), called)
        self.attributes.setdefault(key, set()).add(self.parsed.text(name))
        self.attribute_uses.append((key, name))

    def _wrong_callee(self, node, parent, field, own) -> None:
        callee = node.child_by_field_name("function")
        if callee is not None and callee.type == "attribute":
            callee = callee.child_by_field_name("attribute")
        if callee is not None and callee.type == "identifier":
            alternatives = _CALLEE_ALTERNATIVES.get(self.parsed.text(callee))
            if alternatives:
                self.found["wrong-callee"].append(_Raw(callee.start_byte, callee.end_byte, "wrong-callee",
                                                       alternatives))

    def _slice_bounds(self, node, parent, field, own) -> None:
        """Non-literal index expressions and slice bounds of a subscript (literal bounds are off-by-one's)."""
        for child in node.children_by_field_name("subscript"):
            if child.type == "slice":
                for bound in child.named_children:
                    if bound.type != "comment":
                        self._slice_bound(bound)
            elif child.type not in ("string", "integer", "tuple", "unary_operator", "none", "true", "false"):
                self._slice_bound(child)

    def _slice_bound(self, bound) -> None:
        table = self.table
        if bound.type in (table.integer, "unary_operator", "string", "none"):
            return
        text = self.parsed.text(bound)
        if "\n" in text:
            return
        matched = _PLUS_MINUS_ONE.match(text) if bound.type == table.binary else None
        if matched:  # n - 1 -> n or n + 1: the off-by-one a fix most often removes, or its mirror
            alternatives = [matched.group(1), f"{matched.group(1)} {'+' if matched.group(2) == '-' else '-'} 1"]
        else:
            wrapped = text if bound.type in table.atoms else f"({text})"
            alternatives = [f"{wrapped} + 1", f"{wrapped} - 1"]
        self.found["off-by-one-slice"].append(_Raw(bound.start_byte, bound.end_byte, "off-by-one-slice",
                                                   tuple(alternatives)))

    def _missing_argument(self, node, parent, field, own) -> None:
        """Two views of a dropped last argument. As training makes it: the rewrite from the end of the
        argument before to the closing parenthesis, replaced by the parenthesis alone (so the bug's site is
        that parenthesis). As a scan weighs it: each call's closing parenthesis, with no repair."""
        children = node.children
        if not children or children[-1].type != ")":
            return
        args = [c for c in node.named_children if c.type != self.table.comment]
        if args:
            self.closers.append(_Raw(node.end_byte - 1, node.end_byte, "missing-argument", ()))
        if len(args) >= 2 and args[-1].type not in ("list_splat", "dictionary_splat"):
            self.found["missing-argument"].append(_Raw(args[-2].end_byte, node.end_byte, "missing-argument", (")",)))


def _operator_tables(table: syntax.NodeTypes) -> dict[str, tuple[str, dict[str, tuple[str, ...]]]]:
    """Bug kind -> (the expression node whose operator it changes, operator -> what the bug puts instead)."""
    return {"wrong-binary-operator": (table.binary, table.binary_ops),
            "wrong-comparison": (table.comparison, table.comparison_ops),
            "wrong-boolean-operator": (table.boolean, {k: (v,) for k, v in table.boolean_ops.items()})}


def _operator_handler(kind: str, ops: dict[str, tuple[str, ...]]) -> syntax.Handler:
    def handle(walk: _SiteWalk, node, parent, field, own) -> None:
        out = walk.found[kind]
        for child in node.children:
            if not child.is_named and ops.get(child.type):
                out.append(_Raw(child.start_byte, child.end_byte, kind, ops[child.type]))
    return handle


def _in_scope(handler: syntax.Handler) -> syntax.Handler:
    """A ScopeWalk handler that finds its state as the site walk's ``scope``."""
    def handle(walk: _SiteWalk, node, parent, field, own) -> None:
        handler(walk.scope, node, parent, field, own)
    return handle


def _dispatch(table: syntax.NodeTypes) -> dict[str, tuple[syntax.Handler, ...]]:
    """Node type -> the handlers of the kinds that read it, for ``syntax.visit`` with a ``_SiteWalk``."""
    handlers: dict[str, list[syntax.Handler]] = {}

    def on(node_type: str, handler: syntax.Handler) -> None:
        handlers.setdefault(node_type, []).append(handler)

    on(table.argument_list, _SiteWalk._swapped_arguments)
    for kind, (node_type, ops) in _operator_tables(table).items():
        on(node_type, _operator_handler(kind, ops))
    on(table.integer, _SiteWalk._off_by_one)
    on(table.true, _SiteWalk._flipped_boolean)
    on(table.false, _SiteWalk._flipped_boolean)
    on(table.negation, _SiteWalk._dropped_negation)
    for condition in table.conditions:
        on(condition, _SiteWalk._added_negation)
    if table is syntax.PYTHON:  # the kinds below read Python's grammar and scope rules
        for node_type, scope_handlers in syntax.ScopeWalk.DISPATCH.items():
            for handler in scope_handlers:
                on(node_type, _in_scope(handler))
        on("attribute", _SiteWalk._attributes_read)
        on(table.call, _SiteWalk._wrong_callee)
        on("subscript", _SiteWalk._slice_bounds)
        on(table.argument_list, _SiteWalk._missing_argument)
    return {node_type: tuple(found) for node_type, found in handlers.items()}


_DISPATCH = {language: _dispatch(table) for language, table in syntax.NODE_TYPES.items()}


@functools.lru_cache(maxsize=64)
def parse_sites(source: str, language: str = "python", indent: str = "") -> FunctionSites | None:
    """The function parsed and its sites (``FunctionSites``), or None when it cannot be parsed.

    Remembered for the last few functions: making several bugs of one function asks for its sites each time."""
    table = syntax.NODE_TYPES.get(language)
    parsed = syntax.parse_function(source, language, indent) if table else None
    if parsed is None:
        return None
    walk = _SiteWalk(parsed, table)
    syntax.visit(parsed, _DISPATCH[language], walk)
    return FunctionSites(parsed, walk.sites(), tuple(walk.closers))


def edit_sites(source: str, language: str = "python", indent: str = "") -> list[Site]:
    """The sites of a function's text (``indent``: the whitespace before its first line in the file).

    A language without edit tables, or a text that does not parse, has none.
    """
    found = parse_sites(source, language, indent)
    if found is None:
        return []
    parsed = found.parsed
    # A missing argument is weighed where it would have been: each call's closing parenthesis.
    raw = [r for r in found.rewrites if r.kind != "missing-argument"] + list(found.closers)
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
    operators = _operator_tables(table).get(site.kind)
    if operators is None:
        return site.alternatives
    forward = operators[1]
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
