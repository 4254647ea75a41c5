"""Docstrings and doc comments: finding them, cleaning them, and cutting a docstring out of a body."""

from __future__ import annotations

import ast
import inspect
import re
import warnings
from typing import TYPE_CHECKING

from codelens.parsing.spec import LanguageSpec, last_line, text

if TYPE_CHECKING:
    from tree_sitter import Node

_LINE_MARKER = re.compile(r"^\s*(?://[/!]?|#)")
_BLOCK_LINE_MARKER = re.compile(r"^\s*\*(?!/)")
_PLAIN_STRING = re.compile(r"""[uUrR]?("{3}|'{3}|"|')(.*)\1""", re.DOTALL)


def python_docstring(statement: Node) -> str | None:
    """The cleaned value of a docstring statement; None for f-strings / bytes (not docstrings)."""
    literal = text(statement).strip()
    value = _plain_string_value(literal)
    if value is None:
        try:
            with warnings.catch_warnings():
                # An invalid escape ("\\d") in a scanned docstring is that code's business, not a warning
                # of codelens: Python 3.12+ would print a SyntaxWarning for it on every scan.
                warnings.simplefilter("ignore")
                value = ast.literal_eval(literal)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
        if not isinstance(value, str):
            return None
    return inspect.cleandoc(value) or None


def _plain_string_value(literal: str) -> str | None:
    """The value of a single string literal whose value is its text between the quotes, as
    ``ast.literal_eval`` gives it at a fraction of the cost; None for any other literal (escapes,
    carriage returns, NULs, a quote that could end it early, concatenation), left to ``literal_eval``.
    """
    match = _PLAIN_STRING.fullmatch(literal)
    if match is None:
        return None
    quote, value = match.groups()
    if "\\" in value or "\r" in value or "\0" in value or quote in value:
        return None
    if len(quote) == 3:
        return None if value.endswith(quote[0]) else value
    return None if "\n" in value else value


def clean_comment(raw: str) -> str:
    """Strip comment markers (``//``, ``///``, ``//!``, ``/* */``, ``/** */``, leading ``*``) from one comment."""
    stripped = raw.strip()
    if stripped.startswith("/*"):
        inner = stripped[2:-2] if stripped.endswith("*/") else stripped[2:]
        inner = inner.lstrip("*!")
        lines = [_BLOCK_LINE_MARKER.sub("", line, count=1) for line in inner.splitlines()]
    else:
        lines = [_LINE_MARKER.sub("", line, count=1) for line in stripped.splitlines()]
    return "\n".join(line.rstrip() for line in lines)


def leading_comment_nodes(anchor: Node, spec: LanguageSpec) -> list[Node]:
    """The comment nodes of the contiguous block right above ``anchor``, top first (decorators may sit
    in between).

    A blank line ends the block, and so does a comment trailing code on its own line.
    """
    nodes: list[Node] = []
    top_row = anchor.start_point[0]
    node = anchor.prev_sibling
    while node is not None:
        if node.type in spec.decorator_kinds:
            top_row = node.start_point[0]
            node = node.prev_sibling
            continue
        if node.type not in spec.comment_kinds or last_line(node) < top_row - 1:
            break
        before = node.prev_sibling
        if before is not None and before.type not in spec.comment_kinds and last_line(before) == node.start_point[0]:
            break
        nodes.append(node)
        top_row = node.start_point[0]
        node = before
    nodes.reverse()
    return nodes


def leading_comment(anchor: Node, spec: LanguageSpec) -> str | None:
    """The cleaned text of the comment block right above ``anchor`` (see ``leading_comment_nodes``)."""
    pieces = [clean_comment(text(node)) for node in leading_comment_nodes(anchor, spec)]
    if not pieces:
        return None
    return inspect.cleandoc("\n".join(pieces)) or None


def decorator_lines(function: Node, anchors: list[Node], spec: LanguageSpec) -> tuple[int, ...]:
    """1-based start lines of decorators / annotations / attributes attached to a function.

    They sit as children of the function or of a wrapper (Python ``decorated_definition``), inside a
    ``modifiers`` child (Java), or as siblings right before the outermost wrapper (Rust, TS members).
    """
    if not spec.decorator_kinds:
        return ()
    kinds = spec.decorator_kinds
    rows: set[int] = set()
    for holder in [function, *anchors]:
        for child in holder.children:
            if child.type in kinds:
                rows.add(child.start_point[0])
            elif child.type == "modifiers":
                rows.update(c.start_point[0] for c in child.children if c.type in kinds)
    sibling = (anchors[-1] if anchors else function).prev_sibling
    while sibling is not None and (sibling.type in kinds or sibling.type in spec.comment_kinds):
        if sibling.type in kinds:
            rows.add(sibling.start_point[0])
        sibling = sibling.prev_sibling
    return tuple(sorted(row + 1 for row in rows))


def remove_span(source: bytes, start: int, end: int) -> tuple[bytes, tuple[int, int]]:
    """Cut ``source[start:end]`` out, and say which bytes went.

    Whole lines go when nothing else shares them; otherwise the text and the spaces / ``;`` right
    after it. Every other byte of the function stays as written (this is the body the model reads).
    """
    line_start = source.rfind(b"\n", 0, start) + 1
    line_end = source.find(b"\n", end)
    line_end = len(source) if line_end == -1 else line_end + 1
    if not source[line_start:start].strip() and not source[end:line_end].strip():
        if line_end == len(source) and line_start > 0:
            line_start -= 1  # the docstring ended the function: do not leave a dangling newline
        return source[:line_start] + source[line_end:], (line_start, line_end)
    tail = end
    while tail < len(source) and source[tail : tail + 1] in (b" ", b"\t", b";"):
        tail += 1
    return source[:start] + source[tail:], (start, tail)
