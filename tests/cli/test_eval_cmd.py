"""`codelens eval` output handling (the scoring itself is tested in tests/training/test_evaluate.py)."""

from __future__ import annotations

import json

import pytest

from codelens.cli.main import main

SCORES = {"split": "test", "metrics": {"defect": {"f1": 0.5}}}


@pytest.fixture()
def fake_evaluate(monkeypatch):
    import codelens.train.evaluate

    monkeypatch.setattr(codelens.train.evaluate, "evaluate", lambda adapter, **kwargs: SCORES)


def test_output_goes_to_stdout_and_to_a_new_folder(capsys, tmp_path, fake_evaluate):
    out = tmp_path / "reports" / "scores.json"
    assert main(["eval", "--adapter", "a", "--data", "d", "--output", str(out)]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(out.read_text(encoding="utf-8")) == SCORES


def test_an_unwritable_output_is_a_usage_error_that_keeps_the_scores(capsys, tmp_path, fake_evaluate):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert main(["eval", "--adapter", "a", "--data", "d", "--output", str(blocker / "scores.json")]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out) == SCORES and "cannot write" in captured.err
