"""Java: methods and constructors inside classes, interfaces, enums and records (``Class.method``);
lambdas and bodiless declarations are skipped."""

from __future__ import annotations

from codelens.parsing.nodes import field_text
from codelens.parsing.spec import LanguageSpec

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
    fragment_wrappers=(("class _ {\n", "\n}"),),
)
