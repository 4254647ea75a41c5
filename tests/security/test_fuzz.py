"""Fuzzing discovery, parsing and every reporter with random and mutated source files.

A scan reads whatever a repository holds: half-written files, binary blobs with a source suffix,
files in legacy encodings, generated monsters, names no one would type. None of that may crash it.
This test writes more than 10,000 such files (the parsing fixtures of every language, mutated line
by line and byte by byte, plus random bytes and random text) under every supported suffix and odd
file names, and runs them through the public pipeline: ``discover``, ``parse_files``,
``extract_units``, suppression markers, clone search and findings over made-up model results, and every
reporter. It checks that no exception escapes, that discovery accounts for every file (found, or skipped
with a reason), that each unit holds exactly the text its span covers, that comment ranges lie in their
file, and that every report can be written as UTF-8 and, for the machine-readable formats, parsed back.

Hypothesis draws the shape of each batch (a seed, a few files edited at chosen places, texts with
any code point, sometimes a mangled ``.gitignore``); a ``random.Random`` seeded from it makes the
bulk cheaply. Both are deterministic (``derandomize=True``, no example database), so CI runs the same
inputs every time. Every other batch also holds a FIFO where an ignore file goes (discovery must skip it,
not block on it), and the human-readable reports (text, GitHub annotations) must hold no character a
terminal obeys, whatever the file names, comments and messages held (issue #23).

It runs in CI's slow tier (``-m slow``): it is one process on one core, and took 59 s of CPU time
(48 s user, 11 s system, imports included) for 15,360 files written, some 11,000 of them parsed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from codelens.core import CodeUnit, SourceFile, Thresholds, UnitResult
from codelens.discovery import SKIP_REASONS, discover
from codelens.escapes import BIDI_CONTROLS
from codelens.parsing import EXTENSIONS, ParsedFiles, extract_units, language_for_path, parse_files
from codelens.report import REPORTERS
from codelens.report.model import ModelInfo, ReportOptions, ScanReport
from codelens.suppressions import parse_suppressions
from codelens.tasks import all_findings
from codelens.tasks.clone import find_clones

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "parsing"
LANGUAGES = sorted(set(EXTENSIONS.values()))
SUFFIXES = {language: sorted(s for s, lang in EXTENSIONS.items() if lang == language) for language in LANGUAGES}
SEEDS: dict[str, list[str]] = {language: [] for language in LANGUAGES}
"""Fixture texts (samples and broken files) by language: what most inputs are mutated from."""
for _path in sorted(FIXTURES.rglob("*")):
    if _path.is_file() and language_for_path(_path.name):
        SEEDS[language_for_path(_path.name)].append(_path.read_text(encoding="utf-8"))
assert all(SEEDS.values()), "every supported language needs parsing fixtures to mutate"

EXAMPLES = 16
"""Hypothesis examples; each writes one batch folder (fewer, bigger batches: less fixed cost per file)."""
BULK_FILES = 960
"""Seeded files per batch, next to the few hypothesis edits: 16 x 960 = 15,360 written, about three
quarters of which decode and are parsed (the rest are skipped as binary, not UTF-8, minified...)."""
MIN_FILES = 10_000
"""The volume asked for: files that go through discovery and then parsing (skipped ones not counted)."""
REPORT_UNITS = 200
"""Functions per batch that go into the report: rendering cost grows with findings, not with files."""
EMBEDDING_DIM = 8
HUMAN_FORMATS = {"text", "concise", "github"}
"""Reports people read on a terminal (or a CI log): nothing in them may drive it."""
TERMINAL_CONTROLS = re.compile(f"[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f\\u2028\\u2029{BIDI_CONTROLS}]")
"""Control, C1 and bidi characters, and line breaks other than the newline that ends a report line."""

# Fragments that trouble tokenisers: control characters and line ends of every kind, separators and
# direction overrides, a byte-order mark mid-file, quotes and comments that never close, openers of
# every language, PEP 263 lines, generated markers and suppression comments.
TEXT_SNIPPETS: tuple[str, ...] = (
    "\r", "\r\n", "\n\r", "\t", "\x0b\x0c", "\x1b[31m", "\x7f", "\x01", "\u2028\u2029\u0085", "\u202e\u2066",
    "\U0001f600\u200d\U0001f4a5", "e\u0301\u0308", "\ufffd", "\ufeff", "名前", "\U0010ffff",
    '"', "'", "`", '"""', "'''", "r'", 'b"', "/*", "*/", "/**", "//", "///", "#", "\\", "${", "`${", "<!--",
    "-->", "@", "#[", "{", "}", "(", ")", "[", "]", "<", ">", ";", "def f(", "def g():\n", "class C:\n",
    "async def h():\n    ", "fn f() {", "impl X {", "func f() {", "function f() {", "() => {", "int f() {",
    "class C {", "template <typename T>", "#define X {", "lambda:", "@decorator\n", "# -*- coding: latin-1 -*-\n",
    "# coding: bogus-codec\n", "// @generated\n", "/* DO NOT EDIT */\n", "# codelens: ignore[CL100]\n", "0x",
    "1e999", "'\\", '"\\N{', '"\\x', '"\\ud800"', "\\\n",
)  # fmt: skip
# Bytes no UTF-8 decoder accepts (NUL aside, which marks a binary): CESU-8 surrogates, an overlong
# NUL, a code point past U+10FFFF, a UTF-16 mark, a lone continuation byte, a cut-off sequence.
BYTE_SNIPPETS: tuple[bytes, ...] = (
    b"\x00", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xa0\xbd\xed\xb8\x80", b"\xc0\x80", b"\xf4\x90\x80\x80",
    b"\xff\xfe", b"\x80", b"\xe2\x82", b"\xe9",
)  # fmt: skip
# First lines of Python files: PEP 263 declarations of odd codecs (one that always fails, ones that
# yield lone surrogates, non-text transforms), each followed by a byte that is not UTF-8 so that
# discovery takes the declared-encoding path.
CODING_PREFIXES: tuple[bytes, ...] = (
    b"# coding: undefined\n\xff\n", b"# coding: raw_unicode_escape\n\\ud800\\udcff\xff\n",
    b"# -*- coding: utf-7 -*-\n+2AA-\xff\n", b"# coding: unicode_escape\n\\N{BOGUS}\xff\n",
    b"# coding: utf-16\n\xff", b"# coding: cp037\n\xff\n", b"# coding: rot13\n\xff", b"# coding: idna\n\xff",
    b"#!/bin/sh\n# vim: set fileencoding=latin-1 :\n\xe9\n", b"# coding: latin-1\n\xef\xbb\xbf\n",
)  # fmt: skip
CODED_BODY = b"def f\\ud800():\n    '\\udcff\xe9'\n"
"""A Python body that spells lone surrogates in escapes: ``raw_unicode_escape`` decodes them for real."""
OPENERS = ("(", "[", "{", "<", "([", "f(", "a[", "{{", "/*", "`${")
CLOSERS = {
    "(": ")", "[": "]", "{": "}", "<": ">", "([": "])", "f(": ")", "a[": "]", "{{": "}}", "/*": "*/", "`${": "}`",
}  # fmt: skip
NESTED_FUNCTIONS = {
    "python": ("def f{i}():\n", "    "), "javascript": ("function f{i}() {{\n", ""),
    "typescript": ("const f{i} = (): void => {{\n", ""), "java": ("class C{i} {{ void m{i}() {{\n", ""),
    "go": ("func f{i}() {{ g := func() {{\n", ""), "c": ("int f{i}(void) {{ {{\n", ""),
    "cpp": ("namespace n{i} {{ int f{i}() {{\n", ""), "rust": ("fn f{i}() {{ mod m{i} {{\n", ""),
}  # fmt: skip
"""An opening line per language that nests a function in the one before, and the indent it adds."""

# File and folder names: spaces, glob and gitignore metacharacters, a leading dash (an option to many
# tools), newlines, unicode, and bytes that are not UTF-8 (``\udcff`` is the byte 0xFF on disk).
NAME_PARTS = (
    " ", "  ", "x[", "[", "]", "[!]", "*", "?", "**", "!", "#", "\\", "'", '"', "%20", "%0A", "$HOME", "`",
    ";", "&", "~", "{a,b}", "-", "--", "-rf ", "\n", "\r", "\t", "ünï", "名前", "🙂", "\u202e", "e\u0301",
    "\udcff", "\udc80\udc80", ":", "::error::", ",", "<>", "...", "a.min", ".",
)  # fmt: skip
FOLDERS = ("", "", "", "[", "x[", "sub dir", "-", "-rf", "ünï", "名前", "a\nb", "\udcfe", "[/]", "**", "!x", "#x")
"""Folders files are put in (``[/]`` is a folder ``[`` holding a folder ``]``); none is excluded by default."""
IGNORE_FOLDER = "sub dir"
"""Where a mangled ``.gitignore`` goes: its rules (``**`` among them) hide at most that folder's files."""

SUMMARIES = (
    None, "", "Returns the total price of the items.", "this function parses a config", "\ud800 lone surrogate",
    "a\nb\r\nc", "\x00\x01\x1b[0m", "<![CDATA[ ]]> &amp; <x/>", "%0A::error file=x::boom", "💥" * 50,
    "é" * 3000, "'''\"\"\"", "summary: does things", "\u2028\u2029",
)  # fmt: skip
"""Model summaries, including what a broken or hostile model could emit."""


@dataclass(repr=False)
class Batch:
    """The inputs of one example."""

    seed: int
    """Seed of the bulk files: ``bulk(seed, BULK_FILES)`` rebuilds them to reproduce a failure."""
    files: dict[str, bytes] = field(default_factory=dict)
    """Relative path (``/`` separated; ``\\udcXX`` stands for a byte that is not UTF-8) -> content."""
    texts: list[tuple[str, str, str]] = field(default_factory=list)
    """``(rel, text, language)`` given to ``extract_units`` directly: strings no file can carry."""
    ignore_lines: list[str] | None = None
    """A ``.gitignore`` for ``IGNORE_FOLDER``, or None."""

    def __repr__(self) -> str:
        # Hypothesis prints a failing example: megabytes of file contents would bury the error.
        counts = f"files={len(self.files)}, texts={len(self.texts)}"
        return f"Batch(seed={self.seed}, {counts}, ignore={self.ignore_lines!r})"


def _random_text(rng: random.Random, size: int, surrogates: bool = True) -> str:
    """Code points from every plane, with controls and ASCII weighted in (and lone surrogates)."""
    pools = [(0, 0x7F), (1, 0x1F), (0x80, 0x7FF), (0x800, 0xD7FF), (0xE000, 0xFFFF), (0x10000, 0x10FFFF)]
    if surrogates:
        pools.append((0xD800, 0xDFFF))
    return "".join(chr(rng.randint(*rng.choice(pools))) for _ in range(size))


def _deep(rng: random.Random, language: str) -> str:
    """Hundreds of nested brackets, or a chain of functions each defined inside the one before."""
    depth = rng.choice((20, 50, 100, 200, 500, 600))
    if rng.random() < 0.5:
        opener = rng.choice(OPENERS)
        return opener * depth + "x" + CLOSERS[opener] * depth * rng.randint(0, 1)
    head, indent = NESTED_FUNCTIONS[language]
    depth //= 4
    return "".join(indent * i + head.format(i=i) for i in range(depth)) + indent * depth + "pass\n"


def mutate_text(rng: random.Random, text: str, language: str) -> str:
    """One edit that keeps ``text`` a string: of lines, fragments or layout."""
    op = rng.randrange(13)
    lines = text.splitlines(keepends=True) or [""]
    at = rng.randrange(len(text) + 1)
    row = rng.randrange(len(lines))
    if op == 0:
        return "".join(lines[:row] + [rng.choice(TEXT_SNIPPETS) + "\n"] + lines[row:])
    if op == 1:
        return "".join(lines[:row] + lines[row + rng.randint(1, 5) :])
    if op == 2:
        return "".join(lines[:row] + [lines[row]] * rng.randint(2, 12) + lines[row:])
    if op in (3, 4):
        return text[:at] + rng.choice(TEXT_SNIPPETS) + text[at:]
    if op == 5:
        return text.replace("\n", rng.choice(("\r\n", "\r", "\n\n", "\x0c\n", "\u2028")))
    if op == 6:  # tabs for indentation, or tabs and spaces mixed
        return text.replace("    ", rng.choice(("\t", " \t", "\t    ")))
    if op == 7:  # a very long line (past the minified limit of JS / TS now and then)
        # A run of quotes stays short: error recovery over thousands of them costs tens of milliseconds
        # a file, and the pathological shapes in ``content`` have one such run already.
        long = "'" * 400 if rng.random() < 0.2 else rng.choice(("x", "a + ", "é")) * rng.choice((400, 3000, 6000))
        return text[:at] + long + text[at:]
    if op == 8:
        return text[:at] + _deep(rng, language) + text[at:]
    if op == 9:  # a string or comment that never ends
        return text[:at] + rng.choice(('"', "'", "`", '"""', "/*", 'r#"', "'''")) + "abc\n" + text[at:]
    if op == 10:
        return text[:at] + _random_text(rng, rng.randint(1, 40), surrogates=False) + text[at:]
    if op == 11:  # a piece of another language spliced in
        other = rng.choice(SEEDS[rng.choice(LANGUAGES)])
        start = rng.randrange(len(other))
        return text[:at] + other[start : start + rng.randint(1, 400)] + text[at:]
    return text[:at]


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """One edit at the byte level: flipped bits, a cut inside a character, invalid UTF-8, noise."""
    op = rng.randrange(4)
    at = rng.randrange(len(data) + 1)
    if op == 0:
        buffer = bytearray(data)
        for _ in range(rng.randint(1, 8) if buffer else 0):
            buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
        return bytes(buffer)
    if op == 1:
        return data[:at]
    if op == 2:
        return data[:at] + rng.choice(BYTE_SNIPPETS) + data[at:]
    return data[:at] + rng.randbytes(rng.randint(1, 16)) + data[at:]


def content(rng: random.Random, language: str) -> bytes:
    """A file's bytes: mostly a mutated fixture, sometimes noise, an odd encoding or a pathological shape."""
    kind = rng.random()
    if kind < 0.78:
        text = rng.choice(SEEDS[language])
        for _ in range(rng.randint(1, 5)):
            text = mutate_text(rng, text, language)
        data = text.encode("utf-8")
        # A fifth also get byte-level damage: most of those are skipped as binary or not UTF-8, and the
        # rest of the volume is meant for the parser.
        for _ in range(rng.randint(1, 2) if rng.random() < 0.2 else 0):
            data = mutate_bytes(rng, data)
        return data
    if kind < 0.82:
        return rng.randbytes(rng.randint(0, 600))
    if kind < 0.91:  # random text, as UTF-8 or with its lone surrogates written out (CESU-8 style)
        return _random_text(rng, rng.randint(0, 600)).encode("utf-8", rng.choice(("replace", "surrogatepass")))
    if kind < 0.95 and language == "python":
        return rng.choice(CODING_PREFIXES) + CODED_BODY
    return rng.choice((
        b"", b"\n", b"\xef\xbb\xbf", b'"', b"'" * 999, b"/*" * 999, _deep(rng, language).encode(), b"x" * 20_000,
        b"\r" * 2000, b"\t\n" * 2000, rng.choice(SEEDS[language]).encode() * 40, b"// @generated\n" * 3,
    ))  # fmt: skip


def name(rng: random.Random, index: int, language: str) -> str:
    """A relative path, unique by ``index``, with an odd name and a suffix of ``language`` in any case."""
    suffix = rng.choice(SUFFIXES[language])
    if rng.random() < 0.2:
        suffix = "".join(c.upper() if rng.random() < 0.5 else c for c in suffix)
    parts = [rng.choice(NAME_PARTS) for _ in range(rng.randint(0, 3))]
    # Where the index goes varies, so that names still start with "-", a space or a bracket.
    parts.insert(rng.randint(0, len(parts)), str(index))
    folder = rng.choice(FOLDERS)
    return f"{folder}/{''.join(parts)}{suffix}" if folder else f"{''.join(parts)}{suffix}"


def bulk(seed: int, count: int) -> Batch:
    """``count`` seeded files, and a tenth as many texts for ``extract_units`` alone."""
    rng = random.Random(seed)
    batch = Batch(seed)
    for index in range(count):
        language = rng.choice(LANGUAGES)
        batch.files[name(rng, index, language)] = content(rng, language)
    for _ in range(count // 10):
        # Strings with lone surrogates never come out of discovery (it decodes strictly), but
        # extract_units is public and takes any str: it must cope with them too.
        language = rng.choice(LANGUAGES)
        text = rng.choice(SEEDS[language])
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(text) + 1)
            text = text[:at] + _random_text(rng, rng.randint(1, 8)) + text[at:]
        batch.texts.append((name(rng, 0, language), text, language))
    return batch


EDITS = st.lists(
    st.tuples(st.sampled_from(("insert", "delete", "replace", "cut")), st.integers(0, 1 << 16),
              st.sampled_from(tuple(s.encode() for s in TEXT_SNIPPETS) + BYTE_SNIPPETS)),
    max_size=8,
)
"""Hypothesis-chosen edits: what, where (a fraction of the file in 1/65536) and which fragment."""
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)
"""Any code points, surrogates included."""


@st.composite
def edited_file(draw) -> tuple[str, str, bytes]:
    """(language, name fragment, bytes): a fixture edited at hypothesis-chosen places, or raw input."""
    language = draw(st.sampled_from(LANGUAGES))
    stem = "".join(draw(st.lists(st.sampled_from(NAME_PARTS), max_size=3)))
    kind = draw(st.integers(0, 2))
    if kind == 0:
        data = draw(st.sampled_from(SEEDS[language])).encode("utf-8")
        for what, where, piece in draw(EDITS):
            at = where * len(data) >> 16
            if what == "insert":
                data = data[:at] + piece + data[at:]
            elif what == "delete":
                data = data[:at] + data[at + len(piece) :]
            elif what == "replace":
                data = data[:at] + piece + data[at + len(piece) :]
            else:
                data = data[:at]
    elif kind == 1:
        data = draw(st.binary(max_size=300))
    else:
        data = draw(ANY_TEXT).encode("utf-8", "surrogatepass")
    return language, stem, data


IGNORE_LINE = st.one_of(
    st.sampled_from(("*.py", "!*.py", "\\", "!", "a\\", "[", "**/", "/*", "#x", " ", "!/", "**", "\\!x", "*.[jt]s")),
    st.text(st.sampled_from("*?[]!\\/#. a-"), max_size=8),
)
"""Lines of a mangled ``.gitignore``: negations, trailing backslashes, other patterns pathspec rejects."""


@st.composite
def batches(draw) -> Batch:
    """One example: seeded bulk files plus a few hypothesis-edited files, texts and maybe an ignore file."""
    number = draw(st.integers(0, 2**32 - 1))
    edited = draw(st.lists(edited_file(), max_size=6))
    texts = draw(st.lists(st.tuples(st.sampled_from(LANGUAGES), ANY_TEXT), max_size=4))
    ignore_lines = draw(st.lists(IGNORE_LINE, max_size=6)) if draw(st.integers(0, 3)) == 0 else None
    # Hypothesis draws the same small integers in several examples (whatever else differs): the bulk
    # seed mixes in everything drawn, so that no two examples write the same bulk files.
    drawn = repr((number, edited, texts, ignore_lines)).encode("utf-8", "surrogatepass")
    batch = bulk(int.from_bytes(hashlib.sha256(drawn).digest()[:8], "big"), BULK_FILES)
    for index, (language, stem, data) in enumerate(edited, start=BULK_FILES):
        batch.files[f"{stem}{index}{SUFFIXES[language][0]}"] = data
    batch.texts += [(f"h{SUFFIXES[language][-1]}", text, language) for language, text in texts]
    batch.ignore_lines = ignore_lines
    return batch


def write(root: Path, batch: Batch) -> dict[str, str]:
    """Write the batch under ``root``; the language of each relative path written."""
    written: dict[str, str] = {}
    for rel, data in batch.files.items():
        path = root.joinpath(*rel.split("/"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError:
            continue  # a name this filesystem refuses cannot be in a repository on it either
        written[rel] = language_for_path(rel)
    if batch.ignore_lines is not None:
        (root / IGNORE_FOLDER).mkdir(exist_ok=True)
        (root / IGNORE_FOLDER / ".gitignore").write_text("\n".join(batch.ignore_lines) + "\n", encoding="utf-8")
    elif hasattr(os, "mkfifo") and batch.seed % 2:
        (root / IGNORE_FOLDER).mkdir(exist_ok=True)
        os.mkfifo(root / IGNORE_FOLDER / ".gitignore")  # a plain read would block the scan for ever
    return written


def check_units(units: list[CodeUnit], texts: dict[str, str]) -> None:
    """Each unit names its file and holds exactly the text its span covers."""
    for unit in units:
        encoded = texts[unit.path].encode("utf-8", "surrogatepass")
        assert 1 <= unit.start_line <= unit.end_line, unit
        assert 0 <= unit.span.start_byte <= unit.span.end_byte <= len(encoded), unit
        assert encoded[unit.span.start_byte : unit.span.end_byte].decode("utf-8", "surrogatepass") == unit.source
        assert unit.qualname and len(unit.hash) == 64 and len(unit.normalized_hash) == 64, unit


def check_comments(comments: dict[str, list[tuple[int, int]]], files: list[SourceFile]) -> None:
    """Comment ranges lie in their file, in order, apart; suppression markers read from them lie in it too."""
    for source in files:
        encoded = source.text.encode("utf-8", "surrogatepass")
        ranges = comments.get(source.rel, [])
        assert all(0 <= start < end <= len(encoded) for start, end in ranges), source.rel
        assert all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:])), source.rel
        lines = encoded.count(b"\n") + 1
        markers = parse_suppressions(source.rel, source.text, source.language, ranges)
        assert all(1 <= marker.line <= lines for marker in markers), source.rel


def fake_results(rng: random.Random, units: list[CodeUnit]) -> dict[str, UnitResult]:
    """Model outputs for most distinct functions: probabilities over the whole range, unit-vector
    embeddings around a few centres (so that semantic clones occur), summaries with odd characters."""
    centres = np.random.default_rng(rng.randrange(1 << 32)).standard_normal((6, EMBEDDING_DIM))
    results: dict[str, UnitResult] = {}
    for digest in sorted({u.hash for u in units}):
        if rng.random() < 0.1:
            continue  # a function the model has not scored
        noise = np.array([rng.gauss(0, 1) for _ in range(EMBEDDING_DIM)])
        vector = centres[rng.randrange(len(centres))] + rng.choice((0.0, 0.01, 0.5)) * noise
        probability = rng.choice((0.0, 1.0, 0.5, rng.random(), rng.random()))
        logit = math.log(probability / (1 - probability)) if 0 < probability < 1 else 0.0
        results[digest] = UnitResult(hash=digest, defect_probability=probability, defect_logit=logit,
                                     embedding=(vector / np.linalg.norm(vector)).astype(np.float32),
                                     summary=rng.choice(SUMMARIES), cached=rng.random() < 0.3)
    return results


def render_all(rng: random.Random, units: list[CodeUnit]) -> int:
    """Build a report over ``units``, render every format and read the results back; the findings count."""
    results = fake_results(rng, units)
    thresholds = Thresholds(defect=rng.choice((0.0, 0.5, 0.9, 1.0)), clone=rng.choice((0.5, 0.9, 0.99)))
    clones = find_clones(units, results, thresholds.clone, neighbours_k=rng.choice((0, 3)))
    findings = all_findings(units, results, thresholds=thresholds, clones=clones)
    report = ScanReport(
        units=units, results=results, findings=findings, clones=clones.pairs, neighbours=clones.neighbours,
        model=ModelInfo(id="fuzz\u202e", adapter="a b/ü\udcff", base_fingerprint="\x00\n", adapter_hash="", quantize="none",
                        device="cpu", dtype="float32", languages=("python",),
                        thresholds=Thresholds(defect=float("nan"), clone=float("inf"), summary=np.float32(0.5))),
        stats={"seconds": rng.random() * 100, "cache_hits": rng.randrange(10), "note": "\x00\n"},
        options=ReportOptions(all=rng.random() < 0.5),
    )
    assert {f.code for f in findings} <= {"CL100", "CL200", "CL300"}
    outputs = {fmt: render(report) for fmt, render in REPORTERS.items()}
    assert set(outputs) >= {"text", "json", "sarif", "github", "gitlab", "junit", "jsonl"}
    for output in outputs.values():
        # The CLI writes reports as UTF-8: one lone surrogate (a file name byte that is not UTF-8)
        # would fail the write after the whole scan ran.
        output.encode("utf-8")
    assert len(json.loads(outputs["json"])["findings"]) == len(findings)
    assert len(json.loads(outputs["sarif"])["runs"][0]["results"]) == len(findings)
    for fmt in HUMAN_FORMATS & set(outputs):
        assert not TERMINAL_CONTROLS.search(outputs[fmt]), (fmt, TERMINAL_CONTROLS.search(outputs[fmt]))
    assert len(json.loads(outputs["gitlab"])) == len(findings)
    # split("\n"), not splitlines(): JSON leaves U+2028 and its kind unescaped inside strings.
    assert len([json.loads(line) for line in outputs["jsonl"].split("\n") if line]) == len(findings)
    # One workflow command per line, whatever line breaks the paths and messages held.
    assert outputs["github"].count("\n") == len(findings)
    ET.fromstring(outputs["junit"].encode("utf-8"))  # as a CI reads the file
    assert outputs["text"].endswith("\n")
    return len(findings)


@dataclass
class Totals:
    """What went through the pipeline, over all examples."""

    discovered: int = 0
    parsed: int = 0
    extracted: int = 0
    units: int = 0
    findings: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def _parse(files: list[SourceFile]) -> ParsedFiles:
    """``parse_files``; when it fails, the failure names the first file that fails on its own."""
    try:
        return parse_files(files, workers=1)
    except Exception as exc:
        for source in files:
            try:
                extract_units(source.rel, source.text, source.language)
            except Exception:
                raise AssertionError(f"parsing {source.rel!r} failed: {source.text[:3000]!r}") from exc
        raise


def _extract(rel: str, text: str, language: str) -> list[CodeUnit]:
    """``extract_units`` with its units checked; a failure names the input."""
    try:
        result = extract_units(rel, text, language)
    except Exception as exc:
        raise AssertionError(f"extract_units({rel!r}, {text[:3000]!r}, {language!r}) failed") from exc
    check_units(result.units, {rel: text})
    assert result.error_count >= 0
    return result.units


def run_batch(batch: Batch, totals: Totals) -> None:
    """The whole pipeline over one batch, in a folder of its own (removed afterwards: disk stays small)."""
    root = Path(tempfile.mkdtemp(prefix="codelens-fuzz-"))
    try:
        written = write(root, batch)
        found = discover(root)
        rels = [f.rel for f in found.files]
        assert rels == sorted(rels) and len(set(rels)) == len(rels)
        assert all(s.reason in SKIP_REASONS for s in found.skipped)
        assert all(f.language == written[f.rel] for f in found.files)
        # Every supported file is either analysed or skipped with a reason, but for those an ignore file hides.
        fifo = f"{IGNORE_FOLDER}/.gitignore"
        assert ((fifo, "not-a-file") in {(s.rel, s.reason) for s in found.skipped}) == (
            batch.ignore_lines is None and bool(batch.seed % 2) and hasattr(os, "mkfifo"))
        accounted = set(rels) | {s.rel for s in found.skipped if s.rel != fifo}
        hidable = {rel for rel in written if rel.startswith(IGNORE_FOLDER + "/")} if batch.ignore_lines else set()
        assert set(written) - hidable <= accounted <= set(written)
        parsed = _parse(found.files)
        units, errors = parsed.units, parsed.errors
        texts = {f.rel: f.text for f in found.files}
        assert set(errors) <= set(texts) and all(count > 0 for count in errors.values())
        check_units(units, texts)
        check_comments(parsed.comments, found.files)
        rng = random.Random(batch.seed)
        direct = list(batch.texts)
        # Found texts again under another language's grammar: a .py that holds C, and so on.
        for source in rng.sample(found.files, min(40, len(found.files))):
            language = rng.choice(LANGUAGES)
            direct.append((f"x{SUFFIXES[language][-1]}", source.text, language))
        extracted = [unit for rel, text, language in direct for unit in _extract(rel, text, language)]
        # The report takes every function with an odd path or name (what breaks reporters) and a sample of
        # the rest; rendering thousands of findings per batch would only cost time.
        odd = [u for u in units + extracted if not (u.path + u.qualname).isascii()]
        plain = [u for u in units + extracted if (u.path + u.qualname).isascii()]
        chosen = odd[:REPORT_UNITS] + rng.sample(plain, max(0, min(len(plain), REPORT_UNITS - len(odd))))
        totals.findings += render_all(rng, chosen)
        totals.discovered += len(found.files) + len(found.skipped)
        totals.parsed += len(found.files)
        totals.extracted += len(direct)
        totals.units += len(units) + len(extracted)
        for skip in found.skipped:
            totals.skipped[skip.reason] = totals.skipped.get(skip.reason, 0) + 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_fuzzed_files_never_crash_the_pipeline():
    totals = Totals()

    # No shrinking: a batch holds hundreds of files and shrinking one takes minutes; a failure names
    # its input instead (see _parse, _extract), and the seed in the example rebuilds the batch.
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck), print_blob=False)
    @given(batch=batches())
    def run(batch: Batch) -> None:
        run_batch(batch, totals)

    run()
    # The volume is part of the contract: a generator change that quietly shrank the batches would
    # leave a test that passes while fuzzing next to nothing.
    assert totals.parsed >= MIN_FILES, totals
    assert totals.units > 0 and totals.findings > 0, totals
    # Every kind of input showed up: skipped binaries and undecodable files next to parsed ones.
    assert {"binary", "not-utf8"} <= set(totals.skipped), totals
