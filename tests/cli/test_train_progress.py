"""`codelens train`'s progress: every counted stage with an ETA, and a warning when a task came out unusable."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from codelens.cli.train_cmd import TrainDisplay, duration, eta, headline
from codelens.rules.measured import unusable_tasks
from codelens.train.trainer import TrainProgress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def display() -> tuple[TrainDisplay, io.StringIO, Clock]:
    out, clock = io.StringIO(), Clock()
    console = Console(file=out, width=200, force_terminal=False)
    return TrainDisplay(console, live=False, clock=clock), out, clock


def test_eta_from_the_rate_so_far():
    assert eta(100.0, 0, 25, 100, 110.0) == 30.0
    assert eta(100.0, 10, 10, 100, 110.0) is None  # no progress yet
    assert [duration(s) for s in (None, 42.4, 185, 3725)] == ["?", "42s", "3m05s", "1h02m"]


def test_counted_stages_log_every_tenth_with_an_eta_off_a_terminal():
    show, out, clock = display()
    for done in range(0, 101, 5):
        show(TrainProgress("data", message="making examples (functions)", done=done, total=100))
        clock.now += 1.0
    lines = out.getvalue().splitlines()
    assert lines[0] == "[data] making examples (functions) 0/100 (eta ?)"
    assert lines[1] == "[data] making examples (functions) 10/100 (eta 18s)"
    assert lines[-1] == "[data] making examples (functions) 100/100 (done)"
    assert len(lines) == 11


def test_steps_messages_and_mid_run_evaluation():
    show, out, clock = display()
    show(TrainProgress("model", message="trainable 1,000 of 9,000 parameters"))
    for step in (1, 2):
        clock.now += 2.0
        show(TrainProgress("train", step, 2, losses={"defect": 0.5, "clone": 0.25}))
    show(TrainProgress("eval", 2, 2, metrics={"defect": {"roc_auc": 0.7, "recall": 0.1, "n": 4},
                                              "summary": {"bleu4": 3.0, "shown": 0.5}}))
    assert out.getvalue().splitlines() == [
        "[model] trainable 1,000 of 9,000 parameters",
        "[train] steps 1/2 (eta ?) clone=0.2500 defect=0.5000",
        "[train] steps 2/2 (done) clone=0.2500 defect=0.5000",
        "[eval] step 2: defect roc_auc=0.7000, defect recall=0.1000, summary bleu4=3.0000, summary shown=0.5000"]


def test_quiet_shows_nothing():
    out = io.StringIO()
    show = TrainDisplay(Console(file=out), quiet=True)
    show(TrainProgress("data", message="x", done=1, total=2))
    assert out.getvalue() == ""


def test_headline_skips_what_is_missing():
    assert headline({"clone": {"map_at_r": 0.5}}) == "clone map_at_r=0.5000"


@pytest.mark.parametrize("metrics, thresholds, expected", [
    ({"test": {"defect": {"recall": 0.0004, "roc_auc": 0.52}}}, {"defect": 0.9},
     "defect recall 0.0 %: CL100 will report almost nothing; the model barely tells buggy from clean functions "
     "(ROC-AUC 0.520)"),
    ({"test": {"defect": {"recall": 0.0, "roc_auc": 0.8}}}, {"defect": 1.0},
     "defect recall 0.0 %: CL100 will report almost nothing; no threshold reached precision 0.8 on validation"),
    ({"val": {"summary": {"shown": 0.0}}, "test": {}}, {"summary": 1.0},
     "summaries shown 0.0 %: CL300 will suggest no docstring; no confidence gate let enough validation summaries "
     "through that beat the function's own name"),
    ({"test": {"clone": {"pair_f1": 0.01, "pair_roc_auc": 0.5}}}, {"clone": 0.9},
     "clone pair F1 0.010: CL200 will find only exact copies; the clone embeddings barely separate clones"),
])
def test_unusable_tasks_are_named_with_the_likely_cause(metrics, thresholds, expected):
    warnings = unusable_tasks(metrics, thresholds)
    assert len(warnings) == 1 and warnings[0].startswith(expected)


def test_usable_tasks_give_no_warning():
    metrics = {"test": {"defect": {"recall": 0.3, "roc_auc": 0.8}, "clone": {"pair_f1": 0.6},
                        "summary": {"shown": 0.2}}}
    assert unusable_tasks(metrics, {"defect": 0.7, "clone": 0.9, "summary": -1.5}) == []


def test_thresholds_are_read_as_written(tmp_path):
    from codelens.cli.train_cmd import written_thresholds

    (tmp_path / "codelens.json").write_text('{"thresholds": {"defect": 1.0, "summary": 1.0}}', encoding="utf-8")
    assert written_thresholds(tmp_path) == {"defect": 1.0, "summary": 1.0}  # a gate that shows nothing, too
    assert written_thresholds(tmp_path / "missing") == {}
