"""Python: ``def`` / ``async def`` anywhere; classes and enclosing functions form the qualified name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codelens.parsing.nodes import field_text
from codelens.parsing.spec import LanguageSpec

if TYPE_CHECKING:
    from tree_sitter import Node


def _docstring_statement(function: Node) -> Node | None:
    """The first statement of the body when it is a bare string expression (PEP 257 docstring)."""
    body = function.child_by_field_name("body")
    if body is None:
        return None
    statement = next((c for c in body.named_children if c.type != "comment"), None)
    if statement is None or statement.type != "expression_statement" or statement.named_child_count != 1:
        return None
    if statement.named_children[0].type not in ("string", "concatenated_string"):
        return None
    return statement


SPEC = LanguageSpec(
    name="python",
    module="tree_sitter_python",
    extensions=(".py", ".pyi"),
    function_kinds=frozenset({"function_definition"}),
    function_name=lambda node: field_text(node, "name"),
    container_kinds=frozenset({"class_definition"}),
    container_name=lambda node: field_text(node, "name"),
    comment_prefix="#",
    comment_kinds=frozenset({"comment"}),
    literal_kinds=frozenset({"string", "concatenated_string", "integer", "float"}),
    ignored_kinds=frozenset({"line_continuation"}),
    anchor_kinds=frozenset({"decorated_definition"}),
    decorator_kinds=frozenset({"decorator"}),
    docstring=_docstring_statement,
    significant_indentation=True,
)
