"""Which functions are test code: by the conventions of each language's test runners.

Test code repeats itself on purpose (one arrange / act / assert per case, table rows spelled out), so a
clone in it is rarely worth a refactoring; CL200 leaves it out unless ``clone-tests`` is on. The rules
read only the path relative to the scan root (and, for Rust, the ``mod tests`` convention), so they cost
nothing and never depend on file contents.
"""

from __future__ import annotations

import re

from codelens.core import CodeUnit

TEST_DIRS = frozenset({"test", "tests", "__tests__", "testdata"})
"""Folder names that hold tests or test data anywhere in a path: Python's ``tests/``, Maven and Gradle's
``src/test/``, Jest's ``__tests__/``, Go's ``testdata/``. ``testing/`` is not one: packages ship test
helpers there as library code (``numpy.testing``)."""

TEST_FILE = re.compile(
    r"""^(?:
        test_[^.]+\.\w+                          # pytest / unittest: test_parser.py; also C: test_list.c
      | [^.]+_(?:test|tests|unittest)\.\w+       # Go foo_test.go, Python foo_test.py, C++ foo_unittest.cc
      | [^.]+\.(?:test|spec)\.[cm]?[jt]sx?       # Jest / Vitest / Jasmine: foo.test.ts, foo.spec.jsx
      | conftest\.py | tests?\.py                # pytest fixtures; Django's tests.py
      | (?:Test[A-Z0-9]\w*|\w+(?:Test|Tests|TestCase|IT))\.java   # JUnit / Surefire / Failsafe names
    )$""",
    re.VERBOSE,
)
"""File names that are tests, whatever folder they sit in."""

RUST_TEST_MODULE = "tests"
"""Rust keeps unit tests in ``#[cfg(test)] mod tests`` inside the file they test."""


def is_test_path(path: str) -> bool:
    """True when ``path`` (relative to the scan root, forward slashes) is a test file by name or folder."""
    *folders, name = path.split("/")
    return bool(TEST_FILE.match(name)) or any(folder in TEST_DIRS for folder in folders)


def is_test_code(unit: CodeUnit) -> bool:
    """True for a function in a test file, or (Rust) inside a ``mod tests``."""
    if is_test_path(unit.path):
        return True
    return unit.language == "rust" and RUST_TEST_MODULE in unit.qualname.split(".")[:-1]
