"""Tree-sitter plumbing shared by the bug rewrites and the clone transforms.

A function is rewritten on its own, not inside its file: ``frame`` wraps an indented method in a dummy
``class _:`` so its text parses unchanged, and every edit is a byte splice on that text, so everything
outside the edited nodes stays byte-identical. The grammar node names a rewrite relies on live in one
``NodeTypes`` table per language; a language without a table simply gets no rewrites.
"""

from __future__ import annotations

import builtins
import keyword
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

_WRAPPER = "class _:\n"

@dataclass(frozen=True)
class NodeTypes:
    """The grammar node names (and operator tables) one language needs for the rewrites."""

    function: frozenset[str]
    """Nodes that define a function (their bodies are the rewrite scope)."""
    nested_scopes: frozenset[str]
    """Nodes that open a new scope inside a function (nested defs, lambdas, classes)."""
    identifier: str
    binary: str
    """Binary arithmetic / bitwise expression; its ``operator`` field is rewritten."""
    comparison: str
    boolean: str
    """``and`` / ``or`` expression; its ``operator`` field is rewritten."""
    negation: str
    """Logical ``not`` expression with an ``argument`` field."""
    integer: str
    true: str
    false: str
    call: str
    argument_list: str
    conditions: frozenset[str]
    """Statements whose ``condition`` field may gain a negation."""
    positional_excluded: frozenset[str]
    """Argument nodes that must not be swapped (keyword arguments, splats)."""
    comment: str
    string: str
    block: str
    binary_ops: dict[str, tuple[str, ...]] = field(default_factory=dict)
    comparison_ops: dict[str, tuple[str, ...]] = field(default_factory=dict)
    boolean_ops: dict[str, str] = field(default_factory=dict)
    atoms: frozenset[str] = frozenset()
    """Expressions that need no parentheses when negated."""
    reserved: frozenset[str] = frozenset()
    """Names never used as fresh identifiers (keywords, builtins)."""


PYTHON = NodeTypes(
    function=frozenset({"function_definition"}),
    nested_scopes=frozenset({"function_definition", "lambda", "class_definition"}),
    identifier="identifier",
    binary="binary_operator",
    comparison="comparison_operator",
    boolean="boolean_operator",
    negation="not_operator",
    integer="integer",
    true="true",
    false="false",
    call="call",
    argument_list="argument_list",
    conditions=frozenset({"if_statement", "elif_clause", "while_statement"}),
    positional_excluded=frozenset({"keyword_argument", "list_splat", "dictionary_splat", "comment"}),
    comment="comment",
    string="string",
    block="block",
    binary_ops={
        "+": ("-",), "-": ("+",), "*": ("/", "+"), "/": ("*", "//"), "//": ("/", "%"), "%": ("//",),
        "**": ("*",), "<<": (">>",), ">>": ("<<",), "&": ("|",), "|": ("&",), "^": ("|",),
    },
    comparison_ops={
        "<": ("<=", ">"), "<=": ("<", ">="), ">": (">=", "<"), ">=": (">", "<="),
        "==": ("!=",), "!=": ("==",),
    },
    boolean_ops={"and": "or", "or": "and"},
    atoms=frozenset({"identifier", "call", "attribute", "subscript", "parenthesized_expression", "true",
                     "false", "none", "integer", "float", "string", "list", "tuple", "dictionary", "set"}),
    reserved=frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins)),
)

NODE_TYPES: dict[str, NodeTypes] = {"python": PYTHON}
"""Languages that have rewrite tables; add an entry (and its scope rules) to support another."""


def parser_for(language: str):
    """The tree-sitter parser codelens.parsing uses for ``language`` (cached there)."""
    from codelens.parsing.registry import get_parser, get_spec

    spec = get_spec(language)
    return get_parser(spec.module, spec.default_grammar)


def frame(source: str, indent: str = "") -> tuple[bytes, int]:
    """Parseable bytes for a function whose ``def`` sat after ``indent`` in its file, and where it starts."""
    prefix = (_WRAPPER + indent) if indent else ""
    data = (prefix + source).encode("utf-8")
    return data, len(prefix.encode("utf-8"))


def unframe(data: bytes, start: int) -> str:
    return data[start:].decode("utf-8")


@dataclass
class Parsed:
    """A framed function and its tree: ``fn`` is the function node the edits are confined to."""

    data: bytes
    start: int
    tree: object
    fn: object

    def text(self, node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8")

    def line_of(self, byte: int) -> int:
        """1-based line inside the function source of a byte offset of the framed text."""
        return self.data.count(b"\n", self.start, byte) + 1


def parse_function(source: str, language: str, indent: str = "") -> Parsed | None:
    """Parse a function's source; None when the language has no grammar or the text has syntax errors."""
    from codelens.parsing.registry import LANGUAGES

    if language not in LANGUAGES:
        return None
    data, start = frame(source, indent)
    tree = parser_for(language).parse(data)
    if tree.root_node.has_error:
        return None
    table = NODE_TYPES.get(language)
    kinds = table.function if table else frozenset()
    fn = next((n for n in walk(tree.root_node) if n.type in kinds and n.start_byte >= start), None)
    if fn is None:
        return None
    return Parsed(data, start, tree, fn)


def walk(node):
    """Pre-order traversal of ``node`` (itself included)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


_COMPREHENSIONS = frozenset({"list_comprehension", "set_comprehension", "dictionary_comprehension",
                             "generator_expression"})
_NOT_OWN = PYTHON.nested_scopes | _COMPREHENSIONS
"""Nodes whose inside is not the function's own code: nested scopes and comprehensions bind their own names."""

Handler = Callable[[Any, Any, Any, "str | None", bool], None]
"""Called as ``handler(state, node, parent, field, own)`` by ``visit``."""


def visit(parsed: Parsed, dispatch: Mapping[str, tuple[Handler, ...]], state) -> None:
    """One pre-order walk of the function's tree: every node whose type ``dispatch`` lists goes to each of
    its handlers, with ``state`` (what the handlers fill in; the table is built once, not per function).

    A handler gets the state, the node, its parent (None for the function itself), the field the node
    fills in its parent (None if none) and ``own``: whether the node is the function's own code, its body
    outside nested scopes and comprehensions. The cursor knows parent and field as it goes; asking a node
    for its parent walks down from the root again.
    """
    root = parsed.fn
    for handle in dispatch.get(root.type, ()):
        handle(state, root, None, None, False)
    cursor = root.walk()
    first_child, next_sibling, to_parent = cursor.goto_first_child, cursor.goto_next_sibling, cursor.goto_parent
    if not first_child():
        return
    parents = [root]  # ancestors of the current node, the function first
    owned = [False]  # whether each of them is own code
    get = dispatch.get
    while True:
        node = cursor.node
        kind = node.type
        parent = parents[-1]
        own = (owned[-1] and kind not in _NOT_OWN) or (parent is root and cursor.field_name == "body")
        found = get(kind)
        if found:
            field = cursor.field_name
            for handle in found:
                handle(state, node, parent, field, own)
        if first_child():
            parents.append(node)
            owned.append(own)
            continue
        while not next_sibling():
            to_parent()
            parents.pop()
            owned.pop()
            if not parents:
                return


def splice(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Replace non-overlapping byte ranges ``(start, end, new)``; everything else is left as it was."""
    out = data
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        out = out[:start] + new + out[end:]
    return out


def reparses(data: bytes, language: str) -> bool:
    """True when the edited text still parses without errors."""
    return not parser_for(language).parse(data).root_node.has_error


def identifier_names(parsed: Parsed, table: NodeTypes) -> set[str]:
    """Every identifier spelled anywhere in the function (so fresh names never collide)."""
    return {parsed.text(n) for n in walk(parsed.fn) if n.type == table.identifier}


_PATTERNS = frozenset({"pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "parenthesized_expression",
                       "as_pattern_target", "list_splat_pattern"})
_UNSAFE_CALLS = frozenset({"locals", "vars", "eval", "exec", "globals"})


@dataclass
class Scope:
    """The local variables of one Python function and where they occur."""

    first_def: dict[str, int] = field(default_factory=dict)
    """Local name -> byte where it is first bound (parameters: the function start)."""
    def_ids: set[int] = field(default_factory=set)
    """Node ids of identifiers that bind a name (parameters, assignment targets, loop variables...)."""
    uses: list = field(default_factory=list)
    """Identifier nodes reading a local, in source order, outside nested scopes and comprehensions."""
    occurrences: dict[str, list] = field(default_factory=dict)
    """Every identifier node spelling a local as a variable (nested scopes included), by name."""
    comprehension_names: set[str] = field(default_factory=set)
    keyword_names: set[str] = field(default_factory=set)
    """Names used as keyword-argument names in calls."""
    unsafe: bool = False
    """True when names are reached indirectly (global, nonlocal, locals(), eval...): no renaming then."""
    nested: bool = False
    """True when the function holds nested functions, lambdas or classes."""


def _targets(node) -> list:
    if node.type == "identifier":
        return [node]
    if node.type in _PATTERNS:
        return [t for c in node.children for t in _targets(c)]
    return []


def _is_variable(parent, field: str | None) -> bool:
    """Whether an identifier that fills ``field`` of ``parent`` is used as a variable (not an attribute
    name, keyword name or def / class name)."""
    if parent is None:
        return False
    kind = parent.type
    if kind == "attribute" and field == "attribute":
        return False
    if kind == "keyword_argument" and field == "name":
        return False
    if kind in ("function_definition", "class_definition") and field == "name":
        return False
    return kind not in ("dotted_name", "aliased_import", "import_from_statement", "type_parameter")


class ScopeWalk:
    """Builds the ``Scope`` of a Python function from the nodes of a ``visit``: walk with ``DISPATCH`` and
    the ScopeWalk as state (or with its handlers beside others, so one walk serves several readers), then
    call ``scope``."""

    def __init__(self, parsed: Parsed) -> None:
        self.parsed = parsed
        self._scope = Scope()
        self._variables: list = []  # (identifier node, its name, own) of every identifier used as a variable
        fn = parsed.fn
        params = fn.child_by_field_name("parameters")
        for child in params.children if params is not None else ():
            ident = child if child.type == "identifier" else next(
                (c for c in child.children if c.type == "identifier"), None)
            if ident is not None and child.type not in ("keyword_separator", "positional_separator"):
                self._scope.first_def.setdefault(parsed.text(ident), fn.start_byte)
                self._scope.def_ids.add(ident.id)

    def _binding(self, node, parent, field, own: bool) -> None:
        if not own:
            return
        # A name counts as bound once its binding is complete: after the right-hand side of an
        # assignment, after the iterable of a loop (``x = x + 1`` cannot misuse ``x`` for itself).
        kind, at = node.type, node.end_byte
        if kind in ("assignment", "augmented_assignment"):
            bound = _targets(node.child_by_field_name("left"))
        elif kind == "for_statement":
            bound, at = _targets(node.child_by_field_name("left")), node.child_by_field_name("right").end_byte
        elif kind == "as_pattern":
            alias = node.child_by_field_name("alias")
            bound = _targets(alias) if alias is not None else []
        else:  # named_expression
            bound = _targets(node.child_by_field_name("name"))
        scope = self._scope
        for ident in bound:
            name = self.parsed.text(ident)
            scope.first_def[name] = min(scope.first_def.get(name, at), at)
            scope.def_ids.add(ident.id)

    def _indirect(self, node, parent, field, own: bool) -> None:
        if own:
            self._scope.unsafe = True

    def _nested(self, node, parent, field, own: bool) -> None:
        if parent is not None:  # not the function itself
            self._scope.nested = True

    def _comprehension(self, node, parent, field, own: bool) -> None:
        self._scope.comprehension_names |= {self.parsed.text(t) for t in _targets(node.child_by_field_name("left"))}

    def _keyword(self, node, parent, field, own: bool) -> None:
        self._scope.keyword_names.add(self.parsed.text(node.child_by_field_name("name")))

    def _call(self, node, parent, field, own: bool) -> None:
        function = node.child_by_field_name("function")
        if function is not None and function.type == "identifier" and self.parsed.text(function) in _UNSAFE_CALLS:
            self._scope.unsafe = True

    def _identifier(self, node, parent, field, own: bool) -> None:
        if _is_variable(parent, field):
            self._variables.append((node, self.parsed.text(node), own))

    def scope(self) -> Scope:
        """The scope, once the walk is over: which identifiers are locals needs every binding seen."""
        scope = self._scope
        for node, name, own in self._variables:
            if name in scope.first_def:
                scope.occurrences.setdefault(name, []).append(node)
                if own and node.id not in scope.def_ids and name not in scope.comprehension_names:
                    scope.uses.append(node)
        return scope

    DISPATCH: dict[str, tuple[Handler, ...]] = {
        "assignment": (_binding,), "augmented_assignment": (_binding,), "for_statement": (_binding,),
        "as_pattern": (_binding,), "named_expression": (_binding,), "global_statement": (_indirect,),
        "nonlocal_statement": (_indirect,), "for_in_clause": (_comprehension,), "keyword_argument": (_keyword,),
        "call": (_call,), "identifier": (_identifier,), **dict.fromkeys(PYTHON.nested_scopes, (_nested,)),
    }
    """Node type -> the handlers ``visit`` passes it to (with a ScopeWalk as state)."""


def python_scope(parsed: Parsed) -> Scope:
    """Local variables of the framed function: parameters and names bound in its own body."""
    walk = ScopeWalk(parsed)
    visit(parsed, ScopeWalk.DISPATCH, walk)
    return walk.scope()
