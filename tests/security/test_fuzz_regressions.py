"""Inputs the fuzz test (test_fuzz.py) found crashing a scan, each pinned down on its own.

Each test is one input from the scanned tree that used to raise out of discovery or a reporter:
an ignore-file line pathspec rejects, a Python file declaring a codec that always fails, and a file
name (or model summary) holding a lone surrogate, which made SARIF and GitLab reports raise and
every other report impossible to write as UTF-8.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest

from codelens.core import Thresholds
from codelens.discovery import Skipped, decode_source, discover
from codelens.parsing import parse_files
from codelens.report import REPORTERS
from codelens.report.model import ScanReport, printable
from codelens.tasks import all_findings
from tests.tasks.factory import result, unit

FUNCTION = "def load(path):\n    with open(path) as handle:\n        data = handle.read()\n    return data\n"


def render_every_format(report: ScanReport) -> dict[str, str]:
    """Every format, each checked to be writable as UTF-8 and, where it is data, to parse back."""
    outputs = {fmt: render(report) for fmt, render in REPORTERS.items()}
    for output in outputs.values():
        output.encode("utf-8")
    for fmt in ("json", "sarif", "gitlab"):
        json.loads(outputs[fmt])
    for line in outputs["jsonl"].split("\n"):
        if line:
            json.loads(line)
    ET.fromstring(outputs["junit"].encode("utf-8"))
    return outputs


def test_ignore_file_lines_pathspec_rejects_are_dropped_not_raised(tmp_path):
    # A lone "!" and a trailing backslash made pathspec raise GitIgnorePatternError out of discover().
    (tmp_path / ".gitignore").write_text("!\n\\\nkeep\\\nhidden.py\n", encoding="utf-8")
    for name in ("kept.py", "hidden.py"):
        (tmp_path / name).write_text(FUNCTION, encoding="utf-8")
    result = discover(tmp_path)
    # The file's valid line still applies.
    assert [f.rel for f in result.files] == ["kept.py"] and result.skipped == []


def test_ignore_file_with_only_rejected_lines_ignores_nothing(tmp_path):
    (tmp_path / ".gitignore").write_text("!\n\\\n", encoding="utf-8")
    (tmp_path / "a.py").write_text(FUNCTION, encoding="utf-8")
    assert [f.rel for f in discover(tmp_path).files] == ["a.py"]


def test_python_file_declaring_a_codec_that_always_fails_is_skipped(tmp_path):
    # The "undefined" codec raises UnicodeError, which is not a UnicodeDecodeError: it escaped.
    data = b"# coding: undefined\nx = '\xff'\n"
    assert decode_source(data, "python") is None
    (tmp_path / "a.py").write_bytes(data)
    result = discover(tmp_path)
    assert result.files == [] and result.skipped == [Skipped("a.py", "not-utf8")]


def test_reports_of_a_file_whose_name_is_not_utf8(tmp_path):
    # Python keeps the byte 0xE9 of b"caf\xe9.py" as "\udce9": SARIF's URI quoting raised on it, and the
    # other reports held a character no UTF-8 writer accepts.
    name = os.fsdecode(b"caf\xe9 x.py")
    try:
        (tmp_path / name).write_text(FUNCTION, encoding="utf-8")
    except OSError:
        pytest.skip("this filesystem only takes UTF-8 file names")
    found = discover(tmp_path)
    assert [f.rel for f in found.files] == [name]
    units = parse_files(found.files, workers=1).units
    results = {u.hash: result(u, 0.95, summary="reads a file") for u in units}
    findings = all_findings(units, results, thresholds=Thresholds())
    assert {f.code for f in findings} == {"CL100", "CL300"}
    outputs = render_every_format(ScanReport(units=units, results=results, findings=findings))
    sarif = json.loads(outputs["sarif"])["runs"][0]["results"]
    # The URI percent-encodes the byte itself, so it still names the file on disk.
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif} == {"caf%E9%20x.py"}
    assert "caf\\xe9 x.py:1: CL100" in outputs["text"]
    assert json.loads(outputs["gitlab"])[0]["location"]["path"] == "caf\\xe9 x.py"


def test_reports_of_a_summary_with_a_lone_surrogate():
    # What a broken model could emit: it reaches the CL300 message and its suggested fix.
    u = unit("load", "pkg/io.py", source=FUNCTION.rstrip())
    results = {u.hash: result(u, 0.1, summary="reads \ud800 a file")}
    findings = all_findings([u], results, thresholds=Thresholds())
    assert [f.code for f in findings] == ["CL300"]
    outputs = render_every_format(ScanReport(units=[u], results=results, findings=findings))
    assert "\\ud800" in json.loads(outputs["jsonl"])["fix"]


def test_printable_leaves_valid_text_alone_and_escapes_lone_surrogates():
    for text in ("", "plain.py", "ünï/名前 🙂.py", "a\nb\x00"):
        assert printable(text) == text
    assert printable(os.fsdecode(b"caf\xe9.py")) == "caf\\xe9.py"
    assert printable("x\ud800y\udfff") == "x\\ud800y\\udfff"
