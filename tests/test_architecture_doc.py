"""docs/architecture.md names real code: every dotted name it gives (``scan.run_scan``,
``codelens.model.forward.score_functions``, ``training.study``) is a module, or a module's attribute, that exists.

A renamed function would otherwise leave the newcomer's map pointing at nothing.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import codelens

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
TOP = {m.name for m in pkgutil.iter_modules(codelens.__path__)}
"""codelens' own modules and packages: the doc names most code relative to the package."""
DOTTED = re.compile(r"(?<![\w./-])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?![\w/-])")


def named() -> list[str]:
    """The dotted names of the doc that start at codelens, one of its modules, or the training recipes."""
    text = DOC.read_text(encoding="utf-8")
    names = {m.group(1) for m in DOTTED.finditer(text)}
    return sorted(n for n in names if n.split(".")[0] in TOP | {"codelens", "training"}
                  and not n.endswith((".md", ".py", ".json", ".toml", ".txt", ".png")))


def resolve(name: str) -> object:
    """The object ``name`` stands for: the longest importable module prefix, then attributes."""
    parts = name.split(".")
    if parts[0] not in ("codelens", "training"):
        parts.insert(0, "codelens")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            found = getattr(found, attr)  # AttributeError: the doc names something that is not there
        return found
    raise ModuleNotFoundError(name)


def test_the_doc_names_enough_code_to_be_checked():
    assert len(named()) >= 30


@pytest.mark.parametrize("name", named())
def test_every_dotted_name_in_the_architecture_doc_exists(name):
    try:
        resolve(name)
    except (ModuleNotFoundError, AttributeError) as exc:
        pytest.fail(f"docs/architecture.md names {name}, which does not exist ({exc})")
