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


def test_public_means_not_nested_not_underscored_and_not_left_out_of_the_exports():
    from dataclasses import replace

    from codelens.parsing import extract_units
    from codelens.tasks.summary import asks_for_docstring, is_public

    text = (
        "__all__ = ['api', 'Api']\n"
        "def api(x):\n    def closure(y):\n        y = y + 1\n        y = y * 2\n        return y\n"
        "    value = closure(x)\n    return value\n"
        "def helper(x):\n    x = x + 1\n    x = x * 2\n    return x\n"
        "def _private(x):\n    x = x + 1\n    x = x * 2\n    return x\n"
        "class Api:\n    def run(self, x):\n        x = x + 1\n        x = x * 2\n        return x\n"
        "class Internal:\n    def run(self, x):\n        x = x + 1\n        x = x * 2\n        return x\n"
    )
    units = extract_units("pkg/mod.py", text, "python").units
    assert {u.qualname: is_public(u) for u in units} == {
        "api": True, "api.closure": False, "helper": False, "_private": False, "Api.run": True,
        "Internal.run": False}
    assert [f.qualname for f in docstring_findings(units, {})] == ["api", "Api.run"]
    # Without __all__ every function with a public name at module or class level is asked about.
    no_all = [replace(u, exported=None) for u in units]
    assert [u.qualname for u in no_all if asks_for_docstring(u)] == ["api", "helper", "Api.run", "Internal.run"]


def test_go_asks_only_exported_functions():
    from codelens.parsing import extract_units

    text = ("package p\n\nfunc Exported(x int) int {\n\ty := x + 1\n\treturn y\n}\n\n"
            "func hidden(x int) int {\n\ty := x + 1\n\treturn y\n}\n")
    units = extract_units("p.go", text, "go").units
    assert [f.qualname for f in docstring_findings(units, {})] == ["Exported"]


@pytest.mark.parametrize("qualname, expected", [
    ("get_user_name", "Get user name."), ("Parser.parseHTTPHeader", "Parse HTTP header."),
    ("HTTPServer.serve_forever", "Serve forever."), ("__init__", "Init."), ("toJSON", "To JSON."),
    ("___", None),
])
def test_name_summary_reads_the_name_as_a_sentence(qualname, expected):
    from codelens.tasks.summary import name_summary

    assert name_summary(qualname) == expected


@pytest.mark.parametrize("text, repeats", [
    ("Return the list of the list of items.", True),
    ("Return the Value of the value of x", True),
    ("Return the list of items in the list.", False),
    ("Read a file.", False),
])
def test_repeated_phrases_are_found(text, repeats):
    from codelens.tasks.summary import repeats_phrase

    assert repeats_phrase(text) is repeats


def test_gate_drops_unsure_and_degenerate_summaries():
    """Below the gate or with a phrase said twice, a summary is taken out of the results (and so out of
    every finding and report); above it, it is kept as is; the cached raw result is not touched."""
    import dataclasses

    from codelens.tasks.summary import gate_summaries, passes_gate

    sure, unsure, loop, silent = (unit(n) for n in ("sure_fn", "unsure_fn", "loop_fn", "silent_fn"))
    results = {
        sure.hash: dataclasses.replace(result(sure, summary="Parse the header."), summary_confidence=-0.4),
        unsure.hash: dataclasses.replace(result(unsure, summary="Parse the header."), summary_confidence=-2.5),
        loop.hash: dataclasses.replace(result(loop, summary="Return the list of the list of the"),
                                       summary_confidence=-0.1),
        silent.hash: result(silent),
    }
    gated, below = gate_summaries(results, gate=-1.0)
    assert below == 2
    assert gated[sure.hash].summary == "Parse the header."
    assert gated[unsure.hash].summary is None and gated[loop.hash].summary is None
    assert gated[silent.hash].summary is None
    assert results[unsure.hash].summary == "Parse the header."  # the input mapping is left alone
    assert gate_summaries(results, gate=None)[0][unsure.hash].summary == "Parse the header."
    assert not passes_gate("Parse it.", -0.1, 1.0)  # a gate above 0 shows nothing
    findings = docstring_findings([sure, unsure], gated)
    assert [f.fix for f in findings] == ["Parse the header.", None]
