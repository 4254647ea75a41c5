"""Small helpers over tree-sitter nodes shared by the language specs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from tree_sitter import Node


def text(node: Node | None) -> str:
    """The node's source text (empty for None); invalid UTF-8 is replaced, never raised."""
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def field_text(node: Node, name: str) -> str | None:
    """Text of the child in field ``name``, or None when the field is absent or empty."""
    child = node.child_by_field_name(name)
    value = text(child).strip()
    return value or None


def first_descendant(node: Node | None, kinds: Iterable[str]) -> Node | None:
    """The first node (pre-order, including ``node``) whose kind is in ``kinds``."""
    wanted = frozenset(kinds)
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if current.type in wanted:
            return current
        stack.extend(reversed(current.named_children))
    return None


def last_line(node: Node) -> int:
    """0-based row of the node's last character (a token ending in a newline ends on the row before)."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point[0] else row
