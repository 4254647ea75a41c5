"""`codelens baseline create` and `codelens scan --baseline`: only new findings are reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from codelens.cli.main import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"


@pytest.fixture()
def repo(tmp_path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".codelens-cache"))
    # summaries only word CL300 messages; generating them is most of a tiny model's time
    (target / "codelens.toml").write_text('summaries = "none"\n', encoding="utf-8")
    return target


@pytest.fixture()
def models(tiny_llama, tiny_llama_adapter) -> list[str]:
    # threshold 0: every function is a CL100 finding, so there is plenty to baseline
    return ["--model", str(tiny_llama), "--adapter", str(tiny_llama_adapter), "--defect-threshold", "0.0"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def findings(capsys, repo: Path, models: list[str], *extra: str) -> tuple[int, list[dict]]:
    code, out, _ = run(capsys, "scan", str(repo), *models, "-f", "json", "--fail-on", "low", *extra)
    return code, json.loads(out)["findings"]


@pytest.mark.slow
def test_baseline_accepts_current_findings_and_reports_new_ones(capsys, repo, models):
    code, before = findings(capsys, repo, models)
    assert code == 1 and len(before) >= 16
    code, _, err = run(capsys, "baseline", "create", str(repo), *models)
    baseline = repo / "codelens-baseline.json"
    assert code == 0 and f"baseline of {len(before)} findings written to {baseline}" in err
    data = json.loads(baseline.read_text())
    assert data["schema_version"] == 2 and sum(e["count"] for e in data["entries"]) == len(before)

    assert findings(capsys, repo, models, "--baseline", str(baseline)) == (0, [])

    # moving code keeps it baselined; editing a function makes its findings new
    pricing = repo / "shop" / "pricing.py"
    text = pricing.read_text()
    pricing.write_text("\n\n\n" + text.replace("rate = TAX_RATES[category]", "rate = TAX_RATES.get(category)"))
    code, new = findings(capsys, repo, models, "--baseline", str(baseline))
    assert code == 1
    assert {(f["path"], f["code"]) for f in new} == {("shop/pricing.py", "CL100"), ("shop/pricing.py", "CL300")}
    assert {f["start_line"] for f in new} == {22}  # add_tax, three lines lower than before


@pytest.mark.slow
def test_output_option_and_deterministic_file(capsys, repo, models, tmp_path):
    first, second = tmp_path / "one.json", tmp_path / "out" / "two.json"
    assert run(capsys, "baseline", "create", str(repo), *models, "--output", str(first), "-q")[0] == 0
    assert run(capsys, "baseline", "create", str(repo), *models, "-o", str(second), "-q")[0] == 0
    assert first.read_bytes() == second.read_bytes() and first.read_text().endswith("}\n")


def test_configured_baseline_path_is_used_and_relative_to_the_config(capsys, repo, models):
    (repo / ".git").mkdir()
    (repo / "codelens.toml").write_text('summaries = "none"\nbaseline = "ci/accepted.json"\n', encoding="utf-8")
    assert run(capsys, "baseline", "create", str(repo / "shop"), *models, "-q")[0] == 0
    assert (repo / "ci" / "accepted.json").is_file()
    code, new = findings(capsys, repo / "shop", models)
    assert (code, new) == (0, [])


def test_missing_or_corrupt_baseline_is_exit_2(capsys, repo, models, tmp_path):
    code, _, err = run(capsys, "scan", str(repo), *models, "--baseline", str(tmp_path / "none.json"))
    assert code == 2 and "does not exist" in err and "codelens baseline create" in err
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    code, _, err = run(capsys, "scan", str(repo), *models, "--baseline", str(tmp_path / "bad.json"))
    assert code == 2 and "is not valid JSON" in err
