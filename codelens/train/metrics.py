"""Evaluation metrics: defects (accuracy / P / R / F1 / ROC-AUC), clones (pair F1, MAP@R), summaries (BLEU, ROUGE-L).

Pure Python (numpy only for MAP@R's similarity matrix), so they are easy to check by hand.

* ``smoothed_bleu4`` reproduces the CodeXGLUE code-to-text evaluator: each sentence is lower-cased and
  split into word / punctuation runs, scored against its one reference with the NIST (mteval) tokeniser,
  add-one smoothing on 2..4-gram precisions, brevity penalty exp(min(0, 1 - (r + 1) / (c + 1))), and the
  per-sentence scores averaged and multiplied by 100.
* ``rouge_l`` is the LCS F-measure with beta = 1.2, as in the widely used pycocoevalcap / CodeXGLUE-style
  ROUGE-L, on the same tokens as BLEU, averaged over sentences, times 100.
"""

from __future__ import annotations

import math
import re
import sys
import xml.sax.saxutils

_WORDS = re.compile(r"\w+|[^\s\w]")
# NIST mteval-v11a tokenisation (as in the CodeXGLUE bleu.py): punctuation gets spaces around it, except
# the apostrophe; periods and commas only when not between digits; a dash after a digit.
_NIST_RULES = [
    (re.compile(r"([{-~\[-` -&(-+:-@/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]
_TINY = sys.float_info.min
ROUGE_BETA = 1.2


# ---------------------------------------------------------------------------------------------- defects

def binary_metrics(labels: list[int], scores: list[float], threshold: float) -> dict:
    """Accuracy, precision, recall, F1 and the confusion counts of ``score >= threshold`` against labels."""
    tp = sum(1 for y, s in zip(labels, scores) if y == 1 and s >= threshold)
    fp = sum(1 for y, s in zip(labels, scores) if y != 1 and s >= threshold)
    fn = sum(1 for y, s in zip(labels, scores) if y == 1 and s < threshold)
    tn = len(labels) - tp - fp - fn
    precision, recall, f1 = _precision_recall_f1(tp, fp, fn)
    accuracy = (tp + tn) / len(labels) if labels else 0.0
    return {"accuracy": accuracy, "precision": precision, "recall": recall, "f1": f1,
            "tp": tp, "fp": fp, "tn": tn, "fn": fn, "n": len(labels)}


def _precision_recall_f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def roc_auc(labels: list[int], scores: list[float]) -> float | None:
    """Area under the ROC curve from ranks (Mann-Whitney U), tied scores sharing their mean rank.

    None when only one class is present.
    """
    pos = sum(1 for y in labels if y == 1)
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1  # 1-based mean rank of the tie group
        i = j + 1
    rank_sum = sum(r for r, y in zip(ranks, labels) if y == 1)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def best_f1_threshold(labels: list[int], scores: list[float]) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of ``score >= threshold``; ties go to the higher threshold.

    One sweep down the sorted scores (validation sets run to tens of thousands of examples, where
    re-counting at every candidate threshold would take minutes).
    """
    positives = sum(1 for y in labels if y == 1)
    order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
    best = (0.5, -1.0)
    tp = fp = 0
    i = 0
    while i < len(order):
        threshold = scores[order[i]]
        while i < len(order) and scores[order[i]] == threshold:  # every score equal to it is predicted positive
            if labels[order[i]] == 1:
                tp += 1
            else:
                fp += 1
            i += 1
        f1 = _precision_recall_f1(tp, fp, positives - tp)[2]
        if f1 > best[1]:
            best = (threshold, f1)
    return best if best[1] >= 0 else (0.5, 0.0)


def between(threshold: float, scores: list[float]) -> float:
    """``threshold`` moved halfway down to the next lower score: the same decisions on ``scores``, but not
    balanced on one of them, so a function that scores a hair differently elsewhere (merged LoRA weights,
    another batch's padding, bf16) is not decided differently."""
    lower = [s for s in scores if s < threshold]
    return (threshold + max(lower)) / 2 if lower else threshold


def threshold_for_precision(labels: list[int], scores: list[float], min_precision: float) -> tuple[float, float, float] | None:
    """(threshold, precision, recall) of the lowest threshold whose ``score >= threshold`` precision is at
    least ``min_precision`` (the most recall at that precision), or None when no threshold reaches it."""
    positives = sum(1 for y in labels if y == 1)
    if positives == 0:
        return None
    order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
    best = None
    tp = fp = 0
    i = 0
    while i < len(order):
        threshold = scores[order[i]]
        while i < len(order) and scores[order[i]] == threshold:
            if labels[order[i]] == 1:
                tp += 1
            else:
                fp += 1
            i += 1
        precision = tp / (tp + fp)
        if precision >= min_precision:
            best = (threshold, precision, tp / positives)
    return best


def precision_curve(labels: list[int], scores: list[float], points: int = 20) -> list[list[float]]:
    """[score, precision] at up to ``points`` score levels (quantiles of the positive-scored examples), score
    ascending: the share of examples scoring at least that much that are positives."""
    ranked = sorted(zip(scores, labels), reverse=True)
    if not ranked:
        return []
    levels = sorted({ranked[min(len(ranked) - 1, round(q * (len(ranked) - 1) / max(1, points - 1)))][0]
                     for q in range(points)})
    out, tp, seen, i = [], 0, 0, 0
    for level in reversed(levels):
        while i < len(ranked) and ranked[i][0] >= level:
            tp += ranked[i][1]
            seen += 1
            i += 1
        out.append([float(level), tp / seen if seen else 0.0])
    return list(reversed(out))


def threshold_curve(labels: list[int], scores: list[float], points: int = 30) -> list[list[float]]:
    """[threshold, precision, recall] of ``score >= threshold`` at up to ``points`` thresholds (quantiles of the
    scores, so each reports something), threshold ascending: what moving the threshold buys and costs."""
    ranked = sorted(zip(scores, labels), reverse=True)
    positives = sum(1 for y in labels if y == 1)
    if not ranked:
        return []
    levels = sorted({ranked[round(q * (len(ranked) - 1) / max(1, points - 1))][0] for q in range(points)},
                    reverse=True)
    out, tp, seen, i = [], 0, 0, 0
    for level in levels:
        while i < len(ranked) and ranked[i][0] >= level:
            tp += ranked[i][1] == 1
            seen += 1
            i += 1
        out.append([float(level), tp / seen, tp / positives if positives else 0.0])
    return out[::-1]


def reliability_bins(labels: list[int], confidences: list[float], bins: int = 10) -> list[list[float]]:
    """A reliability diagram's data: for each of ``bins`` equal-width confidence bins of [0, 1] that holds
    examples, [low, high, count, mean confidence, share of positives]. A calibrated model's points lie on
    the diagonal."""
    members: list[list[tuple[float, int]]] = [[] for _ in range(bins)]
    for confidence, label in zip(confidences, labels):
        members[min(bins - 1, max(0, int(confidence * bins)))].append((confidence, label))
    return [[b / bins, (b + 1) / bins, len(m), sum(c for c, _ in m) / len(m), sum(y == 1 for _, y in m) / len(m)]
            for b, m in enumerate(members) if m]


def _golden_min(f, lo: float, hi: float, iters: int = 80) -> float:
    """Minimiser of a unimodal ``f`` on [lo, hi] by golden-section search."""
    ratio = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return (a + b) / 2


def _nll(values: list[float], labels: list[int], scale: float) -> float:
    """Mean binary cross-entropy of sigmoid(scale * value) against the labels (numerically stable)."""
    total = 0.0
    for x, y in zip(values, labels):
        z = scale * x
        total += max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))
    return total / max(1, len(values))


def fit_temperature(logits: list[float], labels: list[int], low: float = 0.05, high: float = 20.0) -> float:
    """Temperature T minimising the NLL of sigmoid(logit / T): golden-section search over log T in [low, high]."""
    if not logits or len(set(labels)) < 2:
        return 1.0
    log_t = _golden_min(lambda u: _nll(logits, labels, math.exp(-u)), math.log(low), math.log(high))
    return math.exp(log_t)


def fit_logistic_slope(values: list[float], labels: list[int], low: float = 0.1, high: float = 1000.0) -> float:
    """Slope s > 0 minimising the NLL of sigmoid(s * value): golden-section search over log s."""
    if not values or len(set(labels)) < 2:
        return 1.0
    return math.exp(_golden_min(lambda u: _nll(values, labels, math.exp(u)), math.log(low), math.log(high)))


# ----------------------------------------------------------------------------------------------- clones

def map_at_r(embeddings, groups: list[str]) -> float | None:
    """Mean average precision at R over cosine similarity (embeddings are L2-normalised by this function).

    For each item whose class has R >= 1 other members, rank all other items by similarity (ties by
    position), take the top R and average precision@k over the relevant positions k, divided by R.
    None when no item has a class-mate.
    """
    import numpy as np

    emb = np.asarray(embeddings, dtype=np.float64)
    if emb.ndim != 2 or len(emb) != len(groups) or len(emb) < 2:
        return None
    emb = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
    return map_at_r_of_similarities(emb @ emb.T, groups)


def map_at_r_of_similarities(similarities, groups: list[str]) -> float | None:
    """``map_at_r`` over any n x n similarity matrix (a lexical score, say); the diagonal is ignored."""
    import numpy as np

    sims = np.array(similarities, dtype=np.float64)
    if sims.ndim != 2 or sims.shape != (len(groups), len(groups)) or len(groups) < 2:
        return None
    np.fill_diagonal(sims, -np.inf)
    labels = np.asarray([hash(g) for g in groups])
    scores = []
    for i in range(len(groups)):
        relevant = labels == labels[i]
        relevant[i] = False
        r = int(relevant.sum())
        if r == 0:
            continue
        top = np.argsort(-sims[i], kind="stable")[:r]
        hits = relevant[top].astype(np.float64)
        precision_at_k = np.cumsum(hits) / np.arange(1, r + 1)
        scores.append(float((precision_at_k * hits).sum() / r))
    return sum(scores) / len(scores) if scores else None


def random_map_at_r(groups: list[str]) -> float | None:
    """Expected MAP@R of a uniformly random ranking for these classes (the chance level)."""
    counts: dict[str, int] = {}
    for g in groups:
        counts[g] = counts.get(g, 0) + 1
    m = len(groups) - 1
    values = []
    for g in groups:
        r = counts[g] - 1
        if r == 0:
            continue
        # E[P@k * rel_k] = P(rel_k) * E[1 + hits among the k-1 before | rel_k] / k (hypergeometric draws).
        ap = sum((r / m) * (1 + (k - 1) * (r - 1) / max(1, m - 1)) / k for k in range(1, r + 1)) / r
        values.append(ap)
    return sum(values) / len(values) if values else None


# -------------------------------------------------------------------------------------------- summaries

def split_puncts(text: str) -> str:
    """CodeXGLUE's pre-processing: word runs and single punctuation marks, joined by spaces."""
    return " ".join(_WORDS.findall(text))


def _nist_tokens(text: str) -> list[str]:
    text = text.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    text = xml.sax.saxutils.unescape(text, {"&quot;": '"'})
    text = f" {text} ".lower()
    for pattern, replacement in _NIST_RULES:
        text = pattern.sub(replacement, text)
    return text.split()


def _ngram_counts(tokens: list[str], n: int = 4) -> dict[tuple[str, ...], int]:
    counts: dict[tuple[str, ...], int] = {}
    for k in range(1, n + 1):
        for i in range(len(tokens) - k + 1):
            gram = tuple(tokens[i:i + k])
            counts[gram] = counts.get(gram, 0) + 1
    return counts


def sentence_bleu(reference: str, prediction: str, n: int = 4) -> float:
    """Smoothed sentence BLEU-n in [0, 1] of already pre-processed text (see ``smoothed_bleu4``)."""
    ref, hyp = _nist_tokens(reference), _nist_tokens(prediction)
    ref_counts = _ngram_counts(ref, n)
    correct = [0] * n
    for gram, count in _ngram_counts(hyp, n).items():
        correct[len(gram) - 1] += min(ref_counts.get(gram, 0), count)
    log_bleu = 0.0
    for k in range(n):
        guess = max(len(hyp) - k, 0)
        smooth = 1 if k > 0 else 0  # unigrams unsmoothed, 2..n-grams add-one
        log_bleu += math.log(correct[k] + smooth + _TINY) - math.log(guess + smooth + _TINY)
    log_bleu /= n
    brevity = min(0.0, 1 - (len(ref) + 1) / (len(hyp) + 1))
    return math.exp(log_bleu + brevity)


def smoothed_bleu4(references: list[str], predictions: list[str]) -> float:
    """CodeXGLUE code-to-text smoothed BLEU-4 (0-100): mean sentence score over the pairs."""
    if not references:
        return 0.0
    prep = lambda s: split_puncts(s.strip().lower())  # noqa: E731
    total = sum(sentence_bleu(prep(r), prep(p)) for r, p in zip(references, predictions))
    return total * 100.0 / len(references)


def _lcs(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(references: list[str], predictions: list[str], beta: float = ROUGE_BETA) -> float:
    """Mean ROUGE-L F-measure (0-100): LCS precision P, recall R, F = (1 + b^2) P R / (R + b^2 P), b = 1.2."""
    if not references:
        return 0.0
    total = 0.0
    for ref, hyp in zip(references, predictions):
        r, h = split_puncts(ref.strip().lower()).split(), split_puncts(hyp.strip().lower()).split()
        lcs = _lcs(r, h)
        if lcs == 0:
            continue
        precision, recall = lcs / len(h), lcs / len(r)
        total += (1 + beta ** 2) * precision * recall / (recall + beta ** 2 * precision)
    return total * 100.0 / len(references)


def false_match_threshold(embeddings: list, max_rate: float) -> tuple[float, float]:
    """(threshold, rate): the lowest cosine threshold at which at most ``max_rate`` of the functions have
    another function at or above it, and the share that do at that threshold.

    ``embeddings`` are L2-normalised vectors of functions that are not clones of each other (one per
    clone class): any match among them is a false one, as most matches are in a real repository.
    """
    import numpy as np

    if len(embeddings) < 2:
        raise ValueError("need at least two functions")
    matrix = np.asarray(embeddings, dtype=np.float32)
    return false_match_threshold_of_similarities(matrix @ matrix.T, max_rate)


def false_match_threshold_of_similarities(similarities, max_rate: float) -> tuple[float, float]:
    """``false_match_threshold`` over any n x n similarity matrix (the fused clone score, say)."""
    import numpy as np

    sims = np.array(similarities, dtype=np.float32)
    if len(sims) < 2:
        raise ValueError("need at least two functions")
    np.fill_diagonal(sims, -np.inf)
    nearest = np.sort(sims.max(axis=1))
    allowed = int(math.floor(max_rate * len(nearest)))  # functions that may keep a false match
    # Everything strictly above the (allowed+1)-th highest nearest similarity is at most `allowed` functions.
    cut = float(nearest[len(nearest) - allowed - 1])
    # Just above it; capped at 1, where only functions embedded identically still match.
    threshold = min(float(np.nextafter(np.float32(cut), np.float32(2.0))), 1.0)
    return threshold, float((nearest >= threshold).mean())
