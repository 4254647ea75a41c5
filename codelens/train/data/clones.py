"""Semantics-preserving transforms: the positives of clone training and the "clean but rewritten" defects.

Each transform is a set of byte splices on the function's tree-sitter tree (see syntax.py); a result
is kept only when it still parses and differs from its input. Kinds:

  rename                  consistent renaming of some parameters / locals to fresh, ordinary names
  format-spacing          spaces around arithmetic operators added or removed
  format-blank-lines      blank lines inside the function removed, or added between statements
  remove-comments         comments dropped
  add-comment             a comment line added above a statement
  if-else-swap            ``if c: A else: B`` -> ``if not c: B else: A``
  remove-docstring        the docstring dropped
  loop-to-comprehension   ``out = []`` + ``for x in xs: out.append(f(x))`` -> ``out = [f(x) for x in xs]``
  comprehension-to-loop   the reverse
  reorder-statements      two adjacent independent assignments (no calls) exchanged

``clone_variants`` composes one to three of them; each variant's ``kind`` names what was applied.
Transforms exist for Python; another language needs its own (the tables in syntax.py are a start).
"""

from __future__ import annotations

import random
from typing import NamedTuple

from codelens.parsing import function_syntax as syntax
from codelens.parsing.function_syntax import walk

TRANSFORM_KINDS = (
    "rename", "format-spacing", "format-blank-lines", "remove-comments", "add-comment", "if-else-swap",
    "remove-docstring", "loop-to-comprehension", "comprehension-to-loop", "reorder-statements",
)
FRESH_NAMES = (
    "value", "item", "result", "data", "node", "key", "count", "index", "total", "current", "entry",
    "element", "buf", "target", "src", "tmp", "acc", "parts", "first", "second", "other", "obj", "text",
    "size", "pos", "arg", "val", "res", "out", "items", "values", "name", "line", "lines", "path", "idx",
    "num", "step", "start", "end", "left", "right", "head", "tail", "chunk", "record", "field", "token",
    "prev", "nxt", "flag", "state", "limit", "offset", "width", "height", "label", "mapping", "seq", "cur",
)
"""Replacement names: ordinary words, so a renamed function does not look machine-made."""
COMMENTS = (
    "handle the simple case first", "keep the original order", "nothing to do here", "collect the results",
    "compute the answer", "check the input", "update the running state", "return early when possible",
    "walk over every element", "build the output",
)
_SPACED_OPS = frozenset({"+", "-", "*", "/", "//", "%", "**"})
_SELF_NAMES = frozenset({"self", "cls"})


class Transform(NamedTuple):
    """A semantics-preserving variant of a function."""

    source: str
    kind: str
    """Transform kinds applied, joined by ``+`` in order."""


Edit = tuple[int, int, bytes]


def _line_start(data: bytes, byte: int) -> int:
    return data.rfind(b"\n", 0, byte) + 1


def _starts_line(data: bytes, node) -> bool:
    return data[_line_start(data, node.start_byte):node.start_byte].strip() == b""


def _indent_of(data: bytes, node) -> bytes:
    return data[_line_start(data, node.start_byte):node.start_byte]


def _statements(parsed):
    """(block, statement) for every statement of every block of the function, in source order."""
    for block in walk(parsed.fn):
        if block.type == "block":
            for stmt in block.named_children:
                if stmt.type != "comment":
                    yield block, stmt


def _rename(parsed, rng) -> list[Edit] | None:
    scope = syntax.python_scope(parsed)
    if scope.unsafe or any(n.type == "class_definition" for n in walk(parsed.fn) if n.id != parsed.fn.id):
        return None
    names = sorted(n for n in scope.occurrences if n not in _SELF_NAMES
                   and not (scope.nested and n in scope.keyword_names))
    taken = syntax.identifier_names(parsed, syntax.PYTHON) | syntax.PYTHON.reserved
    fresh = [n for n in FRESH_NAMES if n not in taken]
    if not names or not fresh:
        return None
    chosen = rng.sample(names, rng.randint(1, min(len(names), len(fresh))))
    mapping = dict(zip(chosen, rng.sample(fresh, len(chosen))))
    return [(n.start_byte, n.end_byte, mapping[name].encode()) for name in chosen for n in scope.occurrences[name]]


def _format_spacing(parsed, rng) -> list[Edit] | None:
    sep = rng.choice([b"", b" "])
    edits = []
    for node in walk(parsed.fn):
        if node.type != "binary_operator" or node.child_by_field_name("operator").type not in _SPACED_OPS:
            continue
        left, op, right = (node.child_by_field_name(f) for f in ("left", "operator", "right"))
        if left.end_point.row == right.start_point.row:
            edits += [(left.end_byte, op.start_byte, sep), (op.end_byte, right.start_byte, sep)]
    changed = [e for e in edits if parsed.data[e[0]:e[1]] != e[2]]
    return changed or None


def _blank_line_edits(parsed, rng) -> list[Edit] | None:
    data, fn = parsed.data, parsed.fn
    blank = []
    strings = [(n.start_byte, n.end_byte) for n in walk(fn) if n.type == "string"]
    pos = data.find(b"\n", fn.start_byte) + 1
    while 0 < pos < fn.end_byte:
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        if data[pos:end].strip() == b"" and not any(a < pos < b for a, b in strings):
            blank.append((pos, min(end + 1, len(data)), b""))
        pos = end + 1
    spots = [stmt for block, stmt in _statements(parsed)
             if stmt.id != block.named_children[0].id and _starts_line(data, stmt)]
    if blank and (not spots or rng.random() < 0.5):
        return blank
    if not spots:
        return None
    picked = rng.sample(spots, min(len(spots), rng.randint(1, 2)))
    return [(_line_start(data, s.start_byte),) * 2 + (b"\n",) for s in picked]


def _remove_comments(parsed, rng) -> list[Edit] | None:
    edits = []
    for node in walk(parsed.fn):
        if node.type != "comment":
            continue
        start = _line_start(parsed.data, node.start_byte)
        if _starts_line(parsed.data, node):
            edits.append((start, node.end_byte + 1, b""))  # the whole line, newline included
        else:
            before = parsed.data[:node.start_byte]
            edits.append((len(before.rstrip(b" \t")), node.end_byte, b""))
    return edits or None


def _is_docstring(stmt) -> bool:
    return (stmt.type == "expression_statement" and len(stmt.named_children) == 1
            and stmt.named_children[0].type == "string")


def _add_comment(parsed, rng) -> list[Edit] | None:
    spots = [stmt for _, stmt in _statements(parsed) if _starts_line(parsed.data, stmt) and not _is_docstring(stmt)]
    if not spots:
        return None
    stmt = rng.choice(spots)
    indent = _indent_of(parsed.data, stmt)
    line = indent + b"# " + rng.choice(COMMENTS).encode() + b"\n"
    start = _line_start(parsed.data, stmt.start_byte)
    return [(start, start, line)]


def _negate(parsed, cond) -> str:
    if cond.type == "not_operator":
        return parsed.text(cond.child_by_field_name("argument"))
    text = parsed.text(cond)
    return f"not {text}" if cond.type in syntax.PYTHON.atoms else f"not ({text})"


def _if_else_swap(parsed, rng) -> list[Edit] | None:
    options = []
    for node in walk(parsed.fn):
        if node.type != "if_statement" or any(c.type == "elif_clause" for c in node.children):
            continue
        other = node.child_by_field_name("alternative")
        then = node.child_by_field_name("consequence")
        orelse = other.child_by_field_name("body") if other is not None else None
        if then is None or orelse is None:
            continue
        if then.start_point.row == node.start_point.row or orelse.start_point.row == other.start_point.row:
            continue  # a one-line suite cannot be moved under the other header
        cond = node.child_by_field_name("condition")
        options.append([(cond.start_byte, cond.end_byte, _negate(parsed, cond).encode()),
                        (then.start_byte, then.end_byte, parsed.text(orelse).encode()),
                        (orelse.start_byte, orelse.end_byte, parsed.text(then).encode())])
    return rng.choice(options) if options else None


def _remove_docstring(parsed, rng) -> list[Edit] | None:
    body = parsed.fn.child_by_field_name("body")
    stmts = [c for c in body.named_children if c.type != "comment"]
    first = stmts[0] if stmts else None
    if first is None or len(stmts) < 2 or not _is_docstring(first):
        return None
    if not _starts_line(parsed.data, first) or first.start_point.row == parsed.fn.start_point.row:
        return None
    return [(_line_start(parsed.data, first.start_byte), first.end_byte + 1, b"")]


def _used_after(parsed, names: set[str], byte: int) -> bool:
    return any(n.type == "identifier" and n.start_byte >= byte and parsed.text(n) in names for n in walk(parsed.fn))


def _names_in(parsed, node) -> set[str]:
    return {parsed.text(n) for n in walk(node) if n.type == "identifier"} if node is not None else set()


def _empty_list_assignment(parsed, stmt) -> str | None:
    """The target name when ``stmt`` is ``name = []``."""
    if stmt.type != "expression_statement" or stmt.named_children[0].type != "assignment":
        return None
    assign = stmt.named_children[0]
    left, right = assign.child_by_field_name("left"), assign.child_by_field_name("right")
    if left is None or left.type != "identifier" or right is None or right.type != "list" or right.named_children:
        return None
    return parsed.text(left)


def _append_call(parsed, stmt, target: str):
    """The argument node when ``stmt`` is ``target.append(arg)``."""
    if stmt.type != "expression_statement" or stmt.named_children[0].type != "call":
        return None
    call = stmt.named_children[0]
    fn, args = call.child_by_field_name("function"), call.child_by_field_name("arguments")
    if fn.type != "attribute" or parsed.text(fn) != f"{target}.append" or args.type != "argument_list":
        return None
    named = args.named_children
    ok = len(named) == 1 and named[0].type not in ("keyword_argument", "list_splat", "dictionary_splat")
    return named[0] if ok else None


def _loop_to_comprehension(parsed, rng) -> list[Edit] | None:
    options = []
    for block in (n for n in walk(parsed.fn) if n.type == "block"):
        stmts = [c for c in block.named_children if c.type != "comment"]
        for init, loop in zip(stmts, stmts[1:]):
            target = _empty_list_assignment(parsed, init)
            if target is None or loop.type != "for_statement" or loop.child_by_field_name("alternative"):
                continue
            if loop.children[0].type == "async":
                continue
            body = [c for c in loop.child_by_field_name("body").named_children if c.type != "comment"]
            cond = None
            if len(body) == 1 and body[0].type == "if_statement" and body[0].child_by_field_name("alternative") is None:
                cond, inner = body[0].child_by_field_name("condition"), body[0].child_by_field_name("consequence")
                body = [c for c in inner.named_children if c.type != "comment"]
            arg = _append_call(parsed, body[0], target) if len(body) == 1 else None
            if arg is None:
                continue
            left, right = loop.child_by_field_name("left"), loop.child_by_field_name("right")
            loop_vars = _names_in(parsed, left)
            if _used_after(parsed, loop_vars, loop.end_byte) or target in (
                    _names_in(parsed, arg) | _names_in(parsed, right) | _names_in(parsed, cond)):
                continue
            clause = f" if {parsed.text(cond)}" if cond is not None else ""
            text = f"{target} = [{parsed.text(arg)} for {parsed.text(left)} in {parsed.text(right)}{clause}]"
            options.append([(init.start_byte, loop.end_byte, text.encode())])
    return rng.choice(options) if options else None


def _comprehension_to_loop(parsed, rng) -> list[Edit] | None:
    body = parsed.fn.child_by_field_name("body")
    # One indentation step, as this function uses it (4 spaces when its body sits on the def line).
    same_line = body.start_point.row == parsed.fn.start_point.row
    unit = 4 if same_line else body.start_point.column - parsed.fn.start_point.column
    options = []
    for _, stmt in _statements(parsed):
        if stmt.type != "expression_statement" or stmt.named_children[0].type != "assignment":
            continue
        assign = stmt.named_children[0]
        left, right = assign.child_by_field_name("left"), assign.child_by_field_name("right")
        if left is None or left.type != "identifier" or right is None or right.type != "list_comprehension":
            continue
        clauses = right.named_children[1:]
        fors = [c for c in clauses if c.type == "for_in_clause"]
        ifs = [c for c in clauses if c.type == "if_clause"]
        if len(fors) != 1 or len(ifs) > 1 or len(clauses) != len(fors) + len(ifs):
            continue
        if parsed.text(fors[0]).startswith("async"):
            continue
        target, elem = parsed.text(left), right.named_children[0]
        loop_left, loop_right = fors[0].child_by_field_name("left"), fors[0].child_by_field_name("right")
        cond = ifs[0].named_children[0] if ifs else None
        loop_vars = _names_in(parsed, loop_left)
        elsewhere = {parsed.text(n) for n in walk(parsed.fn) if n.type == "identifier"
                     and not (right.start_byte <= n.start_byte < right.end_byte)}
        inner_names = _names_in(parsed, elem) | _names_in(parsed, loop_right) | _names_in(parsed, cond)
        headers = parsed.text(loop_left) + parsed.text(loop_right) + (parsed.text(cond) if cond else "")
        if loop_vars & elsewhere or target in inner_names or "\n" in headers or not _starts_line(parsed.data, stmt):
            continue
        ind = _indent_of(parsed.data, stmt).decode()
        step = " " * unit
        lines = [f"{target} = []", f"{ind}for {parsed.text(loop_left)} in {parsed.text(loop_right)}:"]
        if cond is not None:
            lines.append(f"{ind}{step}if {parsed.text(cond)}:")
            step += " " * unit
        lines.append(f"{ind}{step}{target}.append({parsed.text(elem)})")
        options.append([(stmt.start_byte, stmt.end_byte, "\n".join(lines).encode())])
    return rng.choice(options) if options else None


def _simple_assignment(parsed, stmt):
    """(target name, right node) for a one-line ``name = expr`` without calls or side effects."""
    if stmt.type != "expression_statement" or stmt.named_children[0].type != "assignment":
        return None
    assign = stmt.named_children[0]
    left, right = assign.child_by_field_name("left"), assign.child_by_field_name("right")
    if left is None or left.type != "identifier" or right is None or stmt.start_point.row != stmt.end_point.row:
        return None
    impure = {"call", "await", "yield", "named_expression", "lambda"}
    if any(n.type in impure for n in walk(right)):
        return None
    return parsed.text(left), right


def _reorder_statements(parsed, rng) -> list[Edit] | None:
    options = []
    for block in (n for n in walk(parsed.fn) if n.type == "block"):
        stmts = [c for c in block.named_children if c.type != "comment"]
        for a, b in zip(stmts, stmts[1:]):
            first, second = _simple_assignment(parsed, a), _simple_assignment(parsed, b)
            if first is None or second is None or a.end_point.row + 1 != b.start_point.row:
                continue
            if first[0] == second[0]:
                continue
            if first[0] in _names_in(parsed, second[1]) or second[0] in _names_in(parsed, first[1]):
                continue
            options.append([(a.start_byte, a.end_byte, parsed.text(b).encode()),
                            (b.start_byte, b.end_byte, parsed.text(a).encode())])
    return rng.choice(options) if options else None


_TRANSFORMS = {
    "rename": _rename,
    "format-spacing": _format_spacing,
    "format-blank-lines": _blank_line_edits,
    "remove-comments": _remove_comments,
    "add-comment": _add_comment,
    "if-else-swap": _if_else_swap,
    "remove-docstring": _remove_docstring,
    "loop-to-comprehension": _loop_to_comprehension,
    "comprehension-to-loop": _comprehension_to_loop,
    "reorder-statements": _reorder_statements,
}


def apply_transform(source: str, kind: str, rng: random.Random, language: str = "python",
                    indent: str = "") -> str | None:
    """``source`` with one transform of ``kind`` applied, or None when it does not apply."""
    if language != "python":
        return None
    parsed = syntax.parse_function(source, language, indent)
    if parsed is None:
        return None
    edits = _TRANSFORMS[kind](parsed, rng)
    if not edits:
        return None
    data = syntax.splice(parsed.data, edits)
    if data == parsed.data or not syntax.reparses(data, language):
        return None
    return syntax.unframe(data, parsed.start)


def clone_variants(source: str, rng: random.Random, count: int = 2, language: str = "python",
                   indent: str = "", kinds: tuple[str, ...] = TRANSFORM_KINDS, max_chain: int = 3) -> list[Transform]:
    """Up to ``count`` distinct variants of ``source``, each a chain of 1..max_chain transforms."""
    out: list[Transform] = []
    seen = {source}
    for _ in range(count * 4):
        if len(out) >= count:
            break
        chain = rng.sample(list(kinds), rng.randint(1, min(max_chain, len(kinds))))
        text, applied = source, []
        for kind in chain:
            new = apply_transform(text, kind, rng, language, indent)
            if new is not None:
                text, applied = new, applied + [kind]
        if applied and text not in seen:
            seen.add(text)
            out.append(Transform(text, "+".join(applied)))
    return out
