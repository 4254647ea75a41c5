"""Insert one-line docstrings into source text: the edit behind `codelens docstring`.

Pure text in, text out: given a file's text and a summary per function, ``plan_docstrings`` returns the
new text, and ``unified_diff`` shows the change. Where the text goes, per language:

- Python: ``\"\"\"Summary.\"\"\"`` as the first statement of the body, indented like the body, on the line
  right after the ``def ...:`` line (comments before the first statement stay below it).
- JavaScript, TypeScript, Java, C, C++: ``/** Summary. */`` on its own line above the function (above
  its decorators / annotations and the statement that binds a function value), indented like it.
- Go: ``// Name summary.`` (the Go convention: the comment starts with the function's name and reads
  in the third person, "Add returns the sum.").
- Rust: ``/// Summary.`` above the function and its attributes.

Every other byte stays as it was: line endings (LF or CRLF) follow the line the text is inserted at,
no line is reflowed, and nothing else moves. A function that already has a docstring keeps it unless
``overwrite`` is set; then the old docstring / doc comment lines are replaced, when they stand on lines
of their own. Functions where a one-line insertion cannot be placed cleanly (a body on the ``def``
line, a function that does not start its line) are skipped with a reason. The result is parsed again:
if it has more syntax errors, fewer functions or not the expected docstrings, the file is left as it was.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

from codelens.escapes import git_quote
from codelens.tasks.summary import pep257_summary

if TYPE_CHECKING:
    from tree_sitter import Node

    from codelens.core import CodeUnit
    from codelens.parsing.spec import LanguageSpec

BLOCK_COMMENT_LANGUAGES = frozenset({"javascript", "typescript", "java", "c", "cpp"})
_NOT_VERBS = frozenset({"a", "an", "the", "this", "that", "these", "those", "if", "when", "for", "in", "on", "of",
                        "to", "with", "all", "each", "every", "no", "not", "its", "their", "whether", "how", "what"})
_IRREGULAR = {"be": "is", "have": "has", "do": "does", "go": "goes"}

UnitKey = tuple[str, int]
"""(qualified name, first line) of a function: how summaries are matched to functions."""


@dataclass
class DocstringPlan:
    """What inserting docstrings into one file does."""

    path: str
    original: str
    updated: str
    inserted: list[str] = field(default_factory=list)
    """Qualified names that got a docstring where they had none."""
    replaced: list[str] = field(default_factory=list)
    """Qualified names whose existing docstring was replaced (``overwrite``)."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(qualified name, reason) of functions left alone."""

    @property
    def changed(self) -> bool:
        return self.updated != self.original


@dataclass(frozen=True)
class _Edit:
    qualname: str
    row: int
    """0-based line the new text goes before (or the first line it replaces)."""
    text: str
    replaces: int = 0
    """How many existing lines the text replaces."""


def _lines(text: str) -> list[str]:
    """Lines with their endings, split on LF only (tree-sitter's rows; CR stays in the ending)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _ending(line: str, fallback: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    return "\n" if line.endswith("\n") else fallback


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _printable(summary: str) -> str:
    return "".join(ch for ch in summary if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))


def python_docstring_line(summary: str) -> str:
    """``\"\"\"Summary.\"\"\"`` with backslashes and quote runs escaped so the literal stays one string."""
    body = _printable(summary).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if body.endswith('"'):
        body = body[:-1] + '\\"'
    return f'"""{body}"""'


def go_comment(name: str, summary: str) -> str:
    """``// Name verbs ...``: the imperative summary turned into Go's third-person doc sentence."""
    words = _printable(summary).split(" ")
    first = words[0]
    if first and not (len(first) > 1 and first[1].isupper()):  # leave acronyms (HTTP, URL) alone
        words[0] = first[0].lower() + first[1:]
        if first.isalpha() and first.lower() not in _NOT_VERBS:
            words[0] = _third_person(words[0])
            if len(words) > 2 and words[1] == "and" and words[2].isalpha():
                words[2] = _third_person(words[2])
    return f"// {name} {' '.join(words)}"


def _third_person(verb: str) -> str:
    lower = verb.lower()
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if lower.endswith(("s", "x", "z", "ch", "sh", "o")):
        return verb + "es"
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def doc_comment(language: str, qualname: str, summary: str) -> str:
    """The doc comment line (without indentation or newline) for a non-Python function."""
    if language == "go":
        return go_comment(re.split(r"[.:]+", qualname)[-1], summary)
    if language == "rust":
        return f"/// {_printable(summary)}"
    if language in BLOCK_COMMENT_LANGUAGES:
        return f"/** {_printable(summary).replace('*/', '* /')} */"
    raise ValueError(f"no doc comment form for {language}")


def _function_node(root: Node, unit: CodeUnit, spec: LanguageSpec) -> Node | None:
    node = root.descendant_for_byte_range(unit.span.start_byte, unit.span.end_byte)
    while node is not None and not (node.type in spec.function_kinds and node.start_byte == unit.span.start_byte
                                    and node.end_byte == unit.span.end_byte):
        node = node.parent
    return node


def _line_prefix(src: bytes, node: Node) -> bytes:
    return src[src.rfind(b"\n", 0, node.start_byte) + 1: node.start_byte]


def _python_edit(node: Node, unit: CodeUnit, spec: LanguageSpec, lines: list[str], src: bytes, summary: str,
                 overwrite: bool, nl: str) -> _Edit | str:
    body = node.child_by_field_name("body")
    first = next((c for c in body.named_children if c.type != "comment"), None) if body is not None else None
    colon = next((c for c in reversed(node.children) if c.type == ":"), None)
    if first is None or colon is None:
        return "no body to put a docstring in"
    statement = spec.docstring(node)
    if statement is not None and unit.has_docstring:
        if not overwrite:
            return "has a docstring (use --overwrite to replace it)"
        start, end = statement.start_point[0], statement.end_point[0]
        line_end = src.find(b"\n", statement.end_byte)
        after = src[statement.end_byte: None if line_end < 0 else line_end]
        if _line_prefix(src, statement).strip() or after.strip(b" \t\r;"):
            return "its docstring shares a line with code"
        text = _indent(lines[start]) + python_docstring_line(summary) + _ending(lines[end], nl)
        return _Edit(unit.qualname, start, text, end - start + 1)
    if first.start_point[0] == colon.end_point[0]:
        return "its body is on the def line"
    row = colon.end_point[0] + 1
    text = _indent(lines[first.start_point[0]]) + python_docstring_line(summary) + _ending(lines[row - 1], nl)
    return _Edit(unit.qualname, row, text)


def _comment_rows(top: Node, spec: LanguageSpec, src: bytes) -> tuple[int, int] | None:
    """Rows of the doc comment block right above ``top``, as the parser reads it for the unit's docstring;
    None when there is none or its first comment does not start its line."""
    from codelens.parsing.docs import leading_comment_nodes
    from codelens.parsing.spec import last_line

    nodes = leading_comment_nodes(top, spec)
    if not nodes or _line_prefix(src, nodes[0]).strip():
        return None
    return nodes[0].start_point[0], last_line(nodes[-1])


def _comment_edit(node: Node, unit: CodeUnit, spec: LanguageSpec, lines: list[str], src: bytes, summary: str,
                  overwrite: bool, nl: str) -> _Edit | str:
    top = node
    while top.parent is not None and top.parent.type in spec.anchor_kinds:
        top = top.parent
    comment = doc_comment(spec.name, unit.qualname, summary)
    if unit.has_docstring:
        if not overwrite:
            return "has a doc comment (use --overwrite to replace it)"
        rows = _comment_rows(top, spec, src)
        if rows is None:
            return "its doc comment shares a line with code"
        start, end = rows
        if end >= top.start_point[0]:
            return "its doc comment shares a line with code"
        return _Edit(unit.qualname, start, _indent(lines[start]) + comment + _ending(lines[end], nl), end - start + 1)
    row = min((top.start_point[0], *(line - 1 for line in unit.decorator_lines)))
    if row == top.start_point[0] and _line_prefix(src, top).strip():
        return "it does not start its line"
    return _Edit(unit.qualname, row, _indent(lines[row]) + comment + _ending(lines[row], nl))


def plan_docstrings(path: str, text: str, language: str, summaries: Mapping[UnitKey, str],
                    overwrite: bool = False) -> DocstringPlan:
    """Insert the summaries (keyed by (qualname, first line), rewritten in PEP 257 form) into ``text``."""
    from codelens.parsing import extract_units
    from codelens.parsing.registry import get_parser, get_spec, grammar_name

    plan = DocstringPlan(path, text, text)
    before = extract_units(path, text, language)
    units = {(u.qualname, u.start_line): u for u in before.units}
    spec = get_spec(language)
    src = text.encode("utf-8", "surrogatepass")
    root = get_parser(spec.module, grammar_name(spec, path)).parse(src).root_node
    lines = _lines(text)
    nl = _ending(lines[0], "\n") if lines else "\n"
    edits: dict[int, _Edit] = {}
    for key, raw in sorted(summaries.items(), key=lambda item: (item[0][1], item[0][0])):
        unit = units.get(key)
        summary = pep257_summary(raw)
        node = _function_node(root, unit, spec) if unit is not None else None
        if node is None or summary is None:
            plan.skipped.append((key[0], "no such function in the file" if node is None else "no usable summary"))
            continue
        if spec.docstring is not None:
            edit = _python_edit(node, unit, spec, lines, src, summary, overwrite, nl)
        else:
            edit = _comment_edit(node, unit, spec, lines, src, summary, overwrite, nl)
        if isinstance(edit, str):
            plan.skipped.append((unit.qualname, edit))
        elif edit.row in edits:
            plan.skipped.append((unit.qualname, "shares its line with another function"))
        else:
            edits[edit.row] = edit
    new_lines = list(lines)
    for row in sorted(edits, reverse=True):  # bottom up, so earlier rows keep their numbers
        edit = edits[row]
        new_lines[row: row + edit.replaces] = [edit.text]
    updated = "".join(new_lines)
    inserted = [e.qualname for e in sorted(edits.values(), key=lambda e: e.row) if not e.replaces]
    replaced = [e.qualname for e in sorted(edits.values(), key=lambda e: e.row) if e.replaces]
    after = extract_units(path, updated, language)
    documented = sum(u.has_docstring for u in after.units) - sum(u.has_docstring for u in before.units)
    if after.error_count > before.error_count or len(after.units) != len(before.units) or documented != len(inserted):
        plan.skipped += [(name, "the edited file did not parse as expected; left unchanged")
                         for name in inserted + replaced]
        return plan
    plan.updated, plan.inserted, plan.replaced = updated, inserted, replaced
    return plan


def unified_diff(plan: DocstringPlan, context: int = 3, first_line_prefix: str = "") -> str:
    """The change as a unified diff with ``a/`` and ``b/`` prefixes (empty when nothing changed).

    Line endings are shown as they are in the file (CR before LF stays), like ``git diff`` does.
    ``first_line_prefix`` is text the file holds before ``plan``'s text (a byte-order mark). A file name
    holding quotes, backslashes, control or bidi characters is quoted as git quotes it (``"a/x\\033.py"``),
    so the header neither drives a terminal nor misleads ``git apply``.
    """
    if not plan.changed:
        return ""
    diff = difflib.unified_diff(_lines(first_line_prefix + plan.original), _lines(first_line_prefix + plan.updated),
                                git_quote(f"a/{plan.path}"), git_quote(f"b/{plan.path}"), n=context)
    out = []
    for line in diff:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def wants_docstring(unit: CodeUnit, overwrite: bool = False, min_lines: int | None = None) -> bool:
    """Whether `codelens docstring` writes one for ``unit``: the functions CL300 asks about (public and
    at least ``MIN_DOC_LINES`` non-blank lines), plus documented ones with ``overwrite``."""
    from codelens.tasks.summary import MIN_DOC_LINES, asks_for_docstring

    if unit.has_docstring and not overwrite:
        return False
    return asks_for_docstring(unit, MIN_DOC_LINES if min_lines is None else min_lines)
