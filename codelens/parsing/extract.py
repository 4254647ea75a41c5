"""Cut source files into CodeUnits with tree-sitter: one per function or method that parsed cleanly."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from codelens.core import CodeUnit, Span
from codelens.parsing import docs
from codelens.parsing.normalize import count_error_regions, token_categories
from codelens.parsing.registry import get_parser, get_spec, grammar_name
from codelens.parsing.spec import LanguageSpec, last_line
from codelens.parsing.walk import FileWalk, TokenStream, node_codes, stream, walk

if TYPE_CHECKING:
    from tree_sitter import Node

    from codelens.core import SourceFile

PARALLEL_MIN_CHARS = 200_000
"""Below this much source, starting worker processes costs more than it saves."""


@dataclass
class ParseResult:
    """What one file gave: its units, how many syntax-error regions tree-sitter recovered from, its comments."""

    units: list[CodeUnit] = field(default_factory=list)
    error_count: int = 0
    comments: list[tuple[int, int]] = field(default_factory=list)
    """Start and end byte (in the file's UTF-8) of every comment, in source order: the parse already
    tells comments from strings, so suppression markers are read from these instead of a second lexer."""


@dataclass
class ParsedFiles:
    """What ``parse_files`` gave for a list of files."""

    units: list[CodeUnit]
    """Every unit, in file order, then source order."""
    errors: dict[str, int]
    """Syntax-error region count of each file that had any, by path."""
    comments: dict[str, list[tuple[int, int]]]
    """``ParseResult.comments`` of each file that has any, by path."""


class _FileContext:
    """Per-file state shared by the units of one file: names of enclosing scopes, token streams."""

    def __init__(self, spec: LanguageSpec, src: bytes, categories: tuple[int, ...], found: FileWalk,
                 exports: frozenset[str] | None = None) -> None:
        self.spec = spec
        self.src = src
        self.categories = categories
        self.found = found
        self.exports = exports
        """Names the module exports (``LanguageSpec.module_exports``); None when it does not say."""
        self._names: dict[int, str | None] = {}

    def name(self, scope: int) -> str | None:
        """The name function or container ``scope`` contributes to qualified names (computed once)."""
        if scope not in self._names:
            spec = self.spec
            node = self.found.scopes[scope][0]
            namer = spec.function_name if node.type in spec.function_kinds else spec.container_name
            self._names[scope] = namer(node)
        return self._names[scope]

    def qualname(self, scope: int, own_name: str) -> str:
        parts = [own_name]
        scopes = self.found.scopes
        outer = scopes[scope][1]
        while outer >= 0:
            name = self.name(outer)
            if name:
                parts.append(name)
            outer = scopes[outer][1]
        return ".".join(reversed(parts))

    def api(self, scope: int, own_name: str) -> tuple[bool, bool | None]:
        """(nested in a function, exported) of function ``scope``: see ``CodeUnit``."""
        scopes, function_kinds = self.found.scopes, self.spec.function_kinds
        top, outer, nested = scope, scopes[scope][1], False
        while outer >= 0:
            nested = nested or scopes[outer][0].type in function_kinds
            top, outer = outer, scopes[outer][1]
        if self.exports is not None:
            return nested, not nested and self.name(top) in self.exports
        rule = self.spec.exported_name
        return nested, rule(own_name) if rule is not None and not nested else None

    def tokens(self, index: int) -> TokenStream:
        """Tokens of outermost function ``index``, sliced for the functions inside it too."""
        return stream(self.found, index, self.src, self.categories, self.spec.significant_indentation)


def _anchors(function: Node, spec: LanguageSpec) -> list[Node]:
    """Wrappers that carry the function's doc comment and decorators, innermost first."""
    chain = []
    node = function.parent
    while node is not None and node.type in spec.anchor_kinds:
        chain.append(node)
        node = node.parent
    return chain


def _unit(rel: str, node: Node, qualname: str, tokens: TokenStream, ctx: _FileContext,
          api: tuple[bool, bool | None] = (False, None)) -> CodeUnit:
    spec, src = ctx.spec, ctx.src
    start, end = node.start_byte, node.end_byte
    source_bytes = src[start:end]
    anchors = _anchors(node, spec)
    cut: tuple[int, int] | None = None
    if spec.docstring is not None:
        statement = spec.docstring(node)
        docstring = docs.python_docstring(statement) if statement is not None else None
        if statement is not None and docstring is not None:
            body_bytes, (cut_start, cut_end) = docs.remove_span(
                source_bytes, statement.start_byte - start, statement.end_byte - start
            )
            cut = (start + cut_start, start + cut_end)
        else:
            body_bytes = source_bytes
    else:
        docstring = docs.leading_comment(anchors[-1] if anchors else node, spec)
        body_bytes = source_bytes
    plain_hash, abstract_hash = tokens.hashes(start, end, cut)
    source = source_bytes.decode("utf-8", "surrogatepass")  # the input came from a str
    # One string for both when nothing was cut: half the decoding, and pickled once to the parent.
    body = source if body_bytes is source_bytes else body_bytes.decode("utf-8", "surrogatepass")
    body_cut = None
    if cut is not None:
        head = len(source_bytes[:cut[0] - start].decode("utf-8", "surrogatepass"))
        body_cut = (head, head + len(source) - len(body))
    line_start = src.rfind(b"\n", 0, start) + 1
    indent = src[line_start:start]
    indent = indent.decode("utf-8", "surrogatepass") if not indent.strip() else ""
    return CodeUnit(
        path=rel,
        language=spec.name,
        qualname=qualname,
        span=Span(node.start_point[0] + 1, last_line(node) + 1, start, end),
        source=source,
        docstring=docstring,
        body=body,
        hash=plain_hash,
        normalized_hash=abstract_hash,
        decorator_lines=docs.decorator_lines(node, anchors, spec),
        statements=tokens.statement_count(start, end, cut),
        nested_in_function=api[0],
        exported=api[1],
        indent=indent,
        body_cut=body_cut,
        stub=spec.stub(node) if spec.stub is not None else False,
        token_set=tokens.words(start, end, cut),
    )


def extract_units(rel: str, text: str, language: str) -> ParseResult:
    """Every named function and method of one file, in source order.

    Functions whose own text contains a syntax error, bodiless declarations and anonymous functions
    (callbacks, lambdas, closures) are skipped; the rest of a broken file is still extracted.
    """
    spec = get_spec(language)
    grammar = grammar_name(spec, rel)
    src = text.encode("utf-8", "surrogatepass")
    tree = get_parser(spec.module, grammar).parse(src)
    root = tree.root_node
    found = walk(root, src, node_codes(spec.module, grammar, spec.name), spec.significant_indentation)
    exports = spec.module_exports(root, src) if spec.module_exports is not None else None
    ctx = _FileContext(spec, src, token_categories(spec.module, grammar, spec.name), found, exports)
    units: list[CodeUnit] = []
    for node, index, scope in found.functions:
        name = ctx.name(scope)
        if not name or node.has_error or node.child_by_field_name("body") is None:
            continue
        units.append(_unit(rel, node, ctx.qualname(scope, name), ctx.tokens(index), ctx, ctx.api(scope, name)))
    return ParseResult(units=units, error_count=count_error_regions(root), comments=found.comments)


def _extract_many(jobs: Sequence[tuple[str, str, str]]) -> list[ParseResult]:
    return [extract_units(rel, text, language) for rel, text, language in jobs]


def _chunks(jobs: list[tuple[str, str, str]], count: int) -> list[list[tuple[str, str, str]]]:
    """Consecutive runs of jobs of roughly equal total size (order is kept for the results)."""
    target = max(1, sum(len(job[1]) for job in jobs) // count)
    chunks: list[list[tuple[str, str, str]]] = [[]]
    size = 0
    for job in jobs:
        if size >= target and chunks[-1]:
            chunks.append([])
            size = 0
        chunks[-1].append(job)
        size += len(job[1])
    return chunks


def parse_files(files: list[SourceFile], workers: int = 0) -> ParsedFiles:
    """Units, syntax-error counts and comments of all files (see ``ParsedFiles``).

    ``workers`` processes parse in parallel (0: ``min(cpu_count, 4)``); small inputs stay serial.
    A process pool that cannot start falls back to parsing here.
    """
    jobs = [(f.rel, f.text, f.language) for f in files]
    count = workers if workers > 0 else min(os.cpu_count() or 1, 4)
    total = sum(len(job[1]) for job in jobs)
    results: list[ParseResult] | None = None
    if count > 1 and len(jobs) > 1 and total >= PARALLEL_MIN_CHARS:
        # Largest files first, so the last tasks handed out are small and the workers finish
        # together; results go back to file order afterwards.
        order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][1]))
        chunks = _chunks([jobs[i] for i in order], count * 8)
        try:
            with ProcessPoolExecutor(max_workers=min(count, len(chunks))) as pool:
                done = [r for chunk_results in pool.map(_extract_many, chunks) for r in chunk_results]
            results = [done[0]] * len(jobs)
            for position, result in zip(order, done):
                results[position] = result
        except (BrokenProcessPool, OSError):
            results = None
    if results is None:
        results = _extract_many(jobs)
    units = [unit for result in results for unit in result.units]
    errors = {job[0]: result.error_count for job, result in zip(jobs, results) if result.error_count}
    comments = {job[0]: result.comments for job, result in zip(jobs, results) if result.comments}
    return ParsedFiles(units, errors, comments)
