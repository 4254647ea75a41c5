"""Language registry: a plain dict from language key to a small ``LanguageSpec``.

Grammars are imported lazily (the first time a file of that language is parsed) and parsers are
cached per process, so importing this module costs nothing and worker processes build their own.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from codelens.errors import CodelensError
from codelens.parsing.spec import LanguageSpec

if TYPE_CHECKING:
    from tree_sitter import Language, Parser


def _specs() -> dict[str, LanguageSpec]:
    from codelens.parsing.languages import c, cpp, go, java, javascript, python, rust, typescript

    modules = (python, javascript, typescript, java, go, c, cpp, rust)
    return {m.SPEC.name: m.SPEC for m in modules}


LANGUAGES: dict[str, LanguageSpec] = _specs()
"""Every supported language, by key."""

EXTENSIONS: dict[str, str] = {ext: spec.name for spec in LANGUAGES.values() for ext in spec.extensions}
"""File suffix (lower case, with the dot) -> language key."""


def suffix(path: str | PurePosixPath) -> str:
    """``PurePosixPath(path).suffix.lower()``, without building a path for the usual ``dir/name``.

    Discovery asks this of every directory entry and extraction of every file, so it matters.
    """
    name = path.rpartition("/")[2] if isinstance(path, str) else ""
    if not name or name == ".":  # "", "a/", "a/.": let pathlib normalise the path
        name = PurePosixPath(path).name
    dot = name.rfind(".")
    return name[dot:].lower() if 0 < dot < len(name) - 1 else ""


def language_for_path(path: str | PurePosixPath) -> str | None:
    """The language of a file by its suffix, or None when codelens does not parse it."""
    return EXTENSIONS.get(suffix(path))


def get_spec(language: str) -> LanguageSpec:
    """The spec for a language key; an unknown key is a usage error."""
    try:
        return LANGUAGES[language]
    except KeyError:
        known = ", ".join(sorted(LANGUAGES))
        raise CodelensError(f"unsupported language {language!r}", hint=f"use one of: {known}") from None


def grammar_name(spec: LanguageSpec, rel: str) -> str:
    """Which grammar function of the spec's module parses the file ``rel``."""
    return spec.grammar_by_suffix.get(suffix(rel), spec.default_grammar)


@lru_cache(maxsize=None)
def load_language(module: str, function: str) -> Language:
    """Import a grammar package and build its ``Language`` (once per process)."""
    from tree_sitter import Language

    try:
        grammar = importlib.import_module(module)
    except ImportError as exc:
        raise CodelensError(
            f"the tree-sitter grammar {module!r} is not installed",
            hint=f"pip install {module.replace('_', '-')}",
        ) from exc
    return Language(getattr(grammar, function)())


@lru_cache(maxsize=None)
def get_parser(module: str, function: str) -> Parser:
    """A parser for one grammar, cached per process (parsers are not shared across processes)."""
    from tree_sitter import Parser

    return Parser(load_language(module, function))
