"""Go: functions and methods; a method ``func (r *Recv) M()`` is named ``Recv.M``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codelens.parsing.nodes import field_text, first_descendant, text
from codelens.parsing.spec import LanguageSpec

if TYPE_CHECKING:
    from tree_sitter import Node


def function_name(node: Node) -> str | None:
    """``Name`` for a function, ``Recv.Name`` for a method (pointer and type parameters dropped)."""
    name = field_text(node, "name")
    if name is None or node.type != "method_declaration":
        return name
    receiver = first_descendant(node.child_by_field_name("receiver"), ("type_identifier",))
    return f"{text(receiver)}.{name}" if receiver is not None else name


SPEC = LanguageSpec(
    name="go",
    module="tree_sitter_go",
    extensions=(".go",),
    function_kinds=frozenset({"function_declaration", "method_declaration"}),
    function_name=function_name,
    comment_kinds=frozenset({"comment"}),
    literal_kinds=frozenset(
        {
            "interpreted_string_literal",
            "raw_string_literal",
            "rune_literal",
            "int_literal",
            "float_literal",
            "imaginary_literal",
        }
    ),
    extra_identifier_kinds=frozenset({"label_name"}),
)
