"""The docstring under each field of a dataclass: the one description a setting has.

Config dataclasses document each field with a string literal below it (as in ``ScanConfig``); command
lines built from them (``codelens scan``, ``codelens train``, ``python -m training.pretrain``) take their
help text from here, so a setting is described once.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from functools import lru_cache


@lru_cache(maxsize=None)
def field_docs(cls: type) -> dict[str, str]:
    """Field name -> its docstring with whitespace folded, for every documented field of ``cls`` and of the
    classes it extends (``ScanConfig``'s model settings are ``ModelOptions``'); a field declared again
    below takes the lower docstring."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__[:-1]):  # object has no fields
        docs.update(_own_docs(klass))
    return docs


def _own_docs(cls: type) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source at hand (a frozen build): help without descriptions
        return {}
    body = ast.parse(source).body[0].body
    docs = {}
    for node, after in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs
