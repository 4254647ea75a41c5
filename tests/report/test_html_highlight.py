"""The HTML report's lexical highlighter: exact tokens per language, and never a character lost."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codelens.report.highlight import highlight_lines, tokens

LANGUAGES = ["python", "c", "cpp", "java", "javascript", "typescript", "go", "rust", "kotlin"]


def kinds(code: str, language: str) -> list[tuple[str, str]]:
    return [(kind, text) for kind, text in tokens(code, language) if kind]


def test_python_tokens():
    code = '@cache\nasync def f(x=0x1F, *, s=rb"a\\"b"):  # note\n    return f"{x}" if x else None'
    assert kinds(code, "python") == [
        ("d", "@cache"), ("k", "async"), ("k", "def"), ("n", "0x1F"), ("s", 'rb"a\\"b"'), ("c", "# note"),
        ("k", "return"), ("s", 'f"{x}"'), ("k", "if"), ("k", "else"), ("k", "None"),
    ]


def test_python_triple_quoted_string_keeps_its_kind_on_every_line():
    lines = highlight_lines('x = """one\ntwo"""\ny = 1', "python")
    assert lines == [[("", "x = "), ("s", '"""one')], [("s", 'two"""')], [("", "y = "), ("n", "1")]]


def test_unterminated_string_runs_to_the_end_of_the_snippet():
    assert kinds('s = """never closed\nstill string', "python") == [("s", '"""never closed\nstill string')]
    assert kinds("s = 'open\nx = 1", "python") == [("s", "'open"), ("n", "1")]


@pytest.mark.parametrize("language, code, expected", [
    ("javascript", "const s = `a ${b}`; // c\nreturn null;",
     [("k", "const"), ("s", "`a ${b}`"), ("c", "// c"), ("k", "return"), ("k", "null")]),
    ("typescript", "function f(x: number): string { return '1'; }",
     [("k", "function"), ("k", "number"), ("k", "string"), ("k", "return"), ("s", "'1'")]),
    ("go", "func Add(a int) int { /* sum */ return a + 1 }",
     [("k", "func"), ("c", "/* sum */"), ("k", "return"), ("n", "1")]),
    ("rust", "fn f<'a>(s: &'a str) -> char { 'x' }",
     [("k", "fn"), ("s", "'x'")]),
    ("c", '#include <stdio.h>\nint main(void) { printf("%d", 10UL); }',
     [("d", "#include"), ("k", "int"), ("k", "void"), ("s", '"%d"'), ("n", "10UL")]),
    ("java", "@Override public boolean equals(Object o) { return this == o; }",
     [("d", "@Override"), ("k", "public"), ("k", "boolean"), ("k", "return"), ("k", "this")]),
])
def test_c_family_tokens(language, code, expected):
    assert kinds(code, language) == expected


def test_an_unknown_language_is_plain_text():
    assert tokens("fun main() = 1", "kotlin") == [("", "fun main() = 1")]
    assert highlight_lines("a\nb", "kotlin") == [[("", "a")], [("", "b")]]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(list("\"'`#/*\n\\@rbf0x.")), max_size=80),
       st.sampled_from(LANGUAGES))
def test_tokens_give_the_input_back(code, language):
    assert "".join(text for _, text in tokens(code, language)) == code
    assert "\n".join("".join(text for _, text in line) for line in highlight_lines(code, language)) == code
