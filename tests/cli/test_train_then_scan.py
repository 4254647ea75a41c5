"""`codelens train` then `codelens scan` through the CLI, on tiny bases of each supported architecture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codelens.cli.main import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = FIXTURES / "corpus"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"


pytestmark = pytest.mark.slow


def train(capsys, base: Path, out: Path) -> str:
    code = main(["train", "--model", str(base), "--corpus", str(CORPUS), "--split-by", "subdir",
                 "--manifest", str(CORPUS / "splits.json"), "--max-steps", "3", "--batch-size", "4",
                 "--threads", "1", "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def scan_json(capsys, base: Path, adapter: Path, *extra: str) -> dict:
    # Every summary (the gate of a 3-step adapter hides most): the output's shape is what is checked.
    code = main(["scan", str(EXAMPLE), "--model", str(base), "--adapter", str(adapter), "--format", "json",
                 "--all", "--neighbours", "3", "--no-cache", "--fail-on", "never", "--summary-threshold", "-100",
                 *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def check_shape(data: dict) -> None:
    assert list(data) == ["schema_version", "tool", "model", "functions", "clones", "findings", "stats"]
    assert len(data["functions"]) == 16
    wanted = []
    for function in data["functions"]:
        assert 0.0 <= function["defect_probability"] <= 1.0
        assert len(function["neighbours"]) == 3
        assert all(-1.0 <= n["similarity"] <= 1.0 for n in function["neighbours"])
        if not function["has_docstring"] and not function["qualname"].rsplit(".", 1)[-1].startswith("_"):
            wanted.append(function["summary"])
    # A 3-step model's text can loop, and a looping summary is never shown: most, not all, get one.
    assert sum(s is not None for s in wanted) > len(wanted) // 2
    assert all("\n" not in s for s in wanted if s is not None)


@pytest.fixture(scope="module")
def trained_llama(tiny_llama, tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("trained-llama") / "adapter"


@pytest.mark.parametrize("arch", ["llama", "qwen2", "starcoder2"])
def test_train_then_scan(capsys, arch, request, tmp_path):
    base = request.getfixturevalue(f"tiny_{arch}")
    out = tmp_path / "adapter"
    printed = train(capsys, base, out)
    assert "trainable parameters:" in printed and "%" in printed
    meta = json.loads((out / "codelens.json").read_text())
    assert meta["base_model"] == str(base)
    assert set(meta["metrics"]) >= {"val", "test"}
    check_shape(scan_json(capsys, base, out))


@pytest.mark.parametrize("quantize", ["int8", "nf4"])
def test_quantised_scan_with_a_trained_adapter(capsys, quantize, tiny_llama, tmp_path):
    out = tmp_path / "adapter"
    train(capsys, tiny_llama, out)
    data = scan_json(capsys, tiny_llama, out, "--quantize", quantize)
    check_shape(data)
    assert data["model"]["quantize"] == quantize
