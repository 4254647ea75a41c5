"""The GPU build script end to end, at a tiny size on the CPU: every stage, the export, the unpacking and a
scan with what comes out. (The GPU run is the same script with the default settings.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.build_small import PRESETS, BuildConfig, run, unpack

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    cfg = BuildConfig(**{**PRESETS["tiny"], "out": str(root / "work"), "export_dir": str(root / "out"),
                         "packages": ["stdlib/json", "stdlib/email", "stdlib/tomllib", "stdlib/csv",
                                      "stdlib/textwrap", "stdlib/shlex"]})
    return run(cfg), root


def test_every_stage_runs_and_records_its_numbers(built):
    stages, root = built
    assert set(stages) == {"corpus", "task_data", "pretrain", "adapter", "bits_per_byte"}
    assert stages["pretrain"]["tokens"] > 0 and stages["pretrain"]["val_bits_per_byte"] > 0
    assert stages["task_data"]["counts"]["train"]["defect"] > 0
    defect = stages["adapter"]["metrics"]["test"]["defect"]
    assert {"roc_auc", "localisation", "joint", "false_alarms_per_1000"} <= set(defect)
    assert set(stages["bits_per_byte"]) >= {"small", "nano"}


def test_the_export_fits_the_machine_and_unpacks_into_a_model_codelens_scans_with(built, tmp_path):
    _, root = built
    parts = sorted((root / "out").iterdir())
    assert len(parts) <= 8 and all(p.stat().st_size <= 16 * 1024 * 1024 for p in parts)
    names = unpack(root / "out", tmp_path / "model")
    assert "base/model.int8.safetensors" in names and "adapter/codelens.json" in names
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest and all({"name", "license", "split", "n_files", "bytes", "tokens"} <= set(row) for row in manifest)
    scan = subprocess.run([sys.executable, "-m", "codelens.cli.main", "scan", str(ROOT / "examples" / "shop"),
                           "--model", str(tmp_path / "model" / "base"), "--adapter", str(tmp_path / "model" / "adapter"),
                           "--no-cache", "--format", "json", "--all"], capture_output=True, text=True, timeout=300)
    assert scan.returncode in (0, 1), scan.stderr
    assert len(json.loads(scan.stdout)["functions"]) == 16


def test_a_second_run_skips_the_stages_already_done(built, capsys):
    stages, root = built
    cfg = BuildConfig(**{**PRESETS["tiny"], "out": str(root / "work"), "export_dir": ""})
    again = run(cfg)
    assert again == stages
    out = capsys.readouterr().out
    # corpus, pretrain, adapter and bits_per_byte say so; the task data process is not even started
    assert out.count("done before, skipped") == 4 and "task_data: start" not in out
