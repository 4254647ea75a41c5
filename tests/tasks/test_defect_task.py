"""CL100: threshold, severity bands, confidence and bad input."""

from __future__ import annotations

from dataclasses import replace

import pytest

from codelens.errors import ConfigError
from codelens.findings import Region, Severity
from codelens.tasks.defect import defect_findings, defect_severity
from tests.tasks.factory import located, result, unit


def _findings(probabilities, threshold=0.5, min_confidence=0.0):
    units = [unit(f"f{i}", "pkg/a.py", 10 * i + 1) for i in range(len(probabilities))]
    results = {u.hash: result(u, p) for u, p in zip(units, probabilities)}
    return defect_findings(units, results, threshold, min_confidence)


def test_reports_functions_at_or_above_the_threshold_only():
    findings = _findings([0.49, 0.5, 0.8])
    assert [(f.qualname, f.start_line) for f in findings] == [("f1", 11), ("f2", 21)]


@pytest.mark.parametrize("probability, severity", [
    (0.5, Severity.LOW), (0.6999, Severity.LOW), (0.7, Severity.MEDIUM), (0.8999, Severity.MEDIUM),
    (0.9, Severity.HIGH), (1.0, Severity.HIGH)])
def test_severity_follows_probability_bands(probability, severity):
    assert defect_severity(probability) == severity
    assert _findings([probability])[0].severity == severity


def test_finding_carries_code_name_confidence_and_a_message_naming_function_and_score():
    (finding,) = _findings([0.873])
    assert (finding.code, finding.rule, finding.path, finding.end_line) == ("CL100", "likely-defect", "pkg/a.py", 5)
    assert finding.confidence == 0.873
    assert finding.message == "f0 may hold a bug (score 0.87)"
    assert finding.unit_hash == unit("f0", "pkg/a.py", 1).hash and finding.region is None


def test_a_located_bug_gives_the_token_its_file_position_and_the_repair():
    source = "def f(items, limit):\n    return [x for x in items if x < limit]"
    u = unit("Box.f", "pkg/a.py", 40, source)
    u = replace(u, indent="    ")  # a method: its first line starts at column 5
    results = {u.hash: result(u, 0.9, bug=located(u, "<", "<=", kind="wrong-comparison"))}
    (finding,) = defect_findings([u], results, 0.5, precision_curve=[[0.5, 0.6], [0.85, 0.92]])
    column = source.split("\n")[1].index("<") + 1
    assert finding.region == Region(41, column, 41, column + 1) and finding.replacement == "<="
    assert finding.message == (f"Box.f may hold a bug at line 41, column {column}: `<`, did you mean `<=`? "
                               "(score 0.90; the model's precision at this score on held-out code: 0.92)")
    assert finding.severity == Severity.HIGH
    assert u.position(0) == (40, 5)


@pytest.mark.parametrize("precision, severity", [(0.95, Severity.HIGH), (0.85, Severity.MEDIUM),
                                                 (0.79, Severity.INFO)])
def test_with_a_measured_precision_the_severity_follows_it(precision, severity):
    # below 0.8 measured precision a CL100 is info: the default fail-on (low) does not block a commit on it
    assert defect_severity(0.99, precision) == severity


def test_the_body_position_skips_the_removed_docstring():
    source = 'def f(a):\n    """Doc."""\n    return a + 1'
    u = replace(unit("f", "pkg/a.py", 7, source), body=source.replace('    """Doc."""\n', ""),
                body_cut=(10, 25))
    assert u.source[:10] + u.source[25:] == u.body
    assert u.position(u.body.index("+")) == (9, 14)


def test_min_confidence_drops_less_sure_findings():
    assert [f.qualname for f in _findings([0.6, 0.75], min_confidence=0.7)] == ["f1"]


def test_functions_without_a_usable_result_are_skipped():
    good, missing, nan = unit("good"), unit("missing", start=20), unit("nan", start=40)
    results = {good.hash: result(good, 0.95), nan.hash: result(nan, 0.5)}
    results[nan.hash].defect_probability = float("nan")
    assert [f.qualname for f in defect_findings([good, missing, nan], results, 0.5)] == ["good"]


@pytest.mark.parametrize("threshold, min_confidence", [(1.5, 0.0), (-0.1, 0.0), (0.5, 2.0)])
def test_out_of_range_settings_are_config_errors(threshold, min_confidence):
    with pytest.raises(ConfigError, match="between 0 and 1"):
        _findings([0.9], threshold, min_confidence)
