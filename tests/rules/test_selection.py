"""Rule selection in ruff's terms: select / ignore by code, prefix, ALL or name; the most specific wins."""

from __future__ import annotations

import pytest

from codelens.config import PathOverride, ScanConfig
from codelens.errors import ConfigError
from codelens.rules import check_selectors, selected_rules, split_selectors


@pytest.mark.parametrize("select, ignore, expected", [
    ((), (), {"CL100", "CL200", "CL300"}),
    (("CL1",), (), {"CL100"}),
    (("CL",), ("CL1",), {"CL200", "CL300"}),
    (("CL100",), ("CL",), {"CL100"}),          # a more specific select beats a broader ignore
    (("CL100",), ("CL100",), set()),           # equally specific: ignore wins
    (("ALL",), ("missing-docstring",), {"CL100", "CL200"}),
    (("clone", "cl3"), (), {"CL200", "CL300"}),  # names and any case
    ((), ("CL2", "CL3"), {"CL100"}),
])
def test_most_specific_selector_decides(select, ignore, expected):
    assert selected_rules(select, ignore) == expected


def test_an_empty_select_keeps_what_was_selected_before():
    assert selected_rules((), ("CL100",), before={"CL100", "CL200"}) == {"CL200"}
    assert selected_rules(("CL3",), (), before={"CL100"}) == {"CL300"}


def test_comma_separated_lists_are_split():
    assert split_selectors(["CL100,CL200", " CL3 ", ""]) == ("CL100", "CL200", "CL3")


@pytest.mark.parametrize("selector", ["CL999", "CL4", "X", "duplicate"])
def test_unknown_selectors_name_the_setting_and_list_the_rules(selector):
    with pytest.raises(ConfigError) as info:
        check_selectors([selector], "select")
    assert info.value.message == f"select: unknown rule {selector!r}"
    assert "CL100 (likely-defect), CL200 (clone), CL300 (missing-docstring)" in info.value.hint


def test_per_path_selection_applies_on_top_of_the_global_one():
    config = ScanConfig(ignore=("CL300",), per_path=(
        PathOverride("gen/**", ignore=("CL",)), PathOverride("gen/keep/**", select=("CL2",)),
        PathOverride("docs/**", select=("CL300",))))
    assert config.rules_for("src/a.py") == {"CL100", "CL200"}
    assert config.rules_for("gen/a.py") == set()
    assert config.rules_for("gen/keep/a.py") == {"CL200"}
    assert config.rules_for("docs/a.py") == {"CL300"}  # a per-path select brings a rule back


def test_config_file_keys_select_ignore_and_the_older_disable(tmp_path):
    from codelens.settings import resolve_config

    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.codelens]\nselect = ["CL1", "CL2"]\nignore = "CL200"\n'
        '[tool.codelens.per-path."tests/**"]\nselect = ["CL"]\ndisable = ["CL300"]\nignore = ["clone"]\n',
        encoding="utf-8")
    config = resolve_config(tmp_path, {})
    assert (config.select, config.ignore) == (("CL1", "CL2"), ("CL200",))
    assert config.per_path == (PathOverride("tests/**", select=("CL",), ignore=("CL300", "clone")),)
    assert config.rules_for("src/a.py") == {"CL100"}
    assert config.rules_for("tests/a.py") == {"CL100"}


def test_unknown_codes_in_the_config_file_name_the_file(tmp_path):
    from codelens.settings import resolve_config

    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.codelens.per-path."t/**"]\nselect = ["CL9"]\n',
                                             encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        resolve_config(tmp_path, {})
    assert info.value.message == f'{tmp_path / "pyproject.toml"}: per-path."t/**".select: unknown rule \'CL9\''


def test_unknown_code_on_the_command_line_is_a_usage_error(capsys, tmp_path):
    from codelens.cli.main import main

    (tmp_path / "a.py").write_text("def f():\n    return 1\n", encoding="utf-8")
    assert main(["scan", str(tmp_path), "--no-config", "--select", "CL1,CL7"]) == 2
    err = capsys.readouterr().err
    assert "select: unknown rule 'CL7'" in err and "CL300 (missing-docstring)" in err
