"""Parse-level facts the rules read: statement counts, nesting in a function, and module exports."""

from __future__ import annotations

import pytest

from codelens.parsing import extract_units


def facts(text: str, rel: str = "m.py", language: str = "python") -> dict[str, tuple]:
    return {u.qualname: (u.statements, u.nested_in_function, u.exported)
            for u in extract_units(rel, text, language).units}


def test_python_statements_count_nested_ones_but_not_the_docstring():
    text = (
        "def f(items):\n"
        '    """Sum the items."""\n'
        "    total = 0  # a comment is not a statement\n"
        "    for item in items:\n"
        "        if item:\n"
        "            total += item\n"
        "        else:\n"
        "            pass\n"
        "    def helper():\n"
        "        return 1\n"
        "    return total\n"
    )
    got = facts(text)
    # total =, for, if, total +=, pass, return 1 (inside helper), return total: clauses and defs are not
    assert got["f"][0] == 7
    assert got["f.helper"][0] == 1


def test_one_line_predicate_is_one_statement():
    text = "def match(command):\n    return ('git' in command.script\n            and 'push' in command.output)\n"
    assert facts(text)["match"][0] == 1


def test_nested_functions_and_methods_of_nested_classes():
    text = (
        "def outer():\n    def inner():\n        pass\n    class Local:\n        def method(self):\n"
        "            pass\n    return inner\n\n"
        "class Top:\n    def method(self):\n        pass\n"
    )
    got = facts(text)
    assert got["outer"][1:] == (False, None)
    assert got["outer.inner"][1] is True and got["outer.Local.method"][1] is True
    assert got["Top.method"][1:] == (False, None)  # no __all__: the module does not say


EXPORTS = (
    "__all__ = ['listed', \"Klass\"]\n"
    "__all__ += ('added',)\n"
    "if FLAG:\n"
    "    __all__.append('conditional')\n"
    "__all__.extend(['extended'])\n"
    "def listed():\n    pass\n"
    "def unlisted():\n    pass\n"
    "def added():\n    pass\n"
    "def conditional():\n    pass\n"
    "def extended():\n    pass\n"
    "class Klass:\n    def method(self):\n        pass\n"
    "class Other:\n    def method(self):\n        pass\n"
)


def test_literal_all_decides_exported_for_functions_and_methods_of_listed_classes():
    got = {name: exported for name, (_, _, exported) in facts(EXPORTS).items()}
    assert got == {"listed": True, "unlisted": False, "added": True, "conditional": True, "extended": True,
                   "Klass.method": True, "Other.method": False}


@pytest.mark.parametrize("header, expected", [
    ("", None),  # no __all__
    ("__all__ = [name for name in dir() if not name.startswith('_')]\n", None),  # computed
    ("__all__ = ['a']\n__all__ += other.__all__\n", None),  # augmented with something computed
    ("__all__ = ['a'] + ['f']\n", True),  # a sum of literals is a literal
    ("__all__ = ['a']\n__all__ = __all__ + ['f']\n", True),
    ("__all__: list[str] = []\n", False),  # an annotated, empty __all__ exports nothing
    ("__all__ = ('a',)\n", False),
    ("__all__ = 'f'\n", None),  # a string is not a list of names
    ("# __all__ is mentioned in a comment only\n", None),
])
def test_all_forms(header, expected):
    assert facts(header + "def f():\n    pass\n")["f"][2] is expected


def test_go_exports_capitalised_names_and_counts_statements():
    text = ("package p\n\nfunc Exported(x int) int {\n\ty := x + 1\n\tif y > 2 {\n\t\treturn y\n\t}\n\treturn 0\n}\n\n"
            "func hidden() {}\n\nfunc (r *T) Method() {}\n\nfunc (r *T) method() {}\n")
    got = facts(text, "p.go", "go")
    assert got["Exported"] == (4, False, True)  # y :=, if, return y, return 0 (parameters are not statements)
    assert got["hidden"] == (0, False, False)
    assert got["T.Method"][2] is True and got["T.method"][2] is False


@pytest.mark.parametrize("rel, language, text, count", [
    ("a.js", "javascript", "function f(a) {\n  const b = a + 1;\n  if (b) { return b; }\n  return 0;\n}\n", 4),
    ("a.java", "java", "class A {\n  int f(int a) {\n    int b = a + 1;\n    return b;\n  }\n}\n", 2),
    ("a.c", "c", "int f(int a) {\n  int b = a + 1;\n  for (;;) { b++; }\n  return b;\n}\n", 4),
    ("a.rs", "rust", "fn f(a: i32) -> i32 {\n    let b = a + 1;\n    b * 2\n}\n", 1),  # the tail is no statement
])
def test_statements_in_other_languages(rel, language, text, count):
    (statements, nested, exported), = facts(text, rel, language).values()
    assert (statements, nested, exported) == (count, False, None)
