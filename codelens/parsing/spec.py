"""``LanguageSpec``: what extraction needs to know about one language (filled in by ``languages/*``), and the
small helpers over tree-sitter nodes those modules (and extraction) read nodes with: ``text``, ``field_text``,
``first_descendant``, ``last_line``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from tree_sitter import Node


@dataclass(frozen=True)
class LanguageSpec:
    """How to cut one language into functions; the per-language modules fill one in each."""

    name: str
    """Registry key, also ``CodeUnit.language``."""
    module: str
    """Importable grammar package, e.g. ``tree_sitter_python``."""
    extensions: tuple[str, ...]
    """Lower-case file suffixes (with the dot) that belong to this language."""
    function_kinds: frozenset[str]
    """Node kinds that are functions or methods; each one with a body becomes a CodeUnit."""
    function_name: Callable[[Node], str | None]
    """Name of a function node (may be dotted, e.g. ``Recv.Method``); None means anonymous: skip it."""
    container_kinds: frozenset[str] = frozenset()
    """Non-function node kinds whose name prefixes the qualified names of functions inside them."""
    container_name: Callable[[Node], str | None] = lambda node: None
    """Name of a container node; None means it adds nothing to the qualified name."""
    comment_prefix: str = "//"
    """Line-comment marker, used to recognise ``codelens: ignore[...]`` suppressions."""
    comment_kinds: frozenset[str] = frozenset({"comment"})
    """Node kinds that are comments: dropped from hashes, read as doc comments above functions, and where
    ``codelens: ignore`` markers are read (``ParseResult.comments``)."""
    literal_kinds: frozenset[str] = frozenset()
    """Node kinds that are literals: one token each, abstracted to ``LIT`` for the clone key."""
    extra_identifier_kinds: frozenset[str] = frozenset()
    """Leaf kinds abstracted like identifiers besides every kind whose name ends in ``identifier``."""
    ignored_kinds: frozenset[str] = frozenset()
    """Leaf kinds that are layout only (e.g. Python's backslash continuation)."""
    statement_kinds: frozenset[str] = frozenset()
    """Statement and local declaration kinds, counted for ``CodeUnit.statements`` (the size clone rules
    read). Blocks, clauses (``case``, ``else``) and wrappers (labels) are not listed: they hold statements."""
    anchor_kinds: frozenset[str] = frozenset()
    """Parents that wrap a function and own its doc comment and decorators (export, template, …)."""
    decorator_kinds: frozenset[str] = frozenset()
    """Decorator / annotation / attribute kinds, found as children or preceding siblings."""
    docstring: Callable[[Node], Node | None] | None = None
    """In-body docstring finder (Python): the statement node holding it. None: use doc comments."""
    fragment_wrappers: tuple[tuple[str, str], ...] = ()
    """``(prefix, suffix)`` pairs to retry a standalone fragment in when it does not parse alone
    (a method needs a class around it); used by ``normalized_source`` on function bodies."""
    module_exports: Callable[[Node, bytes], frozenset[str] | None] | None = None
    """The names a file exports, from its root node and bytes (Python: a literal ``__all__``); None from
    it when the file does not say. A function is exported when its top-level name is among them."""
    stub: Callable[[Node], bool] | None = None
    """Whether a function node declares an interface rather than implementing one (``CodeUnit.stub``);
    None: the language has no such functions with a body."""
    exported_name: Callable[[str], bool] | None = None
    """Whether a function's own name is exported by the language's rule (Go: capitalised), for files
    ``module_exports`` says nothing about; None: the language has no such rule."""
    significant_indentation: bool = False
    """Keep line breaks and indentation in hashes because they change meaning (Python)."""
    grammar_by_suffix: dict[str, str] = field(default_factory=dict)
    """Grammar function per file suffix when one language has several grammars (``.tsx``)."""
    default_grammar: str = "language"
    """Grammar function of ``module`` used for every other suffix."""


def text(node: Node | None) -> str:
    """The node's source text (empty for None); invalid UTF-8 is replaced, never raised."""
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def field_text(node: Node, name: str) -> str | None:
    """Text of the child in field ``name``, or None when the field is absent or empty."""
    child = node.child_by_field_name(name)
    value = text(child).strip()
    return value or None


def first_descendant(node: Node | None, kinds: Iterable[str]) -> Node | None:
    """The first node (pre-order, including ``node``) whose kind is in ``kinds``."""
    wanted = frozenset(kinds)
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if current.type in wanted:
            return current
        stack.extend(reversed(current.named_children))
    return None


def last_line(node: Node) -> int:
    """0-based row of the node's last character (a token ending in a newline ends on the row before)."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point[0] else row
