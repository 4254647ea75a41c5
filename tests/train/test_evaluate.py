"""`codelens eval`: scoring a saved adapter reproduces the trainer's own validation numbers."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from codelens.errors import ConfigError
from codelens.train.evaluate import evaluate
from codelens.train.trainer import train
from codelens.train_config import TrainConfig

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


@pytest.mark.slow
def test_evaluate_reproduces_the_trainers_numbers(trained):
    result, root = trained
    for split in ("val", "test"):
        # No split settings given: the adapter's own (subdir + its manifest) are used.
        report = evaluate(str(root / "adapter"), data=[str(root / "corpus")], split=split, device="cpu",
                          dtype="float32", max_summaries=3)
        assert report["split"] == split and report["base_model"].endswith("tiny-llama0")
        assert _close(report["metrics"], result.metrics[split])
        assert report["counts"]["defect"] == result.metrics[split]["defect"]["n"]


def _close(a, b, tolerance: float = 1e-6) -> bool:
    if isinstance(a, dict):
        # The plots' curves hold clone confidences, a steep logistic of the cosine: the saved adapter's merged
        # LoRA moves a cosine by ~1e-7, and them by ~1e-6.
        return a.keys() == b.keys() and all(
            _close(a[k], b[k], 1e-4 if k in ("reliability", "threshold_curve") else tolerance) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y, tolerance) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == pytest.approx(b, abs=tolerance)
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
    from codelens.train.data import CloneExample, ClonePair
    from codelens.train.data.dataset import TaskData
    from codelens.train.evaluate import CLONE_MAX_FALSE_MATCH, Scores, ScoredSplit, fit_decisions

    # One name for all, so identifier sets cannot tell the classes apart (the clone score stays the cosine).
    body = "def f(items):\n    total = 0\n    for item in items:\n        total += item * {i}\n    return total\n"
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
    thresholds, _, notes = fit_decisions(ScoredSplit(val, scores))
    # Pairs alone: cos(0.088) keeps every true pair and no negative (F1 = 1). But every original's
    # nearest other original is 0.04 rad away, so a threshold that low would give every function a false
    # match: it goes just above cos(0.04), keeping the 15 variants closer than that.
    # (the F1 threshold sits halfway between cos(0.088), the lowest true pair, and the next lower similarity)
    sims = [math.cos(0.088)] + [float(_unit_vector(0.04 * i) @ _unit_vector(0.04 * ((i + 20) % 40))) for i in range(40)]
    midpoint = (math.cos(0.088) + max(s for s in sims if s < math.cos(0.088))) / 2
    assert f"F1-optimal threshold on validation pairs {midpoint:.4f}" in notes["clone"]
    assert math.cos(0.04) < thresholds.clone < math.cos(0.038)
    assert f"at most {CLONE_MAX_FALSE_MATCH}" in notes["clone"] and "clone pair recall 0.375" in notes["clone"]
    assert "0.000 of 40 unrelated validation functions" in notes["clone"]


def test_copies_in_several_clone_classes_are_not_false_matches():
    """A function standing in two classes (a mined negative that is also an original), or a vendored copy
    that differs only in comments, is a clone a scan finds by hash: it must not push the threshold to 1.0."""
    from codelens.train.data import CloneExample, ClonePair
    from codelens.train.data.dataset import TaskData
    from codelens.train.evaluate import Scores, ScoredSplit, fit_decisions

    body = "def f(items):\n    total = 0\n    for item in items:\n        total += item * {i}\n    return total\n"
    codes = [body.format(i=i) for i in range(40)]
    scores = Scores()
    for i, code in enumerate(codes):
        scores.embeddings[code] = _unit_vector(0.1 * i)
    clone = [CloneExample(c, f"g{i}", "original", "r", "val") for i, c in enumerate(codes)]
    pairs = [ClonePair(codes[i], codes[(i + 1) % 40], 1, "transform", "r", "val") for i in range(20)]
    pairs += [ClonePair(codes[i], codes[(i + 20) % 40], 0, "random-negative", "r", "val") for i in range(40)]
    alone, _, alone_notes = fit_decisions(ScoredSplit(TaskData(clone=list(clone), clone_pairs=pairs), scores))
    # Ten more classes whose first member is one of the functions above, five of them copies with a comment.
    for i in range(10):
        copy = codes[i] if i % 2 else codes[i].replace("total = 0", "total = 0  # vendored")
        scores.embeddings[copy] = scores.embeddings[codes[i]]
        clone.append(CloneExample(copy, f"negative{i}", "random-negative", "r", "val"))
    with_copies, _, notes = fit_decisions(ScoredSplit(TaskData(clone=clone, clone_pairs=pairs), scores))
    assert with_copies.clone == alone.clone < 1.0
    assert "of 40 unrelated validation functions" in notes["clone"] and "of 40 unrelated" in alone_notes["clone"]


def test_defect_scores_per_bug_kind():
    """Each bug kind is ranked against every clean example; recall counts its examples at the threshold."""
    from codelens.core import Calibration, Thresholds
    from codelens.train.data import DefectExample
    from codelens.train.data.dataset import TaskData
    from codelens.train.evaluate import Scores, ScoredSplit, task_metrics

    rows = [("clean0", 0, "original", -1.0), ("clean1", 0, "rename", 0.0), ("clean2", 0, "original", 1.0),
            ("flip0", 1, "flipped-boolean", 2.0), ("flip1", 1, "flipped-boolean", 3.0),
            ("misuse0", 1, "variable-misuse", -2.0), ("misuse1", 1, "variable-misuse", 0.5)]
    data = TaskData(defect=[DefectExample(code, label, kind, None, "r", "test", code) for code, label, kind, _ in rows])
    scores = Scores(logits={code: logit for code, _, _, logit in rows})
    metrics = task_metrics(ScoredSplit(data, scores), Thresholds(defect=0.8), Calibration(defect_temperature=1.0))
    by_kind = metrics["defect"]["by_kind"]
    assert list(by_kind) == ["flipped-boolean", "variable-misuse"]
    # flipped booleans outrank every clean example; misuse beats one of three clean at -2 and two at 0.5.
    assert by_kind["flipped-boolean"] == {"n": 2, "recall": 1.0, "roc_auc": 1.0, "localisation": None, "joint": None}
    assert by_kind["variable-misuse"]["n"] == 2 and by_kind["variable-misuse"]["recall"] == 0.0
    assert by_kind["variable-misuse"]["roc_auc"] == pytest.approx(2 / 6)
    # sigmoid(2) = 0.88 and sigmoid(3) = 0.95 reach the 0.8 threshold: the two flips, nothing else.
    assert metrics["defect"]["tp"] == 2 and metrics["defect"]["fp"] == 0


def test_kind_table_of_a_trained_adapter(trained):
    from training.nano import kind_table

    result, root = trained
    lines = kind_table(root / "adapter", root / "corpus", "val").splitlines()
    assert lines[0] == ("| bug kind | val examples | ROC-AUC against clean code | localisation | joint "
                        "| reported at the threshold |")
    defect = result.metrics["val"]["defect"]
    kinds = [line.split(" | ")[0].lstrip("| ") for line in lines[2:-1]]
    assert kinds == sorted(defect["by_kind"]) and kinds
    assert sum(int(line.split(" | ")[1]) for line in lines[2:-1]) == defect["tp"] + defect["fn"]
    # The table runs at the scan's precision (bf16 on this CPU), the trainer's numbers were taken in fp32.
    total, auc, located, joint, recall = lines[-1].strip("| ").split(" | ")[1:]
    assert lines[-1].startswith("| all kinds | ") and int(total) == defect["tp"] + defect["fn"]
    assert float(auc) == pytest.approx(defect["roc_auc"], abs=0.02) and float(recall) == pytest.approx(defect["recall"], abs=0.05)
    assert float(located) == pytest.approx(defect["localisation"], abs=0.05) and float(joint) <= float(located)


def test_a_function_scores_the_same_in_evaluation_and_in_a_scan(trained):
    """Training evaluation and `codelens scan` run one forward (codelens.model.forward): same numbers."""
    from codelens.config import ScanConfig
    from codelens.model.forward import sigmoid
    from codelens.model.loading import load_model
    from codelens.model.options import ModelSpec
    from codelens.scan import run_scan
    from codelens.train.evaluate import score_codes

    _, root = trained
    adapter = root / "adapter"
    config = ScanConfig(adapter=str(adapter), device="cpu", dtype="float32", cache=False, summaries="none")
    report = run_scan(root / "corpus" / "gridlib", config).report
    units = {u.hash: u for u in report.units}
    assert len(units) >= 5
    loaded = load_model(ModelSpec(adapter=str(adapter), device="cpu", dtype="float32"))
    # Evaluation sees the bodies in another order and mixed with other code, so in other batches.
    extra = ["def other(a):\n    return a * 2\n" * n for n in range(1, 6)]
    scores = score_codes(loaded, extra + [u.body for u in reversed(list(units.values()))], set())
    temperature = loaded.meta.calibration.defect_temperature
    for unit_hash, unit in units.items():
        scanned = report.results[unit_hash]
        assert scores.logits[unit.body] == pytest.approx(scanned.defect_logit, abs=1e-5)
        assert sigmoid(scores.logits[unit.body] / temperature) == pytest.approx(scanned.defect_probability, abs=1e-6)
        assert float((scores.embeddings[unit.body] * scanned.embedding).sum()) == pytest.approx(1.0, abs=1e-5)


def _summary_val(rows):
    """A scored validation split from (name, reference, prediction, confidence) rows."""
    from codelens.train.data import SummaryExample
    from codelens.train.data.dataset import TaskData
    from codelens.train.evaluate import Scores, ScoredSplit

    data = TaskData(summary=[SummaryExample(f"def {n}():\n    pass  # {i}\n", ref, "r", "val", f"m.py:{n}")
                             for i, (n, ref, _, _) in enumerate(rows)])
    scores = Scores()
    for example, (_, _, pred, confidence) in zip(data.summary, rows):
        scores.summaries[example.code] = pred
        scores.summary_confidence[example.code] = confidence
    return ScoredSplit(data, scores)


def test_summary_gate_shows_only_what_beats_the_function_name():
    """Sure summaries are right, unsure ones are noise: the gate lands between the two groups, at the
    lowest confidence where the shown summaries still beat the split name."""
    from codelens.train.evaluate import fit_decisions, task_metrics

    rows = [(f"get_value_{i}", f"Compute the checksum of block {i}.", f"Compute the checksum of block {i}.", -0.2 - i / 100)
            for i in range(30)]
    rows += [(f"load_item_{i}", f"Load item {i} from disk.", "Write a socket frame.", -3.0 - i / 100) for i in range(30)]
    val = _summary_val(rows)
    thresholds, calibration, notes = fit_decisions(val)
    assert -3.0 < thresholds.summary < -0.49
    assert "gain most over the split name: 30 of 60" in notes["summary"]
    gated = task_metrics(val, thresholds, calibration)["summary"]
    assert gated["shown"] == 0.5 and gated["shown_bleu"] > gated["shown_name_bleu"]


def test_summary_gate_shows_nothing_when_the_name_always_wins():
    from codelens.train.evaluate import NOTHING_SHOWN, fit_decisions

    rows = [(f"load_item_{i}", f"Load item {i}.", "Write a socket frame.", -0.5 - i / 100) for i in range(30)]
    thresholds, _, notes = fit_decisions(_summary_val(rows))
    assert thresholds.summary == NOTHING_SHOWN and "suggests no summary" in notes["summary"]


def test_summary_gate_needs_enough_summaries():
    from codelens.train.evaluate import fit_decisions

    rows = [(f"f{i}", "Do it.", "Do it.", -0.5) for i in range(5)]
    thresholds, _, notes = fit_decisions(_summary_val(rows))
    assert thresholds.summary is None and "summary" not in notes


def _named_classes():
    """A validation split of clone classes whose members share their names, with embeddings that carry no
    signal."""
    import numpy as np

    from codelens.train.data import CloneExample, ClonePair
    from codelens.train.data.dataset import TaskData
    from codelens.train.evaluate import Scores, ScoredSplit

    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]
    codes, clone = [], []
    for g, word in enumerate(words):
        for k in range(2):
            code = (f"def {word}_{k}({word}_items, {word}_limit):\n    {word}_total = {k}\n"
                    f"    for {word}_item in {word}_items:\n        {word}_total += {word}_item\n    return {word}_total\n")
            codes.append(code)
            clone.append(CloneExample(code, f"g{g}", "original", "r", "val"))
    scores = Scores(embeddings={c: rng.standard_normal(16).astype(np.float32) for c in codes})
    pairs = [ClonePair(codes[2 * g], codes[2 * g + 1], 1, "transform", "r", "val") for g in range(len(words))]
    pairs += [ClonePair(codes[2 * g], codes[(2 * g + 3) % len(codes)], 0, "random-negative", "r", "val")
              for g in range(len(words))]
    return ScoredSplit(TaskData(clone=clone, clone_pairs=pairs), scores)


def test_lexical_weight_is_fitted_where_identifiers_separate_what_embeddings_do_not():
    """Embeddings that carry no signal, classes that share their names: validation MAP@R picks a Jaccard
    weight, and the scores reported on a split use it."""
    from codelens.core import Calibration
    from codelens.train.evaluate import fit_decisions, task_metrics

    val = _named_classes()
    thresholds, calibration, notes = fit_decisions(val)
    assert thresholds.clone_lexical > 0 and "0.0: " in notes["clone_lexical"]
    metrics = task_metrics(val, thresholds, calibration or Calibration())["clone"]
    assert metrics["map_at_r"] == 1.0 and metrics["map_at_r_embedding"] < 0.5
    assert metrics["pair_f1"] == 1.0


def test_validation_is_measured_from_the_matrices_its_decisions_were_fitted_on(monkeypatch):
    """Fitting and measuring the same split read one Jaccard matrix and one cosine per pair."""
    from codelens.tasks import clone
    from codelens.train import evaluate as E

    calls = {"jaccard_matrix": 0, "cosine": 0}

    def counted(name, function):
        def wrapper(*args):
            calls[name] += 1
            return function(*args)
        return wrapper

    monkeypatch.setattr(clone, "jaccard_matrix", counted("jaccard_matrix", clone.jaccard_matrix))
    monkeypatch.setattr(E, "_cosine", counted("cosine", E._cosine))
    val = _named_classes()
    thresholds, calibration, _ = E.fit_decisions(val)
    metrics = E.task_metrics(val, thresholds, calibration)["clone"]
    assert thresholds.clone_lexical > 0 and metrics["map_at_r"] == 1.0
    assert calls == {"jaccard_matrix": 1, "cosine": len(val.data.clone_pairs)}
