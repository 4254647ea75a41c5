"""JavaScript (and the naming rules TypeScript shares): declarations, methods, and function values
bound to a name; anonymous callbacks are skipped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codelens.parsing.spec import LanguageSpec, field_text, text

if TYPE_CHECKING:
    from tree_sitter import Node

FUNCTION_KINDS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "method_definition",
        "function_expression",
        "function",
        "generator_function",
        "arrow_function",
    }
)
# An object literal bound to a name (``const api = {get() {}}``) scopes its methods like a class.
CONTAINER_KINDS = frozenset(
    {"class_declaration", "class", "abstract_class_declaration", "internal_module", "module", "object"}
)
# A function value's doc comment sits above the statement that binds it, not above the value.
ANCHOR_KINDS = frozenset(
    {
        "variable_declarator",
        "lexical_declaration",
        "variable_declaration",
        "export_statement",
        "assignment_expression",
        "expression_statement",
        "pair",
        "field_definition",
        "public_field_definition",
    }
)
_PLAIN_CHAIN = frozenset({"identifier", "property_identifier", "this", "member_expression"})


def _member_chain(node: Node) -> str | None:
    """``a.b.c`` for a member expression made only of names (and ``this``), else None."""
    parts: list[str] = []
    while node.type == "member_expression":
        obj, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
        if obj is None or prop is None or obj.type not in _PLAIN_CHAIN:
            return None
        parts.append(text(prop))
        node = obj
    if node.type not in ("identifier", "property_identifier", "this"):
        return None
    parts.append(text(node))
    return ".".join(reversed(parts))


def _bound_name(node: Node) -> str | None:
    """The name a function or class value is bound to by its parent, if any."""
    parent = node.parent
    if parent is None:
        return None
    if parent.type == "variable_declarator" and parent.child_by_field_name("value") == node:
        target = parent.child_by_field_name("name")
        return text(target) if target is not None and target.type == "identifier" else None
    if parent.type == "assignment_expression" and parent.child_by_field_name("right") == node:
        left = parent.child_by_field_name("left")
        if left is None:
            return None
        chain = _member_chain(left)
        if chain is not None:
            return chain
        return field_text(left, "property") if left.type == "member_expression" else None
    if parent.type == "pair" and parent.child_by_field_name("value") == node:
        key = parent.child_by_field_name("key")
        return text(key).strip("'\"`") or None if key is not None else None
    if parent.type in ("field_definition", "public_field_definition"):
        key = parent.child_by_field_name("property") or parent.child_by_field_name("name")
        return text(key) or None if key is not None else None
    return None


def function_name(node: Node) -> str | None:
    """Declared name, method name, or the name the function value is assigned to."""
    if node.type in ("function_declaration", "generator_function_declaration", "method_definition"):
        return field_text(node, "name")
    return _bound_name(node) or field_text(node, "name")


def container_name(node: Node) -> str | None:
    """Class / namespace name, or the name a class expression or object literal is bound to."""
    return field_text(node, "name") or _bound_name(node)


STATEMENT_KINDS = frozenset(
    {"break_statement", "continue_statement", "debugger_statement", "do_statement", "expression_statement",
     "for_in_statement", "for_statement", "if_statement", "lexical_declaration", "return_statement",
     "switch_statement", "throw_statement", "try_statement", "using_declaration", "variable_declaration",
     "while_statement", "with_statement"}
)
"""Statements and local declarations (TypeScript shares them); an arrow function's expression body has none."""


SPEC = LanguageSpec(
    name="javascript",
    module="tree_sitter_javascript",
    extensions=(".js", ".mjs", ".cjs", ".jsx"),
    function_kinds=FUNCTION_KINDS,
    function_name=function_name,
    container_kinds=CONTAINER_KINDS,
    container_name=container_name,
    comment_kinds=frozenset({"comment", "html_comment"}),
    literal_kinds=frozenset({"string", "template_string", "regex", "number"}),
    extra_identifier_kinds=frozenset({"shorthand_property_identifier_pattern"}),
    statement_kinds=STATEMENT_KINDS,
    anchor_kinds=ANCHOR_KINDS,
    decorator_kinds=frozenset({"decorator"}),
    fragment_wrappers=(("class _ {\n", "\n}"),),
)
