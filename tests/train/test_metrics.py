"""Metrics on hand-computed cases, and the CodeXGLUE code-to-text evaluator's own example."""

from __future__ import annotations

import itertools
import math

import pytest

from codelens.train import metrics as M

# The five-line example of the CodeXGLUE code-to-text evaluator (evaluator/reference.txt and
# evaluator/predictions.txt), which its README scores as 9.554726113590661.
CODEXGLUE_REFERENCES = [
    "Outputs the deferred summary information saved via",
    "Inspect the file referenced in the kubectl stderr to make it easier for developer to understand what s going on",
    "make sure to never prune the ejson - keys secret",
    "Determine the best compressor for the current system . This method returns the class not an instance of the class .",
    "Create the bff file using + mkinstallp + .",
]
CODEXGLUE_PREDICTIONS = [
    "Prints a summary message",
    "Finds the output from the output file",
    "Verify that the given JSON element is present .",
    "Determines the specified compression compression .",
    "Creates a new project .",
]


def test_codexglue_readme_example_scores_exactly():
    assert M.smoothed_bleu4(CODEXGLUE_REFERENCES, CODEXGLUE_PREDICTIONS) == 9.554726113590661


def test_bleu_edge_cases():
    assert M.smoothed_bleu4(["Return the sum of a list."], ["return the sum of a list ."]) == pytest.approx(100.0)
    assert M.smoothed_bleu4(["alpha beta"], ["gamma delta"]) == pytest.approx(0.0, abs=1e-9)
    assert M.smoothed_bleu4([], []) == 0.0
    assert M.split_puncts("Don't stop-now.") == "Don ' t stop - now ."


def test_rouge_l_is_the_lcs_f_measure_with_beta_1_2():
    precision, recall = 5 / 5, 5 / 6
    expected = (1 + 1.44) * precision * recall / (recall + 1.44 * precision) * 100
    assert M.rouge_l(["the cat sat on the mat"], ["The cat on the mat"]) == pytest.approx(expected)
    assert M.rouge_l(["a b"], ["c d"]) == 0.0


def test_binary_metrics():
    out = M.binary_metrics([1, 1, 0, 0, 1], [0.9, 0.4, 0.6, 0.1, 0.7], 0.5)
    assert (out["tp"], out["fp"], out["tn"], out["fn"]) == (2, 1, 1, 1)
    assert out["accuracy"] == pytest.approx(0.6)
    assert out["precision"] == pytest.approx(2 / 3) and out["recall"] == pytest.approx(2 / 3)
    assert out["f1"] == pytest.approx(2 / 3)
    assert M.binary_metrics([0, 0], [0.1, 0.2], 0.5)["f1"] == 0.0


def test_roc_auc_averages_ties():
    assert M.roc_auc([1, 0, 1, 0], [0.8, 0.8, 0.3, 0.1]) == pytest.approx(0.625)
    assert M.roc_auc([0, 1], [0.1, 0.9]) == 1.0
    assert M.roc_auc([1, 1], [0.1, 0.9]) is None


def test_best_f1_threshold():
    assert M.best_f1_threshold([0, 1, 1, 0], [0.2, 0.9, 0.6, 0.7]) == (0.6, pytest.approx(0.8))
    # tied scores fall on the same side: 0.5 takes both of its examples, and ties of F1 keep the higher threshold
    assert M.best_f1_threshold([1, 0, 1, 1], [0.9, 0.5, 0.5, 0.1]) == (0.1, pytest.approx(6 / 7))
    assert M.best_f1_threshold([1, 0], [0.5, 0.5]) == (0.5, pytest.approx(2 / 3))
    assert M.best_f1_threshold([], []) == (0.5, 0.0)
    assert M.best_f1_threshold([0, 0], [0.3, 0.8]) == (0.8, 0.0)


def test_best_f1_threshold_equals_trying_every_threshold():
    import random

    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(1, 30)
        labels = [rng.randint(0, 1) for _ in range(n)]
        scores = [rng.randint(0, 6) / 6 for _ in range(n)]  # many ties
        f1s = {t: M.binary_metrics(labels, scores, t)["f1"] for t in set(scores)}
        best = max(f1s.values())
        assert M.best_f1_threshold(labels, scores) == (max(t for t, f in f1s.items() if f == best), best)


def test_temperature_and_slope_fits_find_the_nll_minimum():
    # Four logits of 2 with three positives: the best probability is 3/4 = sigmoid(2 / T).
    assert M.fit_temperature([2.0] * 4, [1, 1, 1, 0]) == pytest.approx(2 / math.log(3), rel=1e-6)
    assert M.fit_logistic_slope([1.0] * 4, [1, 1, 1, 0]) == pytest.approx(math.log(3), rel=1e-6)
    assert M.fit_temperature([1.0, 2.0], [1, 1]) == 1.0  # one class: nothing to fit


def test_map_at_r_by_hand():
    embeddings = [(1, 0), (0.8, 0.6), (0, 1), (0.6, 0.8), (-1, 0)]
    # a1: [a2, b1] -> 1/2; a2: [b1, a1] -> 1/4; a3: [b1, a2] -> 1/4; b1: [a2] -> 0; b2: [a3] -> 0
    assert M.map_at_r(embeddings, ["a", "a", "a", "b", "b"]) == pytest.approx(0.2)
    assert M.map_at_r([(1, 0), (2, 0), (0, 1), (0, 3)], ["x", "x", "y", "y"]) == pytest.approx(1.0)
    assert M.map_at_r([(1, 0), (0, 1)], ["x", "y"]) is None


def test_random_map_at_r_matches_exhaustive_enumeration():
    groups = ["a", "a", "a", "b", "b"]
    total = 0.0
    for q, g in enumerate(groups):
        others = [i for i in range(len(groups)) if i != q]
        r = groups.count(g) - 1
        aps = []
        for order in itertools.permutations(others):
            hits = [groups[i] == g for i in order[:r]]
            aps.append(sum(sum(hits[:k + 1]) / (k + 1) for k in range(r) if hits[k]) / r)
        total += sum(aps) / len(aps)
    assert M.random_map_at_r(groups) == pytest.approx(total / len(groups))
    assert M.random_map_at_r(["a", "a", "b", "b"]) == pytest.approx(1 / 3)


def test_threshold_for_precision_takes_most_recall_at_the_floor():
    from codelens.train.metrics import threshold_for_precision

    labels = [1, 1, 0, 1, 0, 0]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    # >=0.9: 1/1, >=0.8: 2/2, >=0.7: 2/3, >=0.6: 3/4 (0.75), >=0.5: 3/5
    assert threshold_for_precision(labels, scores, 0.75) == (0.6, 0.75, 1.0)
    assert threshold_for_precision(labels, scores, 0.8) == (0.8, 1.0, 2 / 3)
    assert threshold_for_precision([0, 0, 1], [0.9, 0.8, 0.1], 0.8) is None
    assert threshold_for_precision([0, 0], [0.9, 0.8], 0.5) is None


def test_false_match_threshold():
    import numpy as np

    angles = [0.0, 0.1, 0.3, 1.0, 2.0]  # unit vectors in a plane: cos of the angle between them
    vectors = [np.array([np.cos(a), np.sin(a)], dtype=np.float32) for a in angles]
    # Nearest-other similarities: cos .1, cos .1, cos .2, cos .7, cos 1.0.
    threshold, rate = M.false_match_threshold(vectors, 0.0)
    assert threshold > np.cos(0.1) and rate == 0.0
    threshold, rate = M.false_match_threshold(vectors, 0.4)  # two of five may match: the pair at 0.1
    assert np.cos(0.2) < threshold <= np.cos(0.1) + 1e-6 and rate == 0.4
    threshold, rate = M.false_match_threshold(vectors, 0.5)  # floor(2.5) = 2: the same
    assert rate == 0.4
    threshold, rate = M.false_match_threshold(vectors, 0.6)  # three: the one at 0.3 comes in
    assert np.cos(0.7) < threshold <= np.cos(0.2) + 1e-6 and rate == 0.6
    same = [np.array([1.0, 0.0], dtype=np.float32)] * 3
    assert M.false_match_threshold(same, 0.0) == (1.0, 1.0)  # capped at 1: identical vectors still match
    with pytest.raises(ValueError):
        M.false_match_threshold(vectors[:1], 0.1)


def test_map_at_r_of_similarities_agrees_with_map_at_r():
    import numpy as np

    from codelens.train.metrics import map_at_r, map_at_r_of_similarities

    rng = np.random.default_rng(0)
    emb = rng.standard_normal((12, 4))
    groups = [str(i % 4) for i in range(12)]
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    assert map_at_r_of_similarities(unit @ unit.T, groups) == pytest.approx(map_at_r(emb, groups))
    assert map_at_r_of_similarities(np.eye(3), ["a", "a"]) is None
