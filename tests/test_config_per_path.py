"""Per-path overrides ([tool.codelens.per-path."GLOB"]) and file-relative baseline paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from codelens.config import PathOverride, ScanConfig
from codelens.errors import ConfigError
from codelens.findings import Finding, Severity
from codelens.report.model import ScanReport
from codelens.scan import ScanOutcome, exit_code_for
from codelens.settings import resolve_config

PYPROJECT = '''[tool.codelens]
fail-on = "low"

[tool.codelens.per-path."tests/**"]
fail-on = "never"
disable = ["CL300", "clone"]

[tool.codelens.per-path."tests/slow/**"]
min-confidence = 0.9
'''


def finding(path: str, code: str = "CL100", severity: Severity = Severity.MEDIUM, confidence: float = 0.8) -> Finding:
    rule = {"CL100": "likely-defect", "CL200": "clone", "CL300": "missing-docstring"}[code]
    return Finding(code, rule, path, 1, 2, "f", "m", severity, confidence, "h")


def repo(tmp_path: Path, text: str) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_tables_are_read_in_order_with_kebab_keys(tmp_path):
    config = resolve_config(repo(tmp_path, PYPROJECT), {})
    assert config.per_path == (PathOverride("tests/**", fail_on="never", ignore=("CL300", "clone")),
                               PathOverride("tests/slow/**", min_confidence=0.9))


def test_overrides_apply_to_matching_paths_only(tmp_path):
    config = resolve_config(repo(tmp_path, PYPROJECT), {})
    assert config.fail_on_for("tests/test_a.py") == "never"
    assert config.fail_on_for("src/a.py") == "low"
    assert config.reports(finding("src/a.py", "CL300"))
    assert not config.reports(finding("tests/test_a.py", "CL300"))
    assert not config.reports(finding("tests/test_a.py", "CL200"))  # disabled by rule name
    assert config.reports(finding("tests/test_a.py", "CL100", confidence=0.5))
    assert not config.reports(finding("tests/slow/test_b.py", "CL100", confidence=0.5))
    assert config.reports(finding("tests/slow/test_b.py", "CL100", confidence=0.95))


def test_exit_code_uses_the_fail_on_of_each_findings_path(tmp_path):
    config = resolve_config(repo(tmp_path, PYPROJECT), {})
    outcome = lambda *fs: ScanOutcome(ScanReport(units=[], results={}, findings=list(fs)))  # noqa: E731
    assert exit_code_for(outcome(finding("tests/test_a.py", severity=Severity.HIGH)), config) == 0
    assert exit_code_for(outcome(finding("src/a.py", severity=Severity.LOW)), config) == 1
    assert exit_code_for(outcome(finding("src/a.py", "CL300", severity=Severity.INFO)), config) == 0
    assert exit_code_for(outcome(), ScanConfig(fail_on="never")) == 0


def test_later_tables_win_key_by_key():
    config = ScanConfig(per_path=(PathOverride("**/*.py", fail_on="high", min_confidence=0.2),
                                  PathOverride("gen/**", fail_on="never")))
    assert config.fail_on_for("gen/x.py") == "never"
    assert not config.reports(finding("gen/x.py", confidence=0.1))


@pytest.mark.parametrize("table, message", [
    ('[tool.codelens.per-path."t/**"]\nfail-on = "sometimes"\n', "fail-on = 'sometimes' is not allowed"),
    ('[tool.codelens.per-path."t/**"]\nfail_on = 3\n', 'per-path."t/**".fail_on must be str'),
    ('[tool.codelens.per-path."t/**"]\nmin-confidence = 2\n', "min-confidence = 2 must be between 0 and 1"),
    ('[tool.codelens.per-path."t/**"]\ndisable = ["CL999"]\n', "unknown rule 'CL999'"),
    ('[tool.codelens.per-path."t/**"]\nformat = "json"\n', "unknown setting 'format' in per-path"),
    ('[tool.codelens]\nper-path = "tests"\n', "per-path must be tables"),
])
def test_bad_overrides_name_the_file_and_key(tmp_path, table, message):
    with pytest.raises(ConfigError) as info:
        resolve_config(repo(tmp_path, table), {})
    assert message in info.value.message
    assert str(tmp_path / "pyproject.toml") in info.value.message


def test_relative_baseline_setting_is_relative_to_the_config_file(tmp_path):
    root = repo(tmp_path, '[tool.codelens]\nbaseline = "ci/baseline.json"\n')
    (root / "src").mkdir()
    assert resolve_config(root / "src", {}).baseline == str(root / "ci" / "baseline.json")
    assert resolve_config(root / "src", {"baseline": "other.json"}).baseline == "other.json"
