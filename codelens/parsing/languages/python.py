"""Python: ``def`` / ``async def`` anywhere; classes and enclosing functions form the qualified name."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from codelens.parsing.spec import LanguageSpec, field_text, text

if TYPE_CHECKING:
    from tree_sitter import Node


def _docstring_statement(function: Node) -> Node | None:
    """The first statement of the body when it is a bare string expression (PEP 257 docstring)."""
    body = function.child_by_field_name("body")
    if body is None:
        return None
    statement = next((c for c in body.named_children if c.type != "comment"), None)
    if statement is None or statement.type != "expression_statement" or statement.named_child_count != 1:
        return None
    if statement.named_children[0].type not in ("string", "concatenated_string"):
        return None
    return statement


_ALL = "__all__"
_ALL_READERS = frozenset({"sort", "index", "count", "copy"})
"""Methods of ``__all__`` that do not change which names it holds."""


def module_exports(root: Node, src: bytes) -> frozenset[str] | None:
    """The names of the module's ``__all__`` when every module-level write to it is literal: ``__all__ =``
    a list, tuple or ``+`` of them holding strings, ``__all__ +=`` one, ``__all__.extend([...])`` and
    ``__all__.append("name")``, also under a module-level ``if`` / ``try`` (all branches count).

    None when the module has no ``__all__``, or computes it (a name, a comprehension, another module's
    ``__all__``): then nothing says a public name is not exported.
    """
    if _ALL.encode() not in src:  # most modules: no tree to look at
        return None
    names: set[str] | None = None
    for statement in _module_statements(root, src):
        write = _all_write(statement.named_children[0]) if statement.named_child_count else None
        if write is None:
            continue
        replace, added = write
        if added is None:
            return None
        names = set(added) if replace or names is None else names | set(added)
    return frozenset(names) if names is not None else None


def _module_statements(node: Node, src: bytes):
    """Expression statements mentioning ``__all__`` at module level, also inside module-level ``if`` /
    ``try`` / ``with``."""
    for child in node.named_children:
        if src.find(b"__all__", child.start_byte, child.end_byte) < 0:
            continue
        if child.type == "expression_statement":
            yield child
        elif child.type in ("if_statement", "try_statement", "with_statement", "block", "else_clause",
                            "elif_clause", "except_clause", "finally_clause"):
            yield from _module_statements(child, src)


def _all_write(expression: Node) -> tuple[bool, list[str] | None] | None:
    """(replaces the old value, names added or None when not literal) for a write to ``__all__``; None
    when ``expression`` does not write it."""
    kind = expression.type
    if kind in ("assignment", "augmented_assignment"):
        left, right = expression.child_by_field_name("left"), expression.child_by_field_name("right")
        if left is None or left.type != "identifier" or text(left) != _ALL or right is None:
            return None
        if kind == "augmented_assignment":
            operator = expression.child_by_field_name("operator")
            return False, _literal_names(right) if operator is not None and operator.type == "+=" else None
        own = right.type == "binary_operator" and text(right.child_by_field_name("left")) == _ALL
        return not own, _literal_names(right.child_by_field_name("right") if own else right)
    if kind != "call":
        return None
    function = expression.child_by_field_name("function")
    target = function.child_by_field_name("object") if function is not None and function.type == "attribute" else None
    if target is None or target.type != "identifier" or text(target) != _ALL:
        return None
    method = text(function.child_by_field_name("attribute"))
    arguments = [a for a in expression.child_by_field_name("arguments").named_children if a.type != "comment"]
    if method in _ALL_READERS:
        return None
    if method == "extend" and len(arguments) == 1:
        return False, _literal_names(arguments[0])
    if method == "append" and len(arguments) == 1 and arguments[0].type in ("string", "concatenated_string"):
        return False, _string(arguments[0])
    return False, None


_PLAIN_NAME = re.compile(r"""(["'])(\w+)\1""")


def _string(node: Node) -> list[str] | None:
    """``[value]`` of a plain string literal; None for an f-string or bytes."""
    literal = text(node)
    plain = _PLAIN_NAME.fullmatch(literal)
    if plain is not None:  # nearly every entry: a quoted name, no literal_eval needed
        return [plain.group(2)]
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return [value] if isinstance(value, str) else None


def _literal_names(node: Node | None) -> list[str] | None:
    """The strings of a literal list / tuple of strings (or a ``+`` of such), else None."""
    if node is None:
        return None
    if node.type == "parenthesized_expression":
        inner = [c for c in node.named_children if c.type != "comment"]
        return _literal_names(inner[0]) if len(inner) == 1 else None
    if node.type in ("list", "tuple"):
        names: list[str] = []
        for item in node.named_children:
            found = _string(item) if item.type in ("string", "concatenated_string") else None
            if item.type != "comment" and found is None:
                return None
            names += found or []
        return names
    if node.type == "binary_operator" and text(node.child_by_field_name("operator")) == "+":
        left = _literal_names(node.child_by_field_name("left"))
        right = _literal_names(node.child_by_field_name("right"))
        return left + right if left is not None and right is not None else None
    return None


STUB_DECORATORS = frozenset({"overload", "abstractmethod", "abstractproperty", "abstractclassmethod",
                             "abstractstaticmethod"})
"""Decorators (by their last dotted name, ``typing.overload`` too) of functions that declare a signature
another function implements."""
PROTOCOL_BASES = frozenset({"Protocol"})
"""Bases that make a class an interface (``typing.Protocol``, ``Protocol[T]``): its methods are declarations."""


def stub_function(function: Node) -> bool:
    """Whether ``function`` declares rather than implements (``CodeUnit.stub``): decorated with one of
    ``STUB_DECORATORS``, a method of a class with a ``PROTOCOL_BASES`` base, or a body of nothing but a
    docstring, ``...``, ``pass`` and ``raise NotImplementedError``."""
    holder = function.parent if function.parent is not None and function.parent.type == "decorated_definition" \
        else None
    if holder is not None and any(_last_name(d.named_children[0]) in STUB_DECORATORS
                                  for d in holder.children if d.type == "decorator" and d.named_child_count):
        return True
    block = (holder or function).parent
    owner = block.parent if block is not None and block.type == "block" else None
    if owner is not None and owner.type == "class_definition":
        bases = owner.child_by_field_name("superclasses")
        if bases is not None and any(_last_name(base) in PROTOCOL_BASES for base in bases.named_children):
            return True
    body = function.child_by_field_name("body")
    statements = [c for c in body.named_children if c.type != "comment"] if body is not None else []
    return bool(statements) and all(_placeholder(statement) for statement in statements)


def _last_name(expression: Node) -> str:
    """``overload`` of ``overload``, ``typing.overload``, ``overload()`` or ``Protocol[T]``; "" otherwise."""
    while expression.type in ("call", "subscript"):
        inner = expression.child_by_field_name("function" if expression.type == "call" else "value")
        if inner is None:
            return ""
        expression = inner
    if expression.type == "attribute":
        expression = expression.child_by_field_name("attribute") or expression
    return text(expression) if expression.type == "identifier" else ""


def _placeholder(statement: Node) -> bool:
    """A statement that stands for a body not written: ``...``, ``pass``, a string (the docstring),
    ``raise NotImplementedError`` (with or without arguments)."""
    if statement.type == "pass_statement":
        return True
    if statement.type == "expression_statement" and statement.named_child_count == 1:
        return statement.named_children[0].type in ("ellipsis", "string", "concatenated_string")
    if statement.type == "raise_statement" and statement.named_child_count >= 1:
        return _last_name(statement.named_children[0]) == "NotImplementedError"
    return False


STATEMENT_KINDS = frozenset(
    {"assert_statement", "break_statement", "continue_statement", "delete_statement", "exec_statement",
     "expression_statement", "for_statement", "future_import_statement", "global_statement", "if_statement",
     "import_from_statement", "import_statement", "match_statement", "nonlocal_statement", "pass_statement",
     "print_statement", "raise_statement", "return_statement", "try_statement", "type_alias_statement",
     "while_statement", "with_statement"}
)
"""Simple and compound statements; ``elif`` / ``else`` / ``except`` clauses are parts of theirs."""


SPEC = LanguageSpec(
    name="python",
    module="tree_sitter_python",
    extensions=(".py", ".pyi"),
    function_kinds=frozenset({"function_definition"}),
    function_name=lambda node: field_text(node, "name"),
    container_kinds=frozenset({"class_definition"}),
    container_name=lambda node: field_text(node, "name"),
    comment_prefix="#",
    comment_kinds=frozenset({"comment"}),
    literal_kinds=frozenset({"string", "concatenated_string", "integer", "float"}),
    ignored_kinds=frozenset({"line_continuation"}),
    statement_kinds=STATEMENT_KINDS,
    anchor_kinds=frozenset({"decorated_definition"}),
    decorator_kinds=frozenset({"decorator"}),
    docstring=_docstring_statement,
    module_exports=module_exports,
    stub=stub_function,
    significant_indentation=True,
)
