"""One pass over a parsed file: its functions, the token streams their hashes and token sets are built from,
its comments.

This is the hot path of a scan, so it is shaped for speed while giving exactly what the reference
pieces in ``normalize`` give (a query for functions, literals and comments, ``atoms_of``,
``leaf_tokens`` per outermost function, ``content_hashes``): one cursor walk visits every node once,
decides what a node is from a per-grammar table indexed by kind id, emits tokens straight into
the lists hashing needs, and skips the inside of literals and comments, which are one token each.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from operator import eq
from typing import TYPE_CHECKING

from codelens.parsing.normalize import IDENT, LIT, PLAIN, SKIP, Token, leaf_tokens, token_categories
from codelens.parsing.registry import get_spec, load_language

if TYPE_CHECKING:
    from tree_sitter import Node

FUNCTION, LITERAL, COMMENT, CONTAINER, STATEMENT = 4, 8, 12, 16, 20
"""Node roles in ``node_codes``, added to the token category (``PLAIN``…``SKIP``, all below 4)."""

_ID_NAMES: tuple[list[bytes], dict[int, bytes]] = ([], {})
"""``[b"ID1", b"ID2", …]`` and the same by identifier number (0 is ``ID1``), shared by the process."""


def _id_names(count: int) -> tuple[list[bytes], dict[int, bytes]]:
    """At least ``count`` names; grown by replacing both whole, so a reader never sees them half built."""
    global _ID_NAMES
    names = _ID_NAMES
    if len(names[0]) < count:
        listed = [b"ID%d" % number for number in range(1, 2 * count + 1)]
        names = _ID_NAMES = (listed, dict(enumerate(listed)))
    return names


@lru_cache(maxsize=None)
def node_codes(module: str, grammar: str, language: str) -> tuple[int, ...]:
    """Role + token category of every kind id of a grammar, as the reference query would see them.

    The query names functions, literals and comments as named node kinds; a kind id from
    ``Node.kind_id`` is the public symbol, so every id with that name and namedness gets the role.
    """
    spec = get_spec(language)
    lang = load_language(module, grammar)
    categories = token_categories(module, grammar, language)
    codes = []
    for kind_id in range(lang.node_kind_count):
        name = lang.node_kind_for_id(kind_id) or ""
        role = 0
        if lang.node_kind_is_named(kind_id):
            if name in spec.function_kinds:
                role = FUNCTION
            elif name in spec.literal_kinds:
                role = LITERAL
            elif name in spec.comment_kinds:
                role = COMMENT
            elif name in spec.container_kinds:
                role = CONTAINER
            elif name in spec.statement_kinds:
                role = STATEMENT
        codes.append(role + categories[kind_id])
    # Padded to every possible id, so the walk indexes without a bounds check: ERROR nodes have
    # id 65535, beyond the grammar's own kinds, and are plain.
    return tuple(codes) + (PLAIN,) * (65536 - len(codes))


MARK = 0xFF
"""Opens a line-break element in a ``TokenStream`` (0xFE closes it): neither byte occurs in UTF-8,
so nothing else in a stream can look like one."""
_LINE_BREAKS: dict[int, bytes] = {}


def _line_break(column: int) -> bytes:
    """The element standing for "new line, then ``column`` spaces" before a token that starts a line."""
    element = _LINE_BREAKS.get(column)
    if element is None:
        element = _LINE_BREAKS[column] = b"\xff" + b" " * column + b"\xfe"
    return element


class TokenStream:
    r"""The tokens of one outermost function, laid out for hashing it and every function inside it.

    Per-token work (slicing the text, numbering identifiers) happens once, while walking; ``hashes``
    then renders any range with C-level joins, maps and replaces. A token that starts a line (see
    ``normalize.Token``) is preceded by a line-break element carrying its absolute column: joined
    with spaces, ``" \xff" + base spaces`` becomes the newline and ``"\xfe "`` goes, which indents
    each line relative to the least indented one as ``normalize.render`` does.
    """

    __slots__ = ("starts", "pieces", "keys", "numbers", "line_at", "line_columns", "statement_starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        """Start byte of each element (a line break has its token's)."""
        self.pieces: list[bytes] = []
        """Each element's text."""
        self.keys: list[bytes | int] = []
        """What the abstracted rendering shows: the text, ``b"LIT"``, or for an identifier an int
        numbering its spelling (an int never equals bytes: a keyword spelled like a name stays itself)."""
        self.numbers: dict[bytes, int] = {}
        """Identifier spelling -> its number: numbers count up in order of first use."""
        self.line_at: list[int] = []
        """Indexes of the line-break elements."""
        self.line_columns: list[int] = []
        """Their columns."""
        self.statement_starts: list[int] | None = []
        """Start byte of each statement node (``LanguageSpec.statement_kinds``), in order; None when
        they were not counted (a stream rebuilt from ``leaf_tokens``)."""

    def add_line_break(self, start: int, column: int) -> None:
        """Record that the token about to be added (at byte ``start``) starts a line at ``column``."""
        self.line_at.append(len(self.pieces))
        self.line_columns.append(column)
        self.starts.append(start)
        self.pieces.append(_line_break(column))
        self.keys.append(_line_break(column))

    @classmethod
    def of(cls, tokens: list[Token], src: bytes) -> TokenStream:
        """A stream from ``leaf_tokens`` output (the path for the rare function inside a literal)."""
        stream = cls()
        stream.statement_starts = None
        numbers = stream.numbers
        for start, end, kind, column in tokens:
            if column >= 0:
                stream.add_line_break(start, column)
            piece = src[start:end]
            stream.starts.append(start)
            stream.pieces.append(piece)
            key = numbers.setdefault(piece, len(numbers)) if kind == IDENT else b"LIT" if kind == LIT else piece
            stream.keys.append(key)
        return stream

    def _spans(self, start: int, end: int, cut: tuple[int, int] | None) -> list[tuple[int, int]]:
        """Index ranges of the elements starting in ``[start, end)``: one, or two around ``cut``."""
        starts = self.starts
        lo, hi = bisect_left(starts, start), bisect_left(starts, end)
        if cut is None:
            return [(lo, hi)]
        cut_lo = min(max(bisect_left(starts, cut[0]), lo), hi)
        cut_hi = min(max(bisect_left(starts, cut[1]), cut_lo), hi)
        return [(lo, cut_lo), (cut_hi, hi)]

    def hashes(self, start: int, end: int, cut: tuple[int, int] | None) -> tuple[str, str]:
        """``content_hashes`` of the tokens starting in ``[start, end)`` but not in ``cut``."""
        starts, line_at = self.starts, self.line_at
        spans = self._spans(start, end, cut)
        lo, hi = spans[0][0], spans[-1][1]
        whole = lo == 0 and hi == len(starts)  # an outermost function
        if cut is None:
            renumber = not whole
        else:
            cut_lo, cut_hi = spans[0][1], spans[1][0]
            renumber = not whole or any(key.__class__ is int for key in self.keys[cut_lo:cut_hi])
        if whole and cut is None and not (hi and self.pieces[0][0] == MARK):
            pieces, keys, columns = self.pieces, self.keys, self.line_columns  # read only
        else:
            pieces, keys = _pick(self.pieces, spans), _pick(self.keys, spans)
            breaks = [(bisect_left(line_at, a), bisect_left(line_at, b)) for a, b in spans]
            columns = _pick(self.line_columns, breaks)
            if pieces and pieces[0][0] == MARK:  # the first token's own line break is not rendered
                del pieces[0], keys[0], columns[0]
        if renumber:
            unique = dict.fromkeys(keys)
            names = dict(zip(compress(unique, map(int.__instancecheck__, unique)), _id_names(len(unique))[0]))
        else:  # numbered by first use in the stream, which is first use in this function too
            names = _id_names(len(self.numbers))[1]
        plain, abstracted = b" ".join(pieces), b" ".join(map(names.get, keys, keys))
        if columns:
            head = b" \xff" + b" " * min(columns)
            plain = plain.replace(head, b"\n").replace(b"\xfe ", b"")
            abstracted = abstracted.replace(head, b"\n").replace(b"\xfe ", b"")
        return _sha(plain), _sha(abstracted)

    def words(self, start: int, end: int, cut: tuple[int, int] | None) -> frozenset[str]:
        """The identifiers and keywords among the tokens starting in ``[start, end)`` but not in ``cut``:
        what lexical clone similarity compares (``codelens.tasks.clone``). A keyword is a token kept as
        written that is spelled like a name; literals, operators and punctuation are not words."""
        spans = self._spans(start, end, cut)
        pieces, keys = _pick(self.pieces, spans), _pick(self.keys, spans)
        names = set(compress(pieces, map(int.__instancecheck__, keys)))  # identifiers: their key is a number
        # Kept as written (key == text): keywords, operators, punctuation, line breaks. A literal's key is LIT.
        written = set(compress(pieces, map(eq, pieces, keys)))
        out = {name.decode("utf-8", "surrogatepass") for name in names}
        for piece in written:
            if piece[0] != MARK and (word := piece.decode("utf-8", "surrogatepass")).isidentifier():
                out.add(word)
        return frozenset(out)

    def statement_count(self, start: int, end: int, cut: tuple[int, int] | None) -> int | None:
        """How many statements start in ``[start, end)`` but not in ``cut``; None when not counted."""
        starts = self.statement_starts
        if starts is None:
            return None
        count = bisect_left(starts, end) - bisect_left(starts, start)
        if cut is not None:
            count -= bisect_left(starts, cut[1]) - bisect_left(starts, cut[0])
        return count


def _pick(items: list, spans: list[tuple[int, int]]) -> list:
    """``items`` in one index range, or in two around a cut-out docstring (always a new list)."""
    if len(spans) == 1:
        return items[spans[0][0] : spans[0][1]]
    (lo, cut_lo), (cut_hi, hi) = spans
    return items[lo:cut_lo] + items[cut_hi:hi]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileWalk:
    """What ``walk`` found in one file."""

    functions: list[tuple[Node, int, int]]
    """Every function node in source order (outer before inner), with the index of the outermost
    function holding it in ``outermost`` and ``streams``, and its own index in ``scopes``."""
    scopes: list[tuple[Node, int]]
    """Every function and container node in source order, with the index of the innermost one
    holding it (-1: none): the chain a qualified name is built from."""
    outermost: list[Node]
    """Functions inside no other function."""
    streams: list[TokenStream | None]
    """Tokens of each outermost function; None for one inside a literal (a JS template), which
    ``stream`` computes the reference way."""
    comments: list[tuple[int, int]]
    """Start and end byte of every comment node, in source order: where suppression markers are read."""


def walk(root: Node, src: bytes, codes: tuple[int, ...], lines: bool) -> FileWalk:
    """Functions, scopes and outermost-function token streams of a tree, in one cursor walk.

    A literal or comment is one token (or none) and its inside is not visited, unless it has
    grandchildren: only then can it hold a function (a JS template substitution). With ``lines``,
    a token after a line break records its column (see ``normalize.Token``).
    """
    functions: list[tuple[Node, int, int]] = []
    scopes: list[tuple[Node, int]] = []
    open_scopes: list[int] = []  # indexes in scopes of the ones holding the current node
    open_ends: list[int] = []  # and their end bytes
    outermost: list[Node] = []
    streams: list[TokenStream | None] = []
    comments: list[tuple[int, int]] = []
    # The stream being filled, its bound appends, and where its last token ended.
    current = TokenStream()
    starts_add, pieces_add, keys_add = current.starts.append, current.pieces.append, current.keys.append
    pieces, line_at_add, line_columns_add = current.pieces, current.line_at.append, current.line_columns.append
    numbers, statements_add = current.numbers, current.statement_starts.append
    previous_end = 0
    emitting = False  # inside an outermost function and not inside a literal
    # Depths of the open outermost function and of the literal being searched for functions (-1:
    # none), and the deeper of the two: what leaving a node has to check.
    depth, function_depth, atom_depth, watch = 0, -1, -1, -1
    cursor = root.walk()
    first_child, next_sibling, parent = cursor.goto_first_child, cursor.goto_next_sibling, cursor.goto_parent
    while True:
        node = cursor.node
        code = codes[node.kind_id]
        if code < FUNCTION:
            if first_child():
                depth += 1
                continue
            if emitting:
                start = node.start_byte
                end = node.end_byte
                kind = code
            else:
                start = end = 0
        elif LITERAL <= code < CONTAINER:  # a literal or a comment
            start = node.start_byte
            end = node.end_byte
            if code >= COMMENT and end > start:
                comments.append((start, end))
            if atom_depth < 0 and end > start:
                kind = LIT if code < COMMENT else SKIP
                if node.descendant_count > node.child_count + 1:
                    atom_depth = watch = depth
                if not emitting:
                    start = end = 0
            elif first_child():
                depth += 1
                continue
            else:
                start = end = 0
        elif code >= STATEMENT:  # counted for the functions holding it, then walked like any node
            start = node.start_byte
            if emitting:
                statements_add(start)
            if first_child():
                depth += 1
                continue
            if emitting:  # a statement that is one token (`fallthrough`)
                end = node.end_byte
                kind = code & 3
            else:
                start = end = 0
        else:  # a function or a container: a naming scope
            # Pre-order: an open scope holds this node exactly when the node starts before its end.
            start = node.start_byte
            while open_ends and open_ends[-1] <= start:
                open_ends.pop()
                open_scopes.pop()
            scopes.append((node, open_scopes[-1] if open_scopes else -1))
            open_scopes.append(len(scopes) - 1)
            open_ends.append(node.end_byte)
            if code < LITERAL:
                if function_depth < 0:
                    function_depth = watch = depth
                    outermost.append(node)
                    if atom_depth < 0:
                        current = TokenStream()
                        streams.append(current)
                        pieces, starts_add, pieces_add = current.pieces, current.starts.append, current.pieces.append
                        keys_add, line_at_add = current.keys.append, current.line_at.append
                        line_columns_add = current.line_columns.append
                        numbers, statements_add = current.numbers, current.statement_starts.append
                        previous_end = start
                        emitting = True
                    else:
                        streams.append(None)
                functions.append((node, len(streams) - 1, len(scopes) - 1))
            if first_child():
                depth += 1
                continue
            if emitting:  # a scope without children (no grammar has one): a leaf like any other
                end = node.end_byte
                kind = code & 3
            else:
                start = end = 0
        if end > start:
            if start > previous_end and not (start - previous_end == 1 and src[previous_end] == 32):
                gap = src[previous_end:start]
                newline = gap.rfind(b"\n") if lines else -1
                if gap.strip():
                    # Text no leaf covers (a grammar quirk): keep it rather than drop it from hashes.
                    if newline >= 0:
                        current.add_line_break(previous_end, len(gap) - newline - 1)
                        newline = -1
                    starts_add(previous_end)
                    pieces_add(gap)
                    keys_add(gap)
                if newline >= 0 and kind != SKIP:  # current.add_line_break, inlined: once per line
                    column = len(gap) - newline - 1
                    line_break = _LINE_BREAKS.get(column) or _line_break(column)
                    line_at_add(len(pieces))
                    line_columns_add(column)
                    starts_add(start)
                    pieces_add(line_break)
                    keys_add(line_break)
            if kind != SKIP:
                piece = src[start:end]
                starts_add(start)
                pieces_add(piece)
                if kind == PLAIN:
                    keys_add(piece)
                else:
                    keys_add(numbers.setdefault(piece, len(numbers)) if kind == IDENT else b"LIT")
            previous_end = end
        if atom_depth == depth and first_child():  # a literal that may hold a function
            emitting = False
            depth += 1
            continue
        while True:  # leave this node: close what it opened, then go to the next one
            if depth == watch:
                if depth == atom_depth:
                    atom_depth = -1
                    emitting = function_depth >= 0 and streams[-1] is not None
                else:
                    function_depth = -1
                    emitting = False
                watch = max(function_depth, atom_depth)
            if next_sibling():
                break
            if not parent():
                return FileWalk(functions, scopes, outermost, streams, comments)
            depth -= 1


def stream(found: FileWalk, index: int, src: bytes, categories: tuple[int, ...], lines: bool) -> TokenStream:
    """The token stream of outermost function ``index``, computing the rare ones ``walk`` left out."""
    current = found.streams[index]
    if current is None:
        # Such a function lies inside a literal, so no other literal or comment can start inside it:
        # the reference tokeniser needs no atoms to match what it gives with the file's atoms.
        tokens = leaf_tokens(found.outermost[index], src, categories, [], lines)
        current = found.streams[index] = TokenStream.of(tokens, src)
    return current
