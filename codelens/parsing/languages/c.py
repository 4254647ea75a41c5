"""C: function definitions, named through their (possibly pointer-wrapped) declarator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from codelens.parsing.spec import LanguageSpec, text

if TYPE_CHECKING:
    from tree_sitter import Node

# Declarators that wrap the function declarator: ``int *f(void)``, ``int (f)(void)``, ``T& f()``.
_WRAPPERS = frozenset(
    {"pointer_declarator", "parenthesized_declarator", "attributed_declarator", "reference_declarator"}
)


def name_node(definition: Node) -> Node | None:
    """The node naming a function definition, found through its declarator chain.

    ``int *f(void)``, ``int (f)(void)`` and ``char *(*f(void))(int)`` (a function returning a function
    pointer, where the outer function declarator wraps the real one) all lead to ``f``.
    """
    node = definition.child_by_field_name("declarator")
    while node is not None and (node.type in _WRAPPERS or node.type == "function_declarator"):
        node = node.child_by_field_name("declarator") or (node.named_children or [None])[-1]
    return node


def declarator_name(definition: Node, name_parts: Callable[[Node], list[str]]) -> str | None:
    """Dotted name of a function definition, with ``name_parts`` turning its name node into parts."""
    target = name_node(definition)
    parts = name_parts(target) if target is not None else []
    return ".".join(parts) if parts and all(parts) else None


def _plain_name(node: Node) -> list[str]:
    return [text(node)] if node.type == "identifier" else []


STATEMENT_KINDS = frozenset(
    {"break_statement", "continue_statement", "declaration", "do_statement", "expression_statement",
     "for_statement", "goto_statement", "if_statement", "return_statement", "seh_leave_statement",
     "seh_try_statement", "switch_statement", "while_statement"}
)
"""Statements and local declarations; a ``{ }`` block and a ``case`` label only hold statements."""


SPEC = LanguageSpec(
    name="c",
    module="tree_sitter_c",
    extensions=(".c", ".h"),
    function_kinds=frozenset({"function_definition"}),
    function_name=lambda node: declarator_name(node, _plain_name),
    comment_kinds=frozenset({"comment"}),
    literal_kinds=frozenset({"string_literal", "concatenated_string", "char_literal", "number_literal"}),
    statement_kinds=STATEMENT_KINDS,
)
