"""C++: free functions, methods defined in a class body, and out-of-line ``ns::Class::method``
definitions, all named with dots (``ns.Class.method``); lambdas are skipped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codelens.parsing.languages.c import STATEMENT_KINDS as C_STATEMENT_KINDS
from codelens.parsing.languages.c import declarator_name
from codelens.parsing.spec import LanguageSpec, field_text, text

if TYPE_CHECKING:
    from tree_sitter import Node

_SIMPLE = frozenset(
    {"identifier", "field_identifier", "namespace_identifier", "type_identifier", "destructor_name", "operator_name"}
)


def name_parts(node: Node) -> list[str]:
    """Scope-separated parts of a declarator name: ``a::B<T>::~B`` -> ``["a", "B", "~B"]``."""
    if node.type in _SIMPLE:
        return [" ".join(text(node).split())]
    if node.type == "operator_cast":  # ``operator bool() const``
        target = node.child_by_field_name("type")
        return [f"operator {' '.join(text(target).split())}"] if target is not None else []
    if node.type in ("template_function", "template_type"):
        name = node.child_by_field_name("name")
        return name_parts(name) if name is not None else []
    if node.type == "qualified_identifier":
        scope, name = node.child_by_field_name("scope"), node.child_by_field_name("name")
        head = name_parts(scope) if scope is not None else []  # ``::f`` has no scope
        return head + name_parts(name) if name is not None else []
    return []


def container_name(node: Node) -> str | None:
    """Class / struct / union name, or the namespace name (``a::b`` -> ``a.b``); None if anonymous."""
    name = node.child_by_field_name("name")
    if name is None:
        return None
    parts = name_parts(name) if name.type != "nested_namespace_specifier" else text(name).split("::")
    joined = ".".join(p.strip() for p in parts if p.strip())
    return joined or field_text(node, "name")


STATEMENT_KINDS = C_STATEMENT_KINDS | frozenset(
    {"alias_declaration", "co_return_statement", "co_yield_statement", "for_range_loop", "throw_statement",
     "try_statement", "using_declaration"}
)
"""C's, plus the statements C++ adds (range ``for``, ``throw``, ``try``, coroutines, ``using``)."""


SPEC = LanguageSpec(
    name="cpp",
    module="tree_sitter_cpp",
    extensions=(".cc", ".cpp", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp"),
    function_kinds=frozenset({"function_definition"}),
    function_name=lambda node: declarator_name(node, name_parts),
    container_kinds=frozenset({"class_specifier", "struct_specifier", "union_specifier", "namespace_definition"}),
    container_name=container_name,
    comment_kinds=frozenset({"comment"}),
    literal_kinds=frozenset(
        {
            "string_literal",
            "raw_string_literal",
            "concatenated_string",
            "char_literal",
            "number_literal",
            "user_defined_literal",
        }
    ),
    anchor_kinds=frozenset({"template_declaration"}),
    statement_kinds=STATEMENT_KINDS,
)
