"""Progress while task data is built and decisions are fitted: each stage reports 0 of its total first and
its total last, so `codelens train` can show an ETA for it."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from codelens.train.data.dataset import DataConfig, corpus_task_data
from codelens.train.data.functions import load_manifest
from codelens.train.evaluate import LEXICAL_WEIGHTS, Scores, ScoredSplit, fit_decisions, split_codes

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


def stages(events: list[tuple[str, int, int]]) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for stage, done, total in events:
        out.setdefault(stage, []).append((done, total))
    return out


def test_data_building_reports_each_stage_from_zero_to_its_total():
    events = []
    data = corpus_task_data([CORPUS], DataConfig(split_by="subdir", manifest=load_manifest(CORPUS / "splits.json")),
                            progress=lambda *e: events.append(e))
    seen = stages(events)
    assert list(seen) == ["reading repositories", "making examples (functions)", "pairing clones",
                          "mining independent clones"]
    for counts in seen.values():
        assert counts[0][0] == 0 and counts[-1][0] == counts[-1][1]
        assert [d for d, _ in counts] == sorted(d for d, _ in counts)
    assert seen["making examples (functions)"][-1][1] == data.provenance["functions"]


def test_fitting_reports_each_decision_and_every_clone_weight():
    data = corpus_task_data([CORPUS], DataConfig(split_by="subdir", manifest=load_manifest(CORPUS / "splits.json")))
    val = data.split("val")
    rng = random.Random(0)
    codes, _ = split_codes(val, 0)
    scores = Scores(logits={c: rng.uniform(-2, 2) for c in codes},
                    embeddings={c: np.asarray([rng.uniform(-1, 1) for _ in range(8)], np.float32) for c in codes})
    events = []
    fit_decisions(ScoredSplit(val, scores), lambda *e: events.append(e))
    seen = stages(events)
    assert list(seen) == ["fitting the defect threshold", "fitting the clone score's Jaccard weight",
                          "fitting the clone threshold", "fitting the summary gate"]
    assert seen["fitting the clone score's Jaccard weight"] == [(i, len(LEXICAL_WEIGHTS))
                                                              for i in range(len(LEXICAL_WEIGHTS) + 1)]
