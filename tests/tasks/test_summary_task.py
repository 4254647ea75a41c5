"""CL300 and the PEP 257 rewrite of generated summaries."""

from __future__ import annotations

import pytest

from codelens.findings import Severity
from codelens.tasks.summary import docstring_findings, pep257_summary
from tests.tasks.factory import body, result, unit


@pytest.mark.parametrize("raw, expected", [
    ("Returns the sum of a and b", "Return the sum of a and b."),
    ("returns the sum of a and b.", "Return the sum of a and b."),
    ("this function computes the mean", "Compute the mean."),
    ("A method that checks whether the stack is empty", "Check whether the stack is empty."),
    ("Applies the patch. Then writes the file.", "Apply the patch."),
    ("processes the queue", "Process the queue."),
    ("Fetches rows from the cursor", "Fetch rows from the cursor."),
    ("Caches the result", "Cache the result."),
    ("Initializes the parser;", "Initialize the parser."),
    ("Does nothing", "Do nothing."),
    ("always returns true", "Always return true."),
    ('"""Parses the config."""', "Parse the config."),
    ("# splits a path", "Split a path."),
    ("summary: Gets the value", "Get the value."),
    ("Checks the input\nand more text on a second line", "Check the input."),
    ("Is the stack empty?", "Is the stack empty?"),
    ("Status of the job", "Status of the job."),
    ("Return x", "Return x."),
    ("Reads and parses a file", "Read and parse a file."),
    ("Returns x and y", "Return x and y."),
    ("   multiple    spaces   here ", "Multiple spaces here."),
])
def test_pep257_summary(raw, expected):
    assert pep257_summary(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   \n  ", "...", '""""""'])
def test_pep257_summary_of_nothing_is_none(raw):
    assert pep257_summary(raw) is None


def test_missing_docstring_is_reported_with_the_summary_as_fix():
    u = unit("load_config", "pkg/a.py", 3)
    (finding,) = docstring_findings([u], {u.hash: result(u, summary="loads the config file")})
    assert (finding.code, finding.rule, finding.severity, finding.confidence) == (
        "CL300", "missing-docstring", Severity.INFO, 1.0)
    assert finding.fix == "Load the config file."
    assert finding.message == 'load_config has no docstring; suggested: "Load the config file."'


def test_without_a_summary_the_finding_has_no_fix():
    u = unit("load_config")
    (finding,) = docstring_findings([u], {})
    assert finding.fix is None and finding.message == "load_config has no docstring"


def test_documented_private_and_tiny_functions_are_skipped():
    documented = unit("documented", docstring="Do things.")
    private = unit("Parser._advance")
    dunder = unit("Parser.__init__")
    tiny = unit("tiny", source=body("tiny", 1))  # two lines
    public_method = unit("Parser.parse")
    findings = docstring_findings([documented, private, dunder, tiny, public_method], {})
    assert [f.qualname for f in findings] == ["Parser.parse"]
