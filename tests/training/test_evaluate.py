"""`codelens eval`: scoring a saved adapter reproduces the trainer's own validation numbers."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from codelens.errors import ConfigError
from training.evaluate import evaluate
from training.trainer import TrainConfig, train

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


@pytest.fixture(scope="module")
def trained(tiny_llama, tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    for name in ("numtools", "ledger", "gridlib"):
        shutil.copytree(CORPUS / name, root / "corpus" / name)
    manifest = root / "splits.json"
    manifest.write_text(json.dumps({"numtools": "train", "ledger": "val", "gridlib": "test"}))
    cfg = TrainConfig(model=str(tiny_llama), corpus=[str(root / "corpus")], split_by="subdir", manifest=str(manifest),
                      out=str(root / "adapter"), max_steps=3, batch_size=4, lora_r=4, lora_alpha=8, head_hidden=16,
                      clone_dim=8, device="cpu", dtype="float32", bugs_per_function=1, clone_variants=1,
                      max_code_tokens=96, max_eval_summaries=3, threads=1)
    return train(cfg), root


def test_evaluate_reproduces_the_trainers_numbers(trained):
    result, root = trained
    for split in ("val", "test"):
        # No split settings given: the adapter's own (subdir + its manifest) are used.
        report = evaluate(str(root / "adapter"), data=[str(root / "corpus")], split=split, device="cpu",
                          dtype="float32", max_summaries=3)
        assert report["split"] == split and report["base_model"].endswith("tiny-llama0")
        assert _close(report["metrics"], result.metrics[split])
        assert report["counts"]["defect"] == result.metrics[split]["defect"]["n"]


def _close(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == pytest.approx(b, abs=1e-6)
    return a == b


def test_evaluate_on_a_codexglue_file(trained, tmp_path):
    _, root = trained
    path = tmp_path / "valid.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"func": "def f(a):\n    return a + 1", "target": 0, "project": "p", "idx": 1},
        {"func": "def g(a):\n    return a - 1", "target": 1, "project": "p", "idx": 2},
    ]) + "\n")
    report = evaluate(str(root / "adapter"), data=[str(path)], split="val", device="cpu", dtype="float32")
    assert report["counts"] == {"defect": 2, "clone": 0, "clone_pairs": 0, "summary": 0}
    assert report["metrics"]["defect"]["n"] == 2 and report["metrics"]["defect"]["roc_auc"] in (0.0, 1.0)


def test_bad_requests(trained):
    _, root = trained
    with pytest.raises(ConfigError, match="split"):
        evaluate(str(root / "adapter"), data=[str(root / "corpus")], split="holdout")
    with pytest.raises(ConfigError, match="no evaluation data"):
        evaluate(str(root / "adapter"), data=[])


def test_bad_data_fails_before_the_weights_load(trained, tmp_path, monkeypatch):
    from codelens.model import loading

    _, root = trained

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the data was checked")

    monkeypatch.setattr(loading, "load_base", no_loading)
    with pytest.raises(ConfigError):
        evaluate(str(root / "adapter"), data=[str(tmp_path / "missing")], split="test")


def _unit_vector(angle: float):
    import numpy as np

    return np.array([np.cos(angle), np.sin(angle)], dtype=np.float32)


def test_clone_threshold_is_raised_to_bound_false_matches():
    """Pairs alone would put the threshold low; unrelated functions crowding together raise it."""
    from training.data import CloneExample, ClonePair
    from training.data.dataset import TaskData
    from training.evaluate import CLONE_MAX_FALSE_MATCH, Scores, fit_decisions

    body = "def f{i}(items):\n    total = 0\n    for item in items:\n        total += item * {i}\n    return total\n"
    codes = [body.format(i=i) for i in range(40)]
    variants = [c.replace("total", "acc") for c in codes]
    scores = Scores()
    for i, (code, variant) in enumerate(zip(codes, variants)):
        # Originals 0.04 rad apart; variant i sits 0.01 + 0.002 i rad from its original (0.01 to 0.088).
        scores.embeddings[code] = _unit_vector(0.04 * i)
        scores.embeddings[variant] = _unit_vector(0.04 * i + 0.01 + 0.002 * i)
    clone = [CloneExample(c, f"g{i}", "original", "r", "val") for i, c in enumerate(codes)]
    clone += [CloneExample(v, f"g{i}", "rename", "r", "val") for i, v in enumerate(variants)]
    pairs = [ClonePair(codes[i], variants[i], 1, "transform", "r", "val") for i in range(40)]
    pairs += [ClonePair(codes[i], codes[(i + 20) % 40], 0, "random-negative", "r", "val") for i in range(40)]
    val = TaskData(clone=clone, clone_pairs=pairs)
    thresholds, _, notes = fit_decisions(val, scores)
    # Pairs alone: cos(0.088) keeps every true pair and no negative (F1 = 1). But every original's
    # nearest other original is 0.04 rad away, so a threshold that low would give every function a false
    # match: it goes just above cos(0.04), keeping the 15 variants closer than that.
    assert f"F1-optimal threshold on validation pairs {math.cos(0.088):.4f}" in notes["clone"]
    assert math.cos(0.04) < thresholds.clone < math.cos(0.038)
    assert f"at most {CLONE_MAX_FALSE_MATCH}" in notes["clone"] and "clone pair recall 0.375" in notes["clone"]
    assert "0.000 of 40 unrelated validation functions" in notes["clone"]
