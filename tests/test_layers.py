"""The import graph goes one way: no module imports a higher layer, and none imports another's private name.

Function-level (lazy) imports count too: they are how heavy or higher code is reached, and a lazy import
upwards is still a cycle waiting to happen.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYERS = [
    {"codelens.core", "codelens.choices", "codelens.errors", "codelens.escapes", "codelens.field_docs",
     "codelens.files", "codelens.__version__"},
    {"codelens.findings"},
    {"codelens.rules"},
    {"codelens.parsing", "codelens.cache", "codelens.gitscope", "codelens.model"},
    {"codelens.discovery", "codelens.config", "codelens.settings", "codelens.baseline"},
    {"codelens.engine", "codelens.tasks", "codelens.suppressions"},
    {"codelens.docstrings", "codelens.report", "codelens.train", "codelens.train_config", "codelens.server",
     "codelens.decide"},
    {"codelens.scan"},
    {"codelens.cli"},
]
"""Lowest first. A unit is a top-level module or package of codelens."""


def _unit(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _layer(unit: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "codelens":
            if node.module == "codelens":
                yield from ((f"codelens.{alias.name}", alias.name) for alias in node.names)
            else:
                yield from ((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from ((alias.name, "") for alias in node.names if alias.name.startswith("codelens."))


def _modules():
    for path in sorted((ROOT / "codelens").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        yield path, module


def test_every_unit_has_a_layer():
    units = {_unit(module) for _, module in _modules()} - {"codelens"}
    assert units <= set().union(*LAYERS), sorted(units - set().union(*LAYERS))


def test_no_import_reaches_a_higher_layer():
    upward = []
    for path, module in _modules():
        if module == "codelens":
            continue
        source = _unit(module)
        for target, _ in _imports(path):
            if _unit(target) != source and _layer(_unit(target)) > _layer(source):
                upward.append(f"{module} imports {target}")
    assert not upward


def test_no_private_name_is_imported_from_another_module():
    private = [f"{module} imports {target}.{name}" for path, module in _modules()
               for target, name in _imports(path)
               if name.startswith("_") and not name.startswith("__") and target != module]
    assert not private
