"""A small lexical highlighter for the HTML report: code text in, lines of (kind, text) tokens out.

Regular expressions, not a parser: a report shows a few lines of many functions, and a wrong colour on an odd
literal costs nothing, while a new runtime dependency (Pygments) would. Python and the C family (C, C++, Java,
JavaScript, TypeScript, Go, Rust) are known; any other language comes back as plain text. Joining the tokens
of every line with newlines gives the input back, character for character.
"""

from __future__ import annotations

import re
from functools import lru_cache

KEYWORD, STRING, COMMENT, NUMBER, DECORATOR, PLAIN = "k", "s", "c", "n", "d", ""
"""Token kinds: the CSS class each gets in the page (plain text gets none)."""

Token = tuple[str, str]
"""(kind, text) with text on one line."""

_PYTHON_KEYWORDS = (
    "False None True and as assert async await break case class continue def del elif else except finally for "
    "from global if import in is lambda match nonlocal not or pass raise return self try type while with yield"
)
_C_FAMILY_KEYWORDS = {
    "c": "auto break case char const continue default do double else enum extern float for goto if inline int long "
         "register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while "
         "NULL bool true false",
    "cpp": "auto bool break case catch char class const constexpr continue default delete do double else enum "
           "explicit extern false float for friend goto if inline int long mutable namespace new noexcept nullptr "
           "operator private protected public return short signed sizeof static struct switch template this throw "
           "true try typedef typename union unsigned using virtual void volatile while override final",
    "java": "abstract assert boolean break byte case catch char class const continue default do double else enum "
            "extends final finally float for if implements import instanceof int interface long native new null "
            "package private protected public return short static super switch synchronized this throw throws try "
            "void volatile while true false var record yield",
    "javascript": "async await break case catch class const continue debugger default delete do else export extends "
                  "false finally for function if import in instanceof let new null of return static super switch "
                  "this throw true try typeof undefined var void while with yield",
    "go": "break case chan const continue default defer else fallthrough for func go goto if import interface map "
          "package range return select struct switch type var nil true false",
    "rust": "as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod "
            "move mut pub ref return self Self static struct super trait true type unsafe use where while",
}
_C_FAMILY_KEYWORDS["typescript"] = (_C_FAMILY_KEYWORDS["javascript"] + " abstract any as boolean declare enum "
                                    "implements interface keyof namespace number private protected public readonly "
                                    "string type unknown never")

_NUMBER = r"\b(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*\.?[\d_]*(?:[eE][+-]?\d+)?)[a-zA-Z]*\b"
_PYTHON = (
    rf"(?P<c>\#[^\n]*)"
    rf"|(?P<s>(?i:[rbuf]{{0,2}})(?:\"\"\"[\s\S]*?(?:\"\"\"|\Z)|'''[\s\S]*?(?:'''|\Z)"
    rf"|\"(?:\\.|[^\"\\\n])*(?:\"|$)|'(?:\\.|[^'\\\n])*(?:'|$)))"
    rf"|(?P<n>{_NUMBER})"
    rf"|(?P<d>@[\w.]+)"
    rf"|(?P<w>[^\W\d]\w*)"
)
_C_FAMILY = (
    r"(?P<c>//[^\n]*|/\*[\s\S]*?(?:\*/|\Z))"
    r"|(?P<s>\"(?:\\.|[^\"\\\n])*(?:\"|$)|'(?:\\.|[^'\\\n])*(?:'|$)|`(?:\\.|[^`\\])*(?:`|\Z))"
    rf"|(?P<n>{_NUMBER})"
    r"|(?P<d>@[\w.]+|\#\s*\w+)"
    r"|(?P<w>[^\W\d]\w*)"
)


@lru_cache(maxsize=None)
def _lexer(language: str) -> tuple[re.Pattern[str], frozenset[str]] | None:
    if language == "python":
        return re.compile(_PYTHON, re.MULTILINE), frozenset(_PYTHON_KEYWORDS.split())
    words = _C_FAMILY_KEYWORDS.get(language)
    if words is None:
        return None
    # Rust's lifetimes ('a) and char literals share a quote: a lifetime is a name, not an open string.
    pattern = _C_FAMILY.replace(r"|'(?:\\.|[^'\\\n])*(?:'|$)", r"|'(?:\\.|[^'\\\n])'") if language == "rust" else _C_FAMILY
    return re.compile(pattern, re.MULTILINE), frozenset(words.split())


def tokens(code: str, language: str) -> list[Token]:
    """``code`` cut into (kind, text) tokens; text between the tokens found is PLAIN."""
    lexer = _lexer(language)
    if lexer is None:
        return [(PLAIN, code)] if code else []
    pattern, keywords = lexer
    out: list[Token] = []
    at = 0
    for match in pattern.finditer(code):
        kind = match.lastgroup or PLAIN
        text = match.group()
        if kind == "w":
            kind = KEYWORD if text in keywords else PLAIN
        if match.start() > at:
            _add(out, PLAIN, code[at:match.start()])
        _add(out, kind, text)
        at = match.end()
    if at < len(code):
        _add(out, PLAIN, code[at:])
    return out


def _add(out: list[Token], kind: str, text: str) -> None:
    if kind == PLAIN and out and out[-1][0] == PLAIN:
        out[-1] = (PLAIN, out[-1][1] + text)  # names and the text around them: one run
    else:
        out.append((kind, text))


def highlight_lines(code: str, language: str) -> list[list[Token]]:
    """The tokens of ``code`` line by line (split on ``\\n``; a string or comment over several lines keeps its
    kind on each), one list per line, ``code.split("\\n")`` long."""
    lines: list[list[Token]] = [[]]
    for kind, text in tokens(code, language):
        parts = text.split("\n")
        for index, part in enumerate(parts):
            if index:
                lines.append([])
            if part:
                lines[-1].append((kind, part))
    return lines
