"""Normalised token streams of functions, and the two content hashes built from them.

Tokens are tree-sitter leaves, so every language is handled the same way: comments disappear,
whitespace between tokens becomes one space, and a literal (string, number, char, regex) is one token
even when the grammar splits it into pieces. ``hash`` is sha256 of that text; ``normalized_hash``
(the type-2 clone key) also replaces identifiers with ``ID1``, ``ID2``… by first occurrence and
literals with ``LIT``. Python keeps line breaks and relative indentation, which carry meaning there.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from functools import lru_cache
from typing import TYPE_CHECKING

from codelens.parsing.registry import get_parser, get_spec, load_language

if TYPE_CHECKING:
    from tree_sitter import Language, Node, Query

PLAIN, IDENT, LIT, SKIP = 0, 1, 2, 3
"""Token categories: kept as written, abstracted to IDn, abstracted to LIT, dropped."""


Token = tuple[int, int, int, int]
"""``(start byte, end byte, category, column)``: column is where the token's line starts its text
when a line break precedes the token and line structure matters (Python), else -1."""

_NO_ATOM = (1 << 62, 1 << 62, PLAIN)


@lru_cache(maxsize=None)
def token_categories(module: str, grammar: str, language: str) -> tuple[int, ...]:
    """Category of every node kind id of a grammar (leaf kinds matter; atoms come from a query)."""
    spec = get_spec(language)
    lang = load_language(module, grammar)
    table = []
    for kind_id in range(lang.node_kind_count):
        name = lang.node_kind_for_id(kind_id) or ""
        named = lang.node_kind_is_named(kind_id)
        if name in spec.comment_kinds or (named and name in spec.ignored_kinds):
            table.append(SKIP)
        elif named and (name.endswith("identifier") or name in spec.extra_identifier_kinds):
            table.append(IDENT)
        elif named and name in spec.literal_kinds:
            table.append(LIT)
        else:
            table.append(PLAIN)
    return tuple(table)


def _existing(lang: Language, kinds: frozenset[str]) -> list[str]:
    """The kinds a grammar really has (a query naming an unknown kind does not compile)."""
    return sorted(k for k in kinds if lang.id_for_node_kind(k, True))


@lru_cache(maxsize=None)
def atom_query(module: str, grammar: str, language: str) -> Query:
    """One query per grammar capturing functions (``fn``), literals (``lit``) and comments (``com``)."""
    from tree_sitter import Query

    spec = get_spec(language)
    lang = load_language(module, grammar)
    parts = []
    for capture, kinds in (("fn", spec.function_kinds), ("lit", spec.literal_kinds), ("com", spec.comment_kinds)):
        names = _existing(lang, kinds)
        if names:
            parts.append("[" + " ".join(f"({k})" for k in names) + f"] @{capture}")
    return Query(lang, "\n".join(parts))


def atoms_of(captures: dict[str, list[Node]]) -> list[tuple[int, int, int]]:
    """Outermost literal / comment byte ranges, sorted, as ``(start, end, LIT or SKIP)``."""
    ranges = sorted(
        [(n.start_byte, n.end_byte, LIT) for n in captures.get("lit", ())]
        + [(n.start_byte, n.end_byte, SKIP) for n in captures.get("com", ())],
        key=lambda r: (r[0], -r[1]),
    )
    outermost: list[tuple[int, int, int]] = []
    for start, end, kind in ranges:
        if end > start and (not outermost or start >= outermost[-1][1]):
            outermost.append((start, end, kind))
    return outermost


def leaf_tokens(
    root: Node, src: bytes, categories: tuple[int, ...], atoms: list[tuple[int, int, int]], lines: bool
) -> list[Token]:
    """Tokens under ``root`` in order. Each of ``atoms`` (from ``atoms_of``) is one token, or none.

    Walks with a cursor and builds a node only for leaves. With ``lines``, a token after a line break
    records its column (see ``Token``). This is the reference tokeniser, used for standalone
    fragments; extraction uses ``walk.walk``, which gives the same tokens in one pass per file.
    """
    tokens: list[Token] = []
    append = tokens.append
    index = bisect_left(atoms, (root.start_byte, -1, -1))
    atom_start, atom_end, atom_kind = atoms[index] if index < len(atoms) else _NO_ATOM
    inside_until = -1  # end of the atom being skipped over
    previous_end = root.start_byte
    cursor = root.walk()
    first_child, next_sibling, parent = cursor.goto_first_child, cursor.goto_next_sibling, cursor.goto_parent
    known = len(categories)
    while True:
        if not first_child():
            leaf = cursor.node
            start = leaf.start_byte
            if start >= inside_until:
                while atom_end <= start:  # an atom no leaf reached (cannot happen in a sound tree)
                    index += 1
                    atom_start, atom_end, atom_kind = atoms[index] if index < len(atoms) else _NO_ATOM
                if start >= atom_start:
                    start, end, kind = atom_start, atom_end, atom_kind
                    inside_until = atom_end
                    index += 1
                    atom_start, atom_end, atom_kind = atoms[index] if index < len(atoms) else _NO_ATOM
                else:
                    end = leaf.end_byte
                    kind_id = leaf.kind_id
                    kind = categories[kind_id] if kind_id < known else PLAIN
                if end > start:
                    column = -1
                    if start > previous_end and not (start - previous_end == 1 and src[previous_end] == 32):
                        gap = src[previous_end:start]
                        if lines and (newline := gap.rfind(b"\n")) >= 0:
                            column = len(gap) - newline - 1
                        if gap.strip():
                            # Text no leaf covers (a grammar quirk): keep it rather than drop it from hashes.
                            append((previous_end, start, PLAIN, column))
                            column = -1
                    if kind != SKIP:
                        append((start, end, kind, column))
                    previous_end = end
            while not next_sibling():
                if not parent():
                    return tokens


def render(tokens: list[Token], src: bytes) -> tuple[bytes, bytes]:
    """The plain and the abstracted rendering of a token stream.

    Tokens are joined by single spaces; a token that starts a line (see ``Token``) is put on a new
    line, indented relative to the least indented such line, so a method renders the same as the
    identical function at top level, and a fragment the same as inside its file.
    """
    pieces = [src[start:end] for start, end, _, _ in tokens]
    names: dict[bytes, bytes] = {}
    abstract = [
        (names.get(piece) or names.setdefault(piece, b"ID%d" % (len(names) + 1)))
        if token[2] == IDENT
        else (b"LIT" if token[2] == LIT else piece)
        for piece, token in zip(pieces, tokens)
    ]
    columns = [token[3] for token in tokens[1:] if token[3] >= 0]
    if not columns:
        return b" ".join(pieces), b" ".join(abstract)
    base = min(columns)
    separators = [b""] + [b" " if token[3] < 0 else b"\n" + b" " * (token[3] - base) for token in tokens[1:]]
    plain = b"".join([part for pair in zip(separators, pieces) for part in pair])
    return plain, b"".join([part for pair in zip(separators, abstract) for part in pair])


def content_hashes(tokens: list[Token], src: bytes) -> tuple[str, str]:
    """``(hash, normalized_hash)`` of a token stream: sha256 hex of its two renderings."""
    plain, abstract = render(tokens, src)
    return hashlib.sha256(plain).hexdigest(), hashlib.sha256(abstract).hexdigest()


def tokenize(source: str, language: str) -> tuple[list[Token], bytes]:
    """Parse a standalone fragment (e.g. one function) and return its tokens and the bytes they index.

    A fragment that does not parse alone is retried with the language's other grammars (TSX) and
    inside each of its ``fragment_wrappers`` (a method needs a class around it); the cleanest parse
    wins and the wrapper's own tokens are dropped.
    """
    from tree_sitter import QueryCursor

    spec = get_spec(language)
    fragment = source.encode("utf-8", "surrogatepass")
    grammars = dict.fromkeys([spec.default_grammar, *spec.grammar_by_suffix.values()])
    best: tuple[int, list[Token], bytes] | None = None
    for prefix, suffix in (("", ""), *spec.fragment_wrappers):
        for grammar in grammars:
            src = prefix.encode() + fragment + suffix.encode()
            root = get_parser(spec.module, grammar).parse(src).root_node
            captures = QueryCursor(atom_query(spec.module, grammar, language)).captures(root)
            categories = token_categories(spec.module, grammar, language)
            start, end = len(prefix.encode()), len(prefix.encode()) + len(fragment)
            atoms = atoms_of(captures)
            every = leaf_tokens(root, src, categories, atoms, spec.significant_indentation)
            tokens = [t for t in every if start <= t[0] < end]
            errors = count_error_regions(root)
            if best is None or errors < best[0]:
                best = (errors, tokens, src)
            if errors == 0:
                return tokens, src
    assert best is not None  # the loops always run at least once
    return best[1], best[2]


def count_error_regions(root: Node) -> int:
    """Number of ERROR / MISSING regions (an ERROR inside an ERROR counts once)."""
    if not root.has_error:
        return 0
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
            continue
        stack.extend(child for child in node.children if child.has_error or child.is_missing)
    return count


def normalized_source(source: str, language: str) -> str:
    """The source with comments dropped and whitespace folded (Python keeps line structure)."""
    tokens, src = tokenize(source, language)
    return render(tokens, src)[0].decode("utf-8", "surrogatepass")


def abstracted_source(source: str, language: str) -> str:
    """``normalized_source`` with identifiers as ``ID1``, ``ID2``… (by first use) and literals as ``LIT``."""
    tokens, src = tokenize(source, language)
    return render(tokens, src)[1].decode("utf-8", "surrogatepass")


def source_hashes(source: str, language: str) -> tuple[str, str]:
    """``(hash, normalized_hash)`` of a standalone fragment, as ``CodeUnit`` would carry them."""
    return content_hashes(*tokenize(source, language))
