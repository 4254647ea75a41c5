"""`codelens config show`: the resolved settings as TOML that reads back to the same config."""

from __future__ import annotations

import tomllib

from codelens.cli.main import main
from codelens.config import ScanConfig
from codelens.settings import resolve_config, settings_from_table

PYPROJECT = '''[project]
name = "demo"

[tool.codelens]
fail-on = "medium"
exclude = ["vendor/**"]
defect-threshold = 0.7

[tool.codelens.per-path."tests/**"]
fail-on = "never"
disable = ["CL300"]
'''


def show(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["config", "show", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_file_settings_are_marked_and_the_output_reads_back(capsys, tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    code, out, _ = show(capsys, str(tmp_path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"# codelens settings for {tmp_path.resolve()}"
    assert lines[1] == f"# from {tmp_path / 'pyproject.toml'} (keys marked 'from file'); the rest are built-in defaults"
    assert 'fail-on = "medium"  # from file' in lines
    assert 'exclude = ["vendor/**"]  # from file' in lines
    assert "defect-threshold = 0.7  # from file" in lines
    assert 'format = "text"' in lines and "# model is not set" in lines
    assert lines[-3:] == ['[tool.codelens.per-path."tests/**"]', 'fail-on = "never"', 'ignore = ["CL300"]']
    table = tomllib.loads(out)["tool"]["codelens"]
    assert ScanConfig(**settings_from_table(table, "shown")) == resolve_config(tmp_path, {})


def test_defaults_when_no_file(capsys, tmp_path):
    (tmp_path / ".git").mkdir()
    code, out, _ = show(capsys, str(tmp_path))
    assert code == 0 and "built-in defaults" in out.splitlines()[1]
    assert ScanConfig(**settings_from_table(tomllib.loads(out)["tool"]["codelens"], "shown")) == ScanConfig()


def test_bad_value_is_exit_2_naming_key_file_and_choices(capsys, tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "codelens.toml").write_text('fail-on = "sometimes"\n', encoding="utf-8")
    code, _, err = show(capsys, str(tmp_path))
    assert code == 2
    assert "fail-on = 'sometimes' is not allowed" in err and "codelens.toml" in err
    assert "info, low, medium, high" in " ".join(err.split())


def test_a_missing_path_is_a_usage_error(capsys, tmp_path):
    code, out, err = show(capsys, str(tmp_path / "typo"))
    assert (code, out) == (2, "") and "does not exist" in err
