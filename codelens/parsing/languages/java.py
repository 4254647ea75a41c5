"""Java: methods and constructors inside classes, interfaces, enums and records (``Class.method``);
lambdas and bodiless declarations are skipped."""

from __future__ import annotations

from codelens.parsing.spec import LanguageSpec, field_text

STATEMENT_KINDS = frozenset(
    {"assert_statement", "break_statement", "continue_statement", "do_statement", "enhanced_for_statement",
     "expression_statement", "for_statement", "if_statement", "local_variable_declaration",
     "return_statement", "switch_expression", "synchronized_statement", "throw_statement", "try_statement",
     "try_with_resources_statement", "while_statement", "yield_statement"}
)
"""Statements and local variables; a ``switch`` standing as a statement is a ``switch_expression``."""


SPEC = LanguageSpec(
    name="java",
    module="tree_sitter_java",
    extensions=(".java",),
    function_kinds=frozenset({"method_declaration", "constructor_declaration", "compact_constructor_declaration"}),
    function_name=lambda node: field_text(node, "name"),
    container_kinds=frozenset(
        {
            "class_declaration",
            "interface_declaration",
            "enum_declaration",
            "record_declaration",
            "annotation_type_declaration",
        }
    ),
    container_name=lambda node: field_text(node, "name"),
    comment_kinds=frozenset({"line_comment", "block_comment"}),
    literal_kinds=frozenset(
        {
            "string_literal",
            "character_literal",
            "decimal_integer_literal",
            "hex_integer_literal",
            "octal_integer_literal",
            "binary_integer_literal",
            "decimal_floating_point_literal",
            "hex_floating_point_literal",
        }
    ),
    decorator_kinds=frozenset({"annotation", "marker_annotation"}),
    statement_kinds=STATEMENT_KINDS,
    fragment_wrappers=(("class _ {\n", "\n}"),),
)
