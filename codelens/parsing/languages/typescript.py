"""TypeScript (``.ts``) and TSX (``.tsx``, its own grammar): JavaScript's rules plus abstract classes
and namespaces; signatures without a body are skipped."""

from __future__ import annotations

from dataclasses import replace

from codelens.parsing.languages.javascript import SPEC as JAVASCRIPT

SPEC = replace(
    JAVASCRIPT,
    name="typescript",
    module="tree_sitter_typescript",
    extensions=(".ts", ".tsx", ".mts", ".cts"),
    grammar_by_suffix={".tsx": "language_tsx"},
    default_grammar="language_typescript",
)
