"""The real-code CL100 benchmark's planting and matching (the scans themselves run in the benchmark)."""

import ast
import shutil
import sysconfig
from pathlib import Path

from benchmarks.real_code import PLANTED_KINDS, found_rates, plant


def test_planted_bugs_sit_where_they_say_and_the_files_still_parse(tmp_path):
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    shutil.copy(stdlib / "csv.py", tmp_path / "csv.py")
    shutil.copy(stdlib / "textwrap.py", tmp_path / "textwrap.py")
    planted = plant(tmp_path)
    assert len(planted) > 20 and {p["kind"] for p in planted} <= set(PLANTED_KINDS)
    for p in planted:
        line = (tmp_path / p["path"]).read_text().splitlines()[p["line"] - 1]
        assert line[p["column"] - 1:].startswith(p["text"]) and p["text"] != p["repair"]
    for path in tmp_path.glob("*.py"):
        ast.parse(path.read_text())


def test_a_bug_counts_as_found_only_at_its_token_with_its_repair():
    planted = [{"path": "a.py", "line": 3, "column": 9, "kind": "wrong-comparison", "text": "<", "repair": "<="},
               {"path": "a.py", "line": 7, "column": 5, "kind": "off-by-one", "text": "1", "repair": "0"},
               {"path": "b.py", "line": 2, "column": 1, "kind": "flipped-boolean", "text": "True", "repair": "False"}]
    report = {"findings": [
        {"code": "CL100", "path": "a.py", "region": {"start_line": 3, "start_column": 9}, "replacement": "<="},
        {"code": "CL100", "path": "a.py", "region": {"start_line": 7, "start_column": 5}, "replacement": "2"},
        {"code": "CL200", "path": "b.py", "region": {"start_line": 2, "start_column": 1}, "replacement": "False"}]}
    rates = found_rates(planted, report)
    assert (rates["planted"], rates["located"], rates["repaired"]) == (3, 2, 1)
    assert rates["by_kind"]["wrong-comparison"] == {"planted": 1, "found": 1}
