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
    assert set(stages) == {"corpus", "tokens", "task_data", "pretrain", "adapter", "bits_per_byte"}
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
    shipped = json.loads((tmp_path / "model" / "adapter" / "codelens.json").read_text())
    assert shipped["base_model"] == shipped["training"]["config"]["model"] == "codelens-small"
    assert shipped["languages"] == ["python"]
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
    # corpus, tokens, pretrain, adapter and bits_per_byte say so; the task data process is not even started
    assert out.count("done before, skipped") == 5 and "task_data: start" not in out


def test_model_card_is_written_from_the_build_records(tmp_path):
    """Every number of the card comes from build.json, the manifest and the log; none is typed by hand."""
    import hashlib
    import json

    from training.model_card import write_card

    manifest = json.dumps([{"name": "stdlib/json", "version": "3.11", "license": "PSF-2.0", "split": "train",
                            "n_files": 3, "bytes": 9000, "tokens": 2500}], indent=1) + "\n"
    (tmp_path / "manifest.json").write_text(manifest)
    (tmp_path / "log.jsonl").write_text("".join(
        json.dumps({"step": s, "tokens": 100 * s, "train_loss": 5 - s / 100, "val_loss": 5.5 - s / 100}) + "\n"
        for s in range(10, 310, 10)))
    test = {"defect": {"roc_auc": 0.91, "localisation": 0.6, "joint": 0.52, "false_alarms_per_1000": 3.5,
                       "precision": 0.85, "recall": 0.4}, "clone": {"map_at_r": 0.8, "pair_f1": 0.7},
            "summary": {"bleu4": 19.5, "rouge_l": 33.0, "shown": 0.6}}
    build = {"config": {"d_model": 512, "n_layers": 8, "n_heads": 8, "vocab_size": 16384, "seq_len": 512,
                        "device": "cuda", "tokenizer": "training/assets/tokenizer-16k"},
             "stages": {"pretrain": {"parameters": 30_000_000, "tokens": 600_000_000, "flops": 1.1e17, "steps": 4000,
                                     "packed_bytes": 31 * 2**20, "seconds": 360},
                        "adapter": {"steps": 900, "trainable_params": 4_000_000, "data_hash": "abc", "seconds": 180,
                                    "metrics": {"test": test}},
                        "corpus": {"packages": 300, "files": 20000, "seconds": 30},
                        "bits_per_byte": {"small": {"bits_per_byte": 1.1}, "nano": {"bits_per_byte": 1.95}}}}
    (tmp_path / "build.json").write_text(json.dumps(build))
    card = write_card(tmp_path).read_text()
    assert "parameters: 30,000,000" in card and "600,000,000 tokens" in card and "(20.0 tokens per parameter)" in card
    assert hashlib.sha256(manifest.encode()).hexdigest() in card
    assert "| small | 1.100 |" in card and "| nano | 1.950 |" in card
    assert "| defect ROC-AUC | 0.910 | n/a |" in card and "| defect joint localisation + repair | 52.0 % | n/a |" in card
    assert "| 300 | 30,000 | 2.000 | 2.500 |" in card  # the last loss row is always in
    assert "9.5 minutes of build stages" in card
