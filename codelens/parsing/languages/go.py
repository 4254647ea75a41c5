"""Go: functions and methods; a method ``func (r *Recv) M()`` is named ``Recv.M``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codelens.parsing.spec import LanguageSpec, field_text, first_descendant, text

if TYPE_CHECKING:
    from tree_sitter import Node


def function_name(node: Node) -> str | None:
    """``Name`` for a function, ``Recv.Name`` for a method (pointer and type parameters dropped)."""
    name = field_text(node, "name")
    if name is None or node.type != "method_declaration":
        return name
    receiver = first_descendant(node.child_by_field_name("receiver"), ("type_identifier",))
    return f"{text(receiver)}.{name}" if receiver is not None else name


def exported_name(name: str) -> bool:
    """Go exports a name that starts with an upper-case letter; a method ``Recv.Name`` by its own name."""
    return name.rpartition(".")[2][:1].isupper()


STATEMENT_KINDS = frozenset(
    {"assignment_statement", "break_statement", "const_declaration", "continue_statement", "dec_statement",
     "defer_statement", "expression_statement", "expression_switch_statement", "fallthrough_statement",
     "for_statement", "go_statement", "goto_statement", "if_statement", "inc_statement", "return_statement",
     "select_statement", "send_statement", "short_var_declaration", "type_declaration",
     "type_switch_statement", "var_declaration"}
)
"""Statements and local declarations (parameters and struct fields are declarations too, but not statements)."""


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
    statement_kinds=STATEMENT_KINDS,
    exported_name=exported_name,
)
