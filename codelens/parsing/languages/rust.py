"""Rust: ``fn`` items; methods in ``impl Type`` / ``impl Trait for Type`` are ``Type.method``, trait
default methods ``Trait.method``, items in an inline ``mod m`` are ``m.f``; closures are skipped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codelens.parsing.spec import LanguageSpec, field_text, first_descendant, text

if TYPE_CHECKING:
    from tree_sitter import Node


def container_name(node: Node) -> str | None:
    """The implemented type's bare name for ``impl`` blocks, the declared name for traits and mods."""
    if node.type != "impl_item":
        return field_text(node, "name")
    implemented = node.child_by_field_name("type")
    name = first_descendant(implemented, ("type_identifier", "primitive_type"))
    return text(name) if name is not None else None


STATEMENT_KINDS = frozenset(
    {"expression_statement", "let_declaration"}
)
"""``let`` and expression statements; a block's tail expression (its value) is not a statement node."""


SPEC = LanguageSpec(
    name="rust",
    module="tree_sitter_rust",
    extensions=(".rs",),
    function_kinds=frozenset({"function_item"}),
    function_name=lambda node: field_text(node, "name"),
    container_kinds=frozenset({"impl_item", "trait_item", "mod_item"}),
    container_name=container_name,
    comment_kinds=frozenset({"line_comment", "block_comment"}),
    literal_kinds=frozenset(
        {"string_literal", "raw_string_literal", "char_literal", "integer_literal", "float_literal"}
    ),
    decorator_kinds=frozenset({"attribute_item"}),
    statement_kinds=STATEMENT_KINDS,
)
