"""Docstring insertion: exact text per language, byte-identical elsewhere, never breaking the parse."""

from __future__ import annotations

import pytest

from codelens.docstrings import doc_comment, go_comment, plan_docstrings, python_docstring_line, unified_diff
from codelens.parsing import extract_units


def keys(text: str, language: str, path: str = "f") -> dict[str, tuple[str, int]]:
    return {u.qualname: (u.qualname, u.start_line) for u in extract_units(path, text, language).units}


def plan(text: str, language: str, path: str, summaries: dict[str, str], overwrite: bool = False):
    found = keys(text, language, path)
    return plan_docstrings(path, text, language, {found[name]: s for name, s in summaries.items()}, overwrite)


PYTHON = '''import os


@cache
def total(items):
    # running sum
    value = 0
    for item in items:
        value += item
    return value


class Box:
    def size(self,
             unit: str = "cm") -> int:
        return self.width


    def named(self):
        """Already documented."""
        return self.name
'''


def test_python_docstring_goes_first_in_the_body_with_its_indentation():
    result = plan(PYTHON, "python", "m.py", {"total": "returns the total of the items", "Box.size": "Gets the size"})
    assert result.inserted == ["total", "Box.size"] and result.skipped == []
    assert result.updated == PYTHON.replace(
        "def total(items):\n", 'def total(items):\n    """Return the total of the items."""\n').replace(
        '-> int:\n', '-> int:\n        """Get the size."""\n')


def test_existing_docstrings_are_kept_unless_overwrite():
    kept = plan(PYTHON, "python", "m.py", {"Box.named": "return the name"})
    assert not kept.changed and kept.skipped == [("Box.named", "has a docstring (use --overwrite to replace it)")]
    replaced = plan(PYTHON, "python", "m.py", {"Box.named": "return the name"}, overwrite=True)
    assert replaced.replaced == ["Box.named"]
    assert replaced.updated == PYTHON.replace('"""Already documented."""', '"""Return the name."""')


def test_multi_line_docstring_is_replaced_whole():
    text = 'def f(x):\n    """Old.\n\n    More.\n    """\n    return x\n'
    result = plan(text, "python", "m.py", {"f": "Echo x."}, overwrite=True)
    assert result.updated == 'def f(x):\n    """Echo x."""\n    return x\n'


def test_crlf_files_keep_crlf_and_everything_else_is_byte_identical():
    text = PYTHON.replace("\n", "\r\n")
    result = plan(text, "python", "m.py", {"total": "Sum items."})
    assert result.updated == text.replace("def total(items):\r\n", 'def total(items):\r\n    """Sum items."""\r\n')


def test_tabs_and_a_file_without_final_newline():
    text = "def f(a):\n\tif a:\n\t\treturn 1\n\treturn 2"
    result = plan(text, "python", "m.py", {"f": "Pick one."})
    assert result.updated == 'def f(a):\n\t"""Pick one."""\n\tif a:\n\t\treturn 1\n\treturn 2'


def test_body_on_the_def_line_is_skipped():
    result = plan("def f(): return 1\n", "python", "m.py", {"f": "One."})
    assert not result.changed and result.skipped == [("f", "its body is on the def line")]


def test_quotes_and_backslashes_are_escaped():
    assert python_docstring_line('Split on "\\" and """.') == '"""Split on "\\\\" and \\"\\"\\"."""'
    result = plan("def f(p):\n    return p.split('\\\\')\n", "python", "m.py", {"f": 'Split on "\\".'})
    assert extract_units("m.py", result.updated, "python").units[0].docstring == 'Split on "\\".'


def test_unusable_summary_and_unknown_function_are_skipped():
    result = plan_docstrings("m.py", PYTHON, "python", {("total", 5): "  ", ("gone", 1): "Do it."})
    assert not result.changed
    assert sorted(result.skipped) == [("gone", "no such function in the file"), ("total", "no usable summary")]


JS = """import x from 'x';

export function add(a, b) {
  return a + b;
}

class Cart {
  @logged
  total() {
    return 1;
  }
}

const twice = (v) => {
  return v * 2;
};
call(function inline() { return 1; });
"""


def test_javascript_doc_comments_go_above_binding_and_decorators():
    result = plan(JS, "javascript", "a.js", {"add": "Adds two numbers", "Cart.total": "Total", "twice": "Double v",
                                             "inline": "Run inline"})
    assert result.inserted == ["add", "Cart.total", "twice"]
    assert result.skipped == [("inline", "it does not start its line")]
    assert result.updated == (JS.replace("export function add", "/** Add two numbers. */\nexport function add")
                              .replace("  @logged", "  /** Total. */\n  @logged")
                              .replace("const twice", "/** Double v. */\nconst twice"))


@pytest.mark.parametrize("language, path, source, expected", [
    ("go", "m.go", "package m\n\nfunc (c *Cart) Add(v int) int {\n\treturn c.n + v\n}\n",
     "package m\n\n// Add returns the sum.\nfunc (c *Cart) Add(v int) int {\n\treturn c.n + v\n}\n"),
    ("rust", "m.rs", "impl Cart {\n    #[inline]\n    pub fn add(&self) -> i32 {\n        1\n    }\n}\n",
     "impl Cart {\n    /// Return the sum.\n    #[inline]\n    pub fn add(&self) -> i32 {\n        1\n    }\n}\n"),
    ("java", "M.java", "class M {\n    @Override\n    public int add() {\n        return 1;\n    }\n}\n",
     "class M {\n    /** Return the sum. */\n    @Override\n    public int add() {\n        return 1;\n    }\n}\n"),
    ("c", "m.c", "static int add(int a) {\n    return a;\n}\n",
     "/** Return the sum. */\nstatic int add(int a) {\n    return a;\n}\n"),
    ("cpp", "m.cpp", "template <typename T>\nT add(T a) {\n    return a;\n}\n",
     "/** Return the sum. */\ntemplate <typename T>\nT add(T a) {\n    return a;\n}\n"),
    ("typescript", "m.ts", "export const add = (a: number): number => {\n  return a;\n};\n",
     "/** Return the sum. */\nexport const add = (a: number): number => {\n  return a;\n};\n"),
])
def test_doc_comment_forms_per_language(language, path, source, expected):
    name = next(iter(keys(source, language, path)))
    result = plan(source, language, path, {name: "Returns the sum"})
    assert result.updated == expected


def test_existing_doc_comment_replaced_only_with_overwrite():
    text = "/**\n * Old text.\n */\nfunction f(a) {\n  return a;\n}\n"
    assert plan(text, "javascript", "a.js", {"f": "New"}).skipped == [
        ("f", "has a doc comment (use --overwrite to replace it)")]
    result = plan(text, "javascript", "a.js", {"f": "New"}, overwrite=True)
    assert result.updated == "/** New. */\nfunction f(a) {\n  return a;\n}\n"


def test_go_sentence_and_comment_escaping():
    assert go_comment("Parse", "Read and parse the file.") == "// Parse reads and parses the file."
    assert go_comment("Do", "Copy x.") == "// Do copies x."
    assert go_comment("Get", "The HTTP client.") == "// Get the HTTP client."
    assert go_comment("Get", "HTTP client.") == "// Get HTTP client."
    assert doc_comment("java", "f", "Close a */ comment.") == "/** Close a * / comment. */"


def test_result_always_parses_with_the_same_error_count():
    broken = "def ok(a):\n    return a\n\ndef bad(:\n    pass\n"
    before = extract_units("m.py", broken, "python")
    result = plan(broken, "python", "m.py", {"ok": "Echo a."})
    after = extract_units("m.py", result.updated, "python")
    assert result.inserted == ["ok"] and after.error_count == before.error_count
    assert after.units[0].docstring == "Echo a."


def test_unified_diff_shows_only_the_inserted_lines():
    result = plan(PYTHON, "python", "pkg/m.py", {"total": "Sum."})
    diff = unified_diff(result)
    assert diff.startswith("--- a/pkg/m.py\n+++ b/pkg/m.py\n@@ -3,6 +3,7 @@\n")
    assert [line for line in diff.splitlines() if line.startswith(("+", "-"))][2:] == ['+    """Sum."""']
    assert unified_diff(plan(PYTHON, "python", "m.py", {})) == ""


def test_docstring_command_writes_only_where_cl300_asks():
    from codelens.docstrings import wants_docstring

    text = ("__all__ = ['api']\n"
            "def api(x):\n    def closure(y):\n        y = y + 1\n        return y\n    return closure(x)\n"
            "def unlisted(x):\n    x = x + 1\n    return x\n")
    wanted = {u.qualname: wants_docstring(u) for u in extract_units("m.py", text, "python").units}
    assert wanted == {"api": True, "api.closure": False, "unlisted": False}
