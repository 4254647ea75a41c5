"""The one-pass walk gives exactly what the reference pieces give: a query for functions, literals
and comments, ``atoms_of``, ``leaf_tokens`` per outermost function and ``content_hashes``."""

from __future__ import annotations

from bisect import bisect_left

import pytest
from tree_sitter import QueryCursor

from codelens.parsing import get_spec, language_for_path
from codelens.parsing.normalize import atom_query, atoms_of, content_hashes, leaf_tokens, token_categories
from codelens.parsing.registry import get_parser, grammar_name
from codelens.parsing.walk import node_codes, stream, walk

from .helpers import FIXTURES

EDGE_CASES = {
    # Functions inside template literals: the outermost one is tokenised the reference way.
    "edge/template.js": (
        "const r = (xs) => `<ul>${xs.map(function item(x) { return `<li>${x}</li>`; })}</ul>`;\n"
        "const t = `a ${function named() { return 'q' + 1; }} b`;\n"
        "function outer() { const s = `x ${(function deep(a) { return a; })(3)} y`; return s + /re/g.source; }\n"
    ),
    # CRLF, tabs, a backslash continuation, a one-line body and a docstring followed by code.
    "edge/crlf.py": 'def f(a,\tb):\r\n    """Doc."""  ; x = a \\\r\n        + b\r\n    return x  # c\r\n',
    "edge/nested.py": (
        "class A:\n    def m(self):\n        '''Doc.'''\n        def inner(y):\n            return y + 1\n"
        "        return inner\n\n\ndef broken(:\n    return (\n\ndef after():\n    return 2\n"
    ),
}


def _cases() -> list[tuple[str, str]]:
    files = [(p.relative_to(FIXTURES).as_posix(), p.read_text("utf-8")) for p in sorted(FIXTURES.glob("*/*"))]
    return files + list(EDGE_CASES.items())


def _reference(root, src: bytes, module: str, grammar: str, language: str, lines: bool):
    """Per function: (start, end, hash pair of its whole token range), the way extraction used to."""
    captures = QueryCursor(atom_query(module, grammar, language)).captures(root)
    functions = sorted(captures.get("fn", []), key=lambda n: (n.start_byte, -n.end_byte))
    atoms = atoms_of(captures)
    categories = token_categories(module, grammar, language)
    out, outermost, tokens = [], None, []
    for node in functions:
        if outermost is None or node.start_byte >= outermost.end_byte:
            outermost = node
            tokens = leaf_tokens(node, src, categories, atoms, lines)
        lo = bisect_left(tokens, (node.start_byte, -1, -1))
        hi = bisect_left(tokens, (node.end_byte, -1, -1))
        out.append((node.start_byte, node.end_byte, content_hashes(tokens[lo:hi], src)))
    return out


@pytest.mark.parametrize("rel, text", _cases(), ids=[rel for rel, _ in _cases()])
def test_walk_matches_the_reference_pipeline(rel, text):
    spec = get_spec(language_for_path(rel))
    grammar = grammar_name(spec, rel)
    src = text.encode("utf-8")
    root = get_parser(spec.module, grammar).parse(src).root_node
    lines = spec.significant_indentation
    expected = _reference(root, src, spec.module, grammar, spec.name, lines)
    found = walk(root, src, node_codes(spec.module, grammar, spec.name), lines)
    categories = token_categories(spec.module, grammar, spec.name)
    got = [
        (node.start_byte, node.end_byte, stream(found, index, src, categories, lines).hashes(
            node.start_byte, node.end_byte, None))
        for node, index, _ in found.functions
    ]
    assert got == expected
    # The scope chain of every function is its ancestors of function or container kind.
    kinds = spec.function_kinds | spec.container_kinds
    for node, _, scope in found.functions:
        chain, outer = [], found.scopes[scope][1]
        while outer >= 0:
            chain.append(found.scopes[outer][0].id)
            outer = found.scopes[outer][1]
        ancestors, parent = [], node.parent
        while parent is not None:
            if parent.type in kinds:
                ancestors.append(parent.id)
            parent = parent.parent
        assert chain == ancestors


def test_cut_docstring_matches_the_reference():
    text = EDGE_CASES["edge/nested.py"]
    src = text.encode()
    spec = get_spec("python")
    root = get_parser(spec.module, "language").parse(src).root_node
    found = walk(root, src, node_codes(spec.module, "language", "python"), True)
    method, index, _ = found.functions[0]
    doc = src.index(b"'''Doc.'''")
    cut = (doc - 8, doc + len(b"'''Doc.'''") + 1)  # the whole docstring line
    atoms = atoms_of(QueryCursor(atom_query(spec.module, "language", "python")).captures(root))
    tokens = leaf_tokens(method, src, token_categories(spec.module, "language", "python"), atoms, True)
    kept = [t for t in tokens if not (cut[0] <= t[0] < cut[1])]
    categories = token_categories(spec.module, "language", "python")
    assert stream(found, index, src, categories, True).hashes(method.start_byte, method.end_byte, cut) == (
        content_hashes(kept, src)
    )


def test_template_functions_are_found_and_left_to_the_reference_tokeniser():
    src = EDGE_CASES["edge/template.js"].encode()
    spec = get_spec("javascript")
    root = get_parser(spec.module, "language").parse(src).root_node
    found = walk(root, src, node_codes(spec.module, "language", "javascript"), False)
    names = [src[n.start_byte : n.end_byte].split(b"(")[0] for n, _, _ in found.functions]
    assert names == [b"", b"function item", b"function named", b"function outer", b"function deep"]
    assert [s is None for s in found.streams] == [False, True, False]
