"""Settings resolution: defaults < [tool.codelens] < command line; bad values name key and file."""

from pathlib import Path

import pytest

from codelens.config import ScanConfig
from codelens.core import Thresholds
from codelens.errors import ConfigError
from codelens.settings import find_config_file, resolve_config


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_file(tmp_path):
    (tmp_path / ".git").mkdir()
    config = resolve_config(tmp_path, {})
    assert config == ScanConfig()
    assert config.source == "defaults"


def test_pyproject_table_then_cli_override(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path / "pyproject.toml", '[tool.codelens]\nfail-on = "high"\nneighbours = 3\nexclude = ["tests/**"]\n')
    config = resolve_config(tmp_path / "sub", {"neighbours": 5, "format": None})
    assert config.fail_on == "high"
    assert config.neighbours == 5
    assert config.exclude == ("tests/**",)
    assert config.source == str(tmp_path / "pyproject.toml")


def test_codelens_toml_wins_over_pyproject_in_same_folder(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path / "pyproject.toml", '[tool.codelens]\nformat = "json"\n')
    write(tmp_path / "codelens.toml", 'format = "sarif"\n')
    assert resolve_config(tmp_path, {}).format == "sarif"


def test_search_stops_at_repository_root(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.codelens]\nformat = "json"\n')
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    assert find_config_file(tmp_path / "repo") is None


def test_unknown_key_names_key_file_and_known_keys(tmp_path):
    (tmp_path / ".git").mkdir()
    path = write(tmp_path / "pyproject.toml", "[tool.codelens]\nfail_onn = 'high'\n")
    with pytest.raises(ConfigError) as err:
        resolve_config(tmp_path, {})
    assert "fail_onn" in err.value.message and str(path) in err.value.message
    assert "fail-on" in err.value.hint


def test_bad_choice_lists_allowed_values_and_source(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path / "pyproject.toml", "[tool.codelens]\nformat = 'xml'\n")
    with pytest.raises(ConfigError) as err:
        resolve_config(tmp_path, {})
    assert "format" in err.value.message and "pyproject.toml" in err.value.message
    assert "text, json, sarif" in err.value.hint


def test_wrong_type_is_an_error(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path / "pyproject.toml", "[tool.codelens]\nneighbours = 'three'\n")
    with pytest.raises(ConfigError, match="neighbours must be int"):
        resolve_config(tmp_path, {})


def test_broken_toml_is_an_error(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path / "pyproject.toml", "[tool.codelens\n")
    with pytest.raises(ConfigError, match="cannot be read"):
        resolve_config(tmp_path, {})


@pytest.mark.parametrize(
    "field,value",
    [("min_confidence", 1.5), ("neighbours", -1), ("device", "tpu"), ("quantize", "int4"), ("defect_threshold", 2.0)],
)
def test_out_of_range_values(field, value):
    with pytest.raises(ConfigError):
        ScanConfig(**{field: value})


def test_clone_tests_is_a_file_key_and_a_flag(tmp_path):
    from codelens.cli.options import SCAN_OPTIONS
    from codelens.field_docs import field_docs

    (tmp_path / ".git").mkdir()
    assert ScanConfig().clone_tests is False and field_docs(ScanConfig)["clone_tests"]
    write(tmp_path / "pyproject.toml", "[tool.codelens]\nclone-tests = true\n")
    assert resolve_config(tmp_path, {}).clone_tests is True
    assert resolve_config(tmp_path, {"clone_tests": False}).clone_tests is False
    assert any(o.field == "clone_tests" and o.decls == ("--clone-tests",) for o in SCAN_OPTIONS)
    write(tmp_path / "pyproject.toml", '[tool.codelens]\nclone-tests = "yes"\n')
    with pytest.raises(ConfigError, match="clone-tests must be bool"):
        resolve_config(tmp_path, {})


def test_thresholds_override_only_what_is_set():
    adapter = Thresholds(defect=0.3, clone=0.8, clone_lexical=0.25, summary=-1.5)
    assert ScanConfig().thresholds(adapter) == adapter
    assert ScanConfig(defect_threshold=0.9, summary_threshold=-100.0).thresholds(adapter) == Thresholds(
        defect=0.9, clone=0.8, clone_lexical=0.25, summary=-100.0)
