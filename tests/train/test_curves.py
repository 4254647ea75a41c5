"""The curves an adapter's metrics carry for the model card's plots, and the trainer's loss history."""

from __future__ import annotations

import pytest

from codelens.core import Calibration, Thresholds
from codelens.model.forward import sigmoid
from codelens.train import metrics as M
from codelens.train.data import DefectExample
from codelens.train.data.dataset import TaskData
from codelens.train.evaluate import Scores, ScoredSplit, loss_history, task_curves, task_metrics


def test_threshold_curve_is_precision_and_recall_at_score_quantiles():
    labels = [1, 1, 0, 1, 0, 0]
    scores = [0.9, 0.8, 0.7, 0.6, 0.3, 0.1]
    assert M.threshold_curve(labels, scores, points=6) == [
        [0.1, 0.5, 1.0], [0.3, 0.6, 1.0], [0.6, 0.75, 1.0], [0.7, 2 / 3, 2 / 3], [0.8, 1.0, 2 / 3],
        [0.9, 1.0, 1 / 3]]
    # Fewer points: the top, middle and bottom scores, so each threshold reports something.
    assert M.threshold_curve(labels, scores, points=3) == [[0.1, 0.5, 1.0], [0.7, 2 / 3, 2 / 3], [0.9, 1.0, 1 / 3]]
    assert M.threshold_curve([], [], points=3) == []


def test_reliability_bins_hold_mean_confidence_and_share_of_positives():
    labels = [0, 1, 1, 1, 0, 1]
    confidences = [0.05, 0.15, 0.12, 0.95, 0.91, 1.0]
    assert M.reliability_bins(labels, confidences, bins=10) == [
        [0.0, 0.1, 1, 0.05, 0.0],
        [0.1, 0.2, 2, pytest.approx(0.135), 1.0],
        [0.9, 1.0, 3, pytest.approx((0.95 + 0.91 + 1.0) / 3), 2 / 3],
    ]


def _defect_data() -> ScoredSplit:
    rows = [(f"clean{i}", 0, -2.0 + i / 4) for i in range(8)] + [(f"bug{i}", 1, -0.5 + i / 2) for i in range(8)]
    data = TaskData(defect=[DefectExample(code, label, "original" if label == 0 else "off-by-one", None, "r", "val",
                                          code) for code, label, _ in rows])
    return ScoredSplit(data, Scores(logits={code: logit for code, _, logit in rows}))


def test_task_metrics_carry_the_defect_curves_of_the_calibrated_probability():
    scored = _defect_data()
    data, scores = scored.data, scored.scores
    calibration = Calibration(defect_temperature=2.0)
    metrics = task_metrics(scored, Thresholds(defect=0.5), calibration)["defect"]
    probs = [sigmoid(scores.logits[e.code] / 2.0) for e in data.defect]
    labels = [e.label for e in data.defect]
    assert metrics["reliability"] == M.reliability_bins(labels, probs, 10)
    assert metrics["threshold_curve"] == M.threshold_curve(labels, probs, 30)
    # At the threshold the curve agrees with the split's own precision and recall.
    at = next(c for c in metrics["threshold_curve"] if c[0] >= 0.5)
    assert (at[1], at[2]) == (metrics["precision"], metrics["recall"])
    assert task_curves(ScoredSplit(TaskData(), Scores()), Thresholds(), Calibration()) == {}


def test_loss_history_averages_windows_of_steps():
    history = [{"defect": float(i), "clone": 10.0 + i} for i in range(10)]
    history[3]["clone"] = float("nan")  # a skipped step's loss is left out of its window
    assert loss_history(history, first_step=11, points=4) == {
        "step": [13, 16, 19, 20], "clone": [11.0, 14.5, 17.0, 19.0], "defect": [1.0, 4.0, 7.0, 9.0]}
    assert loss_history(history[:2], points=200) == {"step": [1, 2], "clone": [10.0, 11.0], "defect": [0.0, 1.0]}
    assert loss_history([]) == {}
