"""Scoring an adapter on task data: the runtime's own forward (codelens.model.forward), then metrics.

    result = evaluate("./my-adapter", data=["./corpus"], split="test")       # `codelens eval`
    result["metrics"]["defect"]["roc_auc"], result["metrics"]["clone"]["map_at_r"], ...

The trainer uses the same functions at the end of training: ``fit_and_measure`` scores each split once
(``score_split``), picks the thresholds and the temperature on validation (``fit_decisions``) and measures
every split with them (``task_metrics``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from codelens.core import Calibration, Thresholds
from codelens.model.forward import sigmoid
from codelens.train import metrics as M
from codelens.train.data.dataset import DataConfig, TaskData, load_task_data

CALIBRATION_METHOD = ("temperature scaling: T minimising the validation NLL of sigmoid(logit / T), golden-section "
                      "search over log T in [0.05, 20]; clone_scale: slope s minimising the NLL of "
                      "sigmoid(s * (similarity - clone threshold)) on validation pairs")


@dataclass
class Scores:
    """Model outputs per distinct code string."""

    logits: dict[str, float] = field(default_factory=dict)
    embeddings: dict[str, object] = field(default_factory=dict)
    summaries: dict[str, str] = field(default_factory=dict)
    summary_confidence: dict[str, float] = field(default_factory=dict)
    """Mean token log-probability of each generated summary."""
    bugs: dict[str, object] = field(default_factory=dict)
    """The located bug (``codelens.core.LocatedBug``) of each code that was located."""


def score_codes(loaded, codes: list[str], summarise: set[str], progress=None, locate: set[str] | None = None) -> Scores:
    """Run each distinct code once through ``loaded`` (a codelens LoadedModel); summaries for ``summarise``;
    the bug located in every code of ``locate``, whatever its score.

    The scan engine's own forward (``codelens.model.forward.score_functions``): same prompt ids, batching
    and batch limit, so a function scores here exactly as a scan scores it.
    """
    from codelens.core import FunctionText
    from codelens.model.forward import score_functions

    unique = list(dict.fromkeys(codes))
    done = [0]

    def finished(batch) -> None:
        done[0] += len(batch.keys)
        if progress is not None:
            progress(done[0], len(unique))

    out = Scores()
    locate = locate or set()
    # Two passes over disjoint sets: codes to locate are scored with every site found, the rest as a scan
    # scores them (located above the scan's floor).
    for chosen, floor in (([c for c in unique if c in locate], 0.0), ([c for c in unique if c not in locate], None)):
        if not chosen:
            continue
        kwargs = {} if floor is None else {"locate_floor": floor}
        scored = score_functions(loaded, {c: FunctionText(c) for c in chosen}, set(summarise), on_batch=finished,
                                 **kwargs)
        for code, result in scored.items():
            out.logits[code] = result.logit
            out.embeddings[code] = result.embedding
            if result.summary is not None:
                out.summaries[code] = result.summary
                if result.summary_confidence is not None:
                    out.summary_confidence[code] = result.summary_confidence
            if result.bug is not None:
                out.bugs[code] = result.bug
    return out


def split_codes(data: TaskData, max_summaries: int | None) -> tuple[list[str], set[str]]:
    """Every code string a split needs scored, and those that need a generated summary."""
    codes = [e.code for e in data.defect] + [e.code for e in data.clone]
    codes += [c for p in data.clone_pairs for c in (p.a, p.b)]
    summary = data.summary if max_summaries is None else data.summary[:max_summaries]
    codes += [e.code for e in summary]
    return codes, {e.code for e in summary}


def score_split(loaded, data: TaskData, max_summaries: int | None, progress=None) -> ScoredSplit:
    """Everything one split needs scored (``split_codes``), with every buggy example's bug located, so
    localisation is measured on all of them and not only those scoring high."""
    codes, summarise = split_codes(data, max_summaries if "summary" in loaded.meta.tasks else 0)
    locate = {e.code for e in data.defect if e.label == 1 and e.site is not None}
    return ScoredSplit(data, score_codes(loaded, codes, summarise, progress=progress, locate=locate))


def _cosine(a, b) -> float:
    import numpy as np

    return float(np.dot(a, b) / max(1e-12, float(np.linalg.norm(a) * np.linalg.norm(b))))


class LexicalSets:
    """Identifier-and-keyword sets of code strings, each computed once."""

    def __init__(self) -> None:
        self.sets: dict[str, frozenset[str]] = {}

    def __call__(self, code: str) -> frozenset[str]:
        from codelens.tasks.clone import token_set

        if code not in self.sets:
            self.sets[code] = token_set(code)
        return self.sets[code]


@dataclass
class ScoredSplit:
    """One split's examples and the model's outputs on them (``score_split``).

    What fitting the decisions and measuring them both read (the clone examples' all-pairs similarities, the
    clone pairs' similarities, the summary rows, the calibrated defect probabilities) is computed on first use
    and kept, so validation is measured from the very matrices its decisions were fitted on."""

    data: TaskData
    scores: Scores
    lexical: LexicalSets = field(default_factory=LexicalSets)
    _probabilities: dict[float, list[float]] = field(default_factory=dict, init=False, repr=False)

    def defect_probabilities(self, temperature: float) -> list[float]:
        """The calibrated defect probability of each defect example."""
        if temperature not in self._probabilities:
            self._probabilities[temperature] = [sigmoid(self.scores.logits[e.code] / temperature)
                                                for e in self.data.defect]
        return self._probabilities[temperature]

    @cached_property
    def clone_cosines(self):
        """All-pairs cosine of the clone examples' embeddings (n x n)."""
        return clone_matrix(self.scores, self.lexical, [e.code for e in self.data.clone], 0.0)

    @cached_property
    def clone_jaccards(self):
        """All-pairs identifier-set Jaccard of the clone examples (n x n)."""
        from codelens.tasks.clone import jaccard_matrix

        return jaccard_matrix([self.lexical(e.code) for e in self.data.clone])

    def clone_similarities(self, weight: float):
        """All-pairs clone scores of the clone examples (``clone_matrix`` of them)."""
        from codelens.tasks.clone import fused_similarity

        return self.clone_cosines if weight <= 0 else fused_similarity(self.clone_cosines, self.clone_jaccards, weight)

    @cached_property
    def pair_cosines(self) -> list[float]:
        return [_cosine(self.scores.embeddings[p.a], self.scores.embeddings[p.b]) for p in self.data.clone_pairs]

    @cached_property
    def pair_jaccards(self) -> list[float]:
        from codelens.tasks.clone import jaccard

        return [jaccard(self.lexical(p.a), self.lexical(p.b)) for p in self.data.clone_pairs]

    def pair_similarities(self, weight: float) -> list[float]:
        """The scan's clone score (``codelens.tasks.clone.fused_similarity``) of each clone pair."""
        from codelens.tasks.clone import fused_similarity

        if weight <= 0:
            return list(self.pair_cosines)
        return [fused_similarity(c, j, weight) for c, j in zip(self.pair_cosines, self.pair_jaccards)]

    @cached_property
    def summary_rows(self) -> list[tuple[float, float, float, bool]]:
        """(confidence, sentence BLEU of the suggestion, sentence BLEU of the split name, passes the phrase
        check) for each summary example that was generated with a confidence, in the CL300 form both take."""
        from codelens.tasks.summary import name_summary, passes_gate, pep257_summary

        prep = lambda s: M.split_puncts(s.strip().lower())  # noqa: E731
        rows = []
        for example in self.data.summary:
            raw = self.scores.summaries.get(example.code)
            confidence = self.scores.summary_confidence.get(example.code)
            if raw is None or confidence is None:
                continue
            ref = prep(example.summary)
            model = M.sentence_bleu(ref, prep(pep257_summary(raw) or ""))
            name = M.sentence_bleu(ref, prep(name_summary(example.origin.rpartition(":")[2]) or ""))
            rows.append((confidence, model, name, passes_gate(raw, None, None)))
        return rows


DEFECT_MIN_PRECISION = 0.8
"""Validation precision the defect threshold must reach: most CL100 reports should be real bugs."""
CLONE_MAX_FALSE_MATCH = 0.15
"""Most validation functions (one non-trivial function per clone class, so none is a clone of another)
that may find a semantic "clone" at the clone threshold. The pair set alone would not do: it is about
half positives, while nearly every pair of functions in a real repository is unrelated, so its
F1-optimal threshold flags about half of a repository's functions."""


def _quiet(stage: str, done: int, total: int) -> None:
    pass


def fit_decisions(scored: ScoredSplit, progress=None) -> tuple[Thresholds, Calibration, dict]:
    """Defect temperature + precision-floor threshold, clone F1-optimal similarity threshold + scale, on the
    validation split ``scored``.

    ``progress(stage, done, total)`` hears of each fitting stage (the clone weight one weight at a time)."""
    progress = progress or _quiet
    val = scored.data
    thresholds, calibration, notes = Thresholds(), Calibration(), {"method": CALIBRATION_METHOD}
    labels = [e.label for e in val.defect]
    progress("fitting the defect threshold", 0, 1)
    if len(set(labels)) == 2:
        logits = [scored.scores.logits[e.code] for e in val.defect]
        calibration.defect_temperature = M.fit_temperature(logits, labels)
        probs = scored.defect_probabilities(calibration.defect_temperature)
        # A finding should usually be right: the lowest threshold with validation precision >= the floor. A
        # model that never gets there reports nothing by default (threshold 1.0) rather than noise.
        chosen = M.threshold_for_precision(labels, probs, DEFECT_MIN_PRECISION)
        if chosen is None:
            thresholds.defect = 1.0
            notes["defect"] = (f"no threshold reaches precision {DEFECT_MIN_PRECISION} on validation: "
                               "CL100 is off by default (lower it with --defect-threshold)")
        else:
            thresholds.defect = M.between(chosen[0], probs)
            notes["defect"] = (f"lowest threshold with validation precision >= {DEFECT_MIN_PRECISION}: "
                               f"precision {chosen[1]:.3f}, recall {chosen[2]:.3f}")
        calibration.defect_precision = M.precision_curve(labels, probs)
    elif val.defect:
        notes["defect"] = "validation split has no defect examples of both classes: defaults kept"
    progress("fitting the defect threshold", 1, 1)
    pair_labels = [p.label for p in val.clone_pairs]
    if len(set(pair_labels)) == 2:
        weight, weights = fit_lexical_weight(scored, progress)
        progress("fitting the clone threshold", 0, 1)
        thresholds.clone_lexical = weight
        notes["clone_lexical"] = (f"weight of identifier-set Jaccard in the clone score with the best validation "
                                  f"MAP@R: {weight} ({', '.join(f'{w}: {m:.3f}' for w, m in weights.items())})")
        sims = scored.pair_similarities(weight)
        thresholds.clone = M.between(M.best_f1_threshold(pair_labels, sims)[0], sims)
        notes["clone"] = f"F1-optimal threshold on validation pairs {thresholds.clone:.4f}"
        singles = _clone_representatives(val)
        if len(singles) >= 20:
            floor, rate = M.false_match_threshold_of_similarities(
                clone_matrix(scored.scores, scored.lexical, singles, weight), CLONE_MAX_FALSE_MATCH)
            if floor > thresholds.clone:
                thresholds.clone = floor
            recall = M.binary_metrics(pair_labels, sims, thresholds.clone)["recall"]
            notes["clone"] += (f"; threshold {thresholds.clone:.4f}: {rate:.3f} of {len(singles)} unrelated validation "
                               f"functions find a false match (at most {CLONE_MAX_FALSE_MATCH}), clone pair recall "
                               f"{recall:.3f}")
        calibration.clone_scale = M.fit_logistic_slope([s - thresholds.clone for s in sims], pair_labels)
        progress("fitting the clone threshold", 1, 1)
    elif val.clone_pairs:
        notes["clone"] = "validation split has no clone pairs of both kinds: defaults kept"
    progress("fitting the summary gate", 0, 1)
    gate = summary_gate(scored)
    progress("fitting the summary gate", 1, 1)
    if gate is not None:
        thresholds.summary, notes["summary"] = gate
    return thresholds, calibration, notes


NOTHING_SHOWN = 1.0
"""A gate above every mean log-probability (those are <= 0): no summary is suggested."""
SUMMARY_MIN_SHOWN = 20
"""Fewest validation summaries the gate must let through for its comparison to mean anything."""


def summary_gate(val: ScoredSplit) -> tuple[float, str] | None:
    """The confidence gate: of the validation summaries sorted by confidence, the prefix where a suggestion
    gains most over the function's split name (the sum of sentence-BLEU differences is largest: below it,
    suggestions are worse than the name on the whole), provided it lets at least ``SUMMARY_MIN_SHOWN``
    through and gains at all; a gate above every confidence (nothing suggested) otherwise. None without
    enough scored summaries to decide."""
    rows = [r for r in val.summary_rows if r[3]]
    if len(rows) < SUMMARY_MIN_SHOWN:
        return None
    rows.sort(key=lambda r: -r[0])
    best, gain, model_sum, name_sum = None, 0.0, 0.0, 0.0
    for k, (confidence, model, name, _) in enumerate(rows, start=1):
        model_sum, name_sum = model_sum + model, name_sum + name
        last_of_tie = k == len(rows) or rows[k][0] < confidence
        if k >= SUMMARY_MIN_SHOWN and last_of_tie and model_sum - name_sum > gain:
            best, gain = (confidence, k, model_sum / k, name_sum / k), model_sum - name_sum
    if best is None:
        return NOTHING_SHOWN, (f"no gate lets {SUMMARY_MIN_SHOWN} or more validation summaries through that beat the "
                               "split function name (sentence BLEU): CL300 suggests no summary by default "
                               "(--summary-threshold)")
    confidence, k, model, name = best
    gate = M.between(confidence, [r[0] for r in rows])
    return gate, (f"mean log-probability where suggestions gain most over the split name: {k} of {len(rows)} "
                  f"validation summaries shown, sentence BLEU {100 * model:.2f} vs name {100 * name:.2f}")


LEXICAL_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Jaccard weights tried for the clone score (1.0, Jaccard alone, would leave the model out)."""


def clone_matrix(scores: Scores, lexical: LexicalSets, codes: list[str], weight: float):
    """All-pairs clone scores of ``codes`` (n x n)."""
    import numpy as np

    from codelens.tasks.clone import fused_similarity, jaccard_matrix

    emb = np.asarray([scores.embeddings[c] for c in codes], dtype=np.float32)
    emb = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
    cosine = emb @ emb.T
    if weight <= 0:
        return cosine
    return fused_similarity(cosine, jaccard_matrix([lexical(c) for c in codes]), weight)


def fit_lexical_weight(val: ScoredSplit, progress=None) -> tuple[float, dict[float, float]]:
    """The Jaccard weight of the clone score with the best validation MAP@R over the clone classes (ties:
    the smaller weight), and the MAP@R of every weight tried; 0.0 without classes to rank. ``progress`` as
    ``fit_decisions``'s, once per weight tried."""
    groups = [e.group for e in val.data.clone]
    if len(set(groups)) < 2:
        return 0.0, {}
    progress = progress or _quiet
    stage = "fitting the clone score's Jaccard weight"
    progress(stage, 0, len(LEXICAL_WEIGHTS))
    measured = {}
    for done, w in enumerate(LEXICAL_WEIGHTS, start=1):
        measured[w] = M.map_at_r_of_similarities(val.clone_similarities(w), groups) or 0.0
        progress(stage, done, len(LEXICAL_WEIGHTS))
    best = max(LEXICAL_WEIGHTS, key=lambda w: (round(measured[w], 6), -w))
    return best, measured


def independent_clone_metrics(scored: ScoredSplit, weight: float) -> dict:
    """MAP@R over the independently written clone classes alone (their negatives as distractors), for the
    clone score and for identifier-set Jaccard alone (the model-free baseline) on the same items."""
    from codelens.tasks.clone import jaccard_matrix
    from codelens.train.data.independent import INDEPENDENT_KINDS

    chosen = [e for e in scored.data.clone if e.kind in INDEPENDENT_KINDS or e.kind.endswith("-negative")]
    if not any(e.kind in INDEPENDENT_KINDS for e in chosen):
        return {}
    codes, groups, lexical = [e.code for e in chosen], [e.group for e in chosen], scored.lexical
    return {"independent_map_at_r": M.map_at_r_of_similarities(clone_matrix(scored.scores, lexical, codes, weight),
                                                                groups),
            "independent_map_at_r_jaccard": M.map_at_r_of_similarities(jaccard_matrix([lexical(c) for c in codes]),
                                                                       groups),
            "independent_classes": len({g for e, g in zip(chosen, groups) if e.kind in INDEPENDENT_KINDS})}


def _clone_representatives(data: TaskData) -> list[str]:
    """One code per clone class (its first member), leaving out functions a scan would not pair
    (too small, see codelens.tasks.clone.is_trivial) and all but one of those equal but for comments and blank lines.

    The same function can stand in two classes (a mined negative is also the original of a transform
    class), and packages vendor each other's code: such copies are type-1 clones that a scan reports by
    hash, not false matches, and counting them would push the threshold up to 1.0."""
    from codelens.parsing.normalize import source_hashes
    from codelens.tasks.clone import is_trivial_code

    first: dict = {}
    for example in data.clone:
        first.setdefault(example.group, example.code)
    chosen: dict[str, str] = {}
    for code in first.values():
        if not is_trivial_code(code):
            chosen.setdefault(source_hashes(code, "python")[0], code)  # the type-1 hash of a scan
    return list(chosen.values())


def task_metrics(scored: ScoredSplit, thresholds: Thresholds, calibration: Calibration) -> dict:
    """Defect, clone and summary metrics of one split, given decisions fitted on validation."""
    data, scores = scored.data, scored.scores
    out: dict = {}
    if data.defect:
        labels = [e.label for e in data.defect]
        probs = scored.defect_probabilities(calibration.defect_temperature)
        out["defect"] = {**M.binary_metrics(labels, probs, thresholds.defect), "roc_auc": M.roc_auc(labels, probs),
                         **localisation(data.defect, probs, scores.bugs, thresholds.defect),
                         "by_kind": defect_by_kind(data.defect, probs, scores.bugs, thresholds.defect)}
    clone: dict = {}
    weight = thresholds.clone_lexical
    if data.clone:
        groups = [e.group for e in data.clone]
        clone["map_at_r"] = M.map_at_r_of_similarities(scored.clone_similarities(weight), groups)
        if weight > 0:
            clone["map_at_r_embedding"] = M.map_at_r([scores.embeddings[e.code] for e in data.clone], groups)
        clone["map_at_r_random"] = M.random_map_at_r(groups)
        clone["classes"] = len(set(groups))
        clone["n"] = len(groups)
        clone.update(independent_clone_metrics(scored, weight))
    if data.clone_pairs:
        labels = [p.label for p in data.clone_pairs]
        sims = scored.pair_similarities(weight)
        pair = M.binary_metrics(labels, sims, thresholds.clone)
        clone.update({"pair_f1": pair["f1"], "pair_precision": pair["precision"], "pair_recall": pair["recall"],
                      "pair_roc_auc": M.roc_auc(labels, sims), "pairs": len(labels)})
    if clone:
        out["clone"] = clone
    summarised = [e for e in data.summary if e.code in scores.summaries]
    if summarised:
        refs, preds = [e.summary for e in summarised], [scores.summaries[e.code] for e in summarised]
        out["summary"] = {"bleu4": M.smoothed_bleu4(refs, preds), "rouge_l": M.rouge_l(refs, preds),
                          "n": len(summarised),
                          "examples": [{"reference": r, "prediction": p} for r, p in list(zip(refs, preds))[:5]],
                          **gated_summary_metrics(scored, thresholds.summary)}
    for task, curves in task_curves(scored, thresholds, calibration).items():
        out.setdefault(task, {}).update(curves)
    return out


def gated_summary_metrics(scored: ScoredSplit, gate: float | None) -> dict:
    """What users see through the gate: the share of summaries suggested, and on those the sentence BLEU
    (0-100) of the suggestion next to that of the split function name."""
    rows = scored.summary_rows
    if not rows:
        return {}
    shown = [r for r in rows if r[3] and (gate is None or r[0] >= gate)]
    return {"gate": gate, "shown": len(shown) / len(rows),
            "shown_bleu": 100 * sum(r[1] for r in shown) / len(shown) if shown else None,
            "shown_name_bleu": 100 * sum(r[2] for r in shown) / len(shown) if shown else None}


CURVE_POINTS = 30
"""Thresholds in each stored precision / recall curve (the model card's plots; training/plots.py)."""
RELIABILITY_BINS = 10
"""Confidence bins of each stored reliability diagram."""


def task_curves(scored: ScoredSplit, thresholds: Thresholds, calibration: Calibration) -> dict:
    """Per task, the data of the model card's plots: ``reliability`` (``metrics.reliability_bins`` of the
    confidence a scan reports against how often it is right) and ``threshold_curve`` (``metrics.threshold_curve``
    of the score the threshold applies to).

    defect: the calibrated probability, a buggy example counting as right. clone: the confidence of a pair
    (logistic in its clone score minus the threshold, ``Calibration.clone_scale``), a clone pair counting as
    right; its curve is over the clone score. summary: exp(mean token log-probability), a suggestion counting as
    right when it beats the function's split name (sentence BLEU), among those the phrase check lets through;
    its curve is over the mean log-probability, the gate's scale."""
    data = scored.data
    out: dict = {}
    if data.defect:
        labels = [e.label for e in data.defect]
        probs = scored.defect_probabilities(calibration.defect_temperature)
        out["defect"] = {"reliability": M.reliability_bins(labels, probs, RELIABILITY_BINS),
                         "threshold_curve": M.threshold_curve(labels, probs, CURVE_POINTS)}
    if data.clone_pairs:
        labels = [p.label for p in data.clone_pairs]
        sims = scored.pair_similarities(thresholds.clone_lexical)
        confidence = [sigmoid(calibration.clone_scale * (s - thresholds.clone)) for s in sims]
        out["clone"] = {"reliability": M.reliability_bins(labels, confidence, RELIABILITY_BINS),
                        "threshold_curve": M.threshold_curve(labels, sims, CURVE_POINTS)}
    rows = [r for r in scored.summary_rows if r[3]]
    if rows:
        labels = [int(model > name) for _, model, name, _ in rows]
        out["summary"] = {"reliability": M.reliability_bins(labels, [math.exp(r[0]) for r in rows], RELIABILITY_BINS),
                          "threshold_curve": M.threshold_curve(labels, [r[0] for r in rows], CURVE_POINTS)}
    return out


def loss_history(history: list[dict], first_step: int = 1, points: int = 200) -> dict:
    """Per-step training losses by task, averaged over windows of steps to at most ``points`` points: {"step":
    [last step of each window], task: [mean loss of the window]} (a task missing from a step, or a non-finite
    loss, leaves it out of that step's means)."""
    if not history:
        return {}
    tasks = sorted({task for row in history for task in row})
    size = max(1, math.ceil(len(history) / points))
    out: dict = {"step": [], **{task: [] for task in tasks}}
    for start in range(0, len(history), size):
        window = history[start:start + size]
        out["step"].append(first_step + start + len(window) - 1)
        for task in tasks:
            values = [row[task] for row in window if task in row and math.isfinite(row[task])]
            out[task].append(sum(values) / len(values) if values else None)
    return out


def localisation(examples: list, probs: list[float], bugs: dict, threshold: float) -> dict:
    """How well the bugs are found, beyond being scored: among buggy examples with a known site, the share
    whose site the head points at exactly, and the share where it also proposes the right repair (joint);
    and among clean ones, how many per 1,000 are reported at the threshold (what users feel)."""
    located = [e for e in examples if e.label == 1 and e.site is not None]
    right = [e for e in located if _site_of(bugs.get(e.code)) == tuple(e.site)]
    joint = [e for e in right if bugs[e.code].repair == e.repair]
    clean = [p for e, p in zip(examples, probs) if e.label == 0]
    return {"localisation": len(right) / len(located) if located else None,
            "joint": len(joint) / len(located) if located else None, "located_n": len(located),
            "false_alarms_per_1000": 1000 * sum(p >= threshold for p in clean) / len(clean) if clean else None}


def _site_of(bug) -> tuple[int, int] | None:
    return None if bug is None else (bug.start, bug.end)


def defect_by_kind(examples: list, probs: list[float], bugs: dict, threshold: float) -> dict:
    """Per bug kind: its buggy examples against every clean one (ROC-AUC), the share reported at the threshold,
    and how often the head points at the bug and proposes its repair.

    One ROC-AUC hides which edits a head sees: a head that catches flipped booleans and misses variable
    misuse averages out near chance. Kinds are those of the examples (BugLab rewrites, or a dataset name).
    """
    clean = [(e, p) for e, p in zip(examples, probs) if e.label == 0]
    kinds: dict[str, list] = {}
    for example, prob in zip(examples, probs):
        if example.label == 1:
            kinds.setdefault(example.kind, []).append((example, prob))
    out = {}
    for kind in sorted(kinds):
        members = kinds[kind] + clean
        buggy = [p for _, p in kinds[kind]]
        found = localisation([e for e, _ in members], [p for _, p in members], bugs, threshold)
        out[kind] = {"n": len(buggy), "recall": M.binary_metrics([1] * len(buggy), buggy, threshold)["recall"],
                     "roc_auc": M.roc_auc([1] * len(buggy) + [0] * len(clean), buggy + [p for _, p in clean]),
                     "localisation": found["localisation"], "joint": found["joint"]}
    return out


def split_inputs(data: list[str]) -> tuple[list[Path], list[Path]]:
    """Corpus folders and CodeXGLUE files among the given paths (a BigCloneBench folder counts as a file)."""
    corpus, files = [], []
    for item in data:
        path = Path(item)
        (files if path.is_file() or (path / "data.jsonl").is_file() else corpus).append(path)
    return corpus, files


def data_config_of(meta, split_by: str | None = None, manifest: str | None = None,
                   codexglue_limit: int | None = None) -> DataConfig:
    """The DataConfig an adapter was trained with (seed, variants, bug kinds, split rule), so rebuilding
    the data from the same corpus gives the same held-out examples: ``codelens.train_config.data_config`` of
    the settings its codelens.json stores, ``split_by`` and ``manifest`` (a file) overriding them."""
    from codelens.train.data.functions import load_manifest
    from codelens.train_config import data_config

    trained = dict(meta.training.get("config", {}))
    trained.update(codexglue_limit=codexglue_limit, **({"split_by": split_by} if split_by else {}))
    return data_config(trained, load_manifest(Path(manifest)) if manifest else dict(trained.get("manifest_splits") or {}))


def fit_and_measure(loaded, data: TaskData, max_summaries: int | None, max_functions: int | None = None,
                    names: tuple[str, ...] = ("val", "test"), progress=None) -> tuple[Thresholds, Calibration, dict, dict]:
    """Fit the decisions on validation, then measure each split of ``names`` with them: (thresholds,
    calibration, fitting notes, metrics by split). What training does at its end (and ``names=("val",)`` in
    its middle), through the scan's forward (``loaded``, a ``LoadedModel``); ``progress(stage, done, total)``
    hears of each stage.

    Each split is sampled (``max_functions``) before the adapter's tasks are picked: the sample is drawn by the
    defect examples' functions, so every adapter of a corpus, a clone-only one too, is scored on the same ones.
    """
    progress = progress or _quiet
    max_summaries = max_summaries if "summary" in loaded.meta.tasks else 0
    scored = {name: score_split(loaded, data.split(name).sample_functions(max_functions).for_tasks(loaded.meta.tasks),
                                max_summaries,
                                progress=lambda done, total, name=name: progress(f"scoring {name}", done, total))
              for name in names}
    thresholds, calibration, notes = fit_decisions(scored["val"], progress)
    metrics = {}
    for done, name in enumerate(names):
        progress("metrics", done, len(names))
        # Measured, a split's matrices are done with: popped, so only one split's are held at a time.
        metrics[name] = task_metrics(scored.pop(name), thresholds, calibration)
    progress("metrics", len(names), len(names))
    return thresholds, calibration, notes, metrics


def evaluate(adapter: str, model: str | None = None, data: list[str] | None = None, split: str = "test",
             device: str = "auto", dtype: str = "auto", quantize: str = "none", trust_remote_code: bool = False,
             split_by: str | None = None, manifest: str | None = None, max_summaries: int | None = 200,
             codexglue_limit: int | None = None, progress=None, max_functions: int | None = None) -> dict:
    """Score a trained adapter on ``split`` of the task data built from ``data`` (corpus folders and/or
    CodeXGLUE files), with the thresholds and calibration stored in its codelens.json; ``max_functions``
    (default: the adapter's own ``max_eval_functions``) bounds the functions scored, as in training.

    The data is rebuilt with the adapter's own training settings (seed, variants, split rule), so the
    same corpus gives the same held-out examples it was validated on.
    """
    from codelens.errors import ConfigError
    from codelens.model.loading import LazyModel
    from codelens.model.options import ModelSpec

    if split not in ("train", "val", "test"):
        raise ConfigError(f"unknown split {split!r}", hint="use train, val or test")
    if not data:
        raise ConfigError("no evaluation data given", hint="pass corpus folders and/or CodeXGLUE files")
    # The data first (it needs only the adapter's metadata): bad input fails before the weights load.
    lazy = LazyModel(ModelSpec(model=model, adapter=adapter, device=device, quantize=quantize, dtype=dtype,
                               trust_remote_code=trust_remote_code))
    cfg = data_config_of(lazy.meta, split_by, manifest, codexglue_limit)
    corpus, files = split_inputs(data)
    if max_functions is None:
        max_functions = (lazy.meta.training.get("config") or {}).get("max_eval_functions")
    # Sampled before the tasks are picked, as in training (the sample is drawn by the defect examples' functions).
    chosen = load_task_data(corpus, files, cfg).split(split).sample_functions(max_functions).for_tasks(lazy.meta.tasks)
    loaded = lazy.load()
    scored = score_split(loaded, chosen, max_summaries, progress=progress)
    return {
        "adapter": str(adapter),
        "base_model": loaded.model_id,
        "split": split,
        "counts": chosen.counts(),
        "data_hash": chosen.hash(),
        "thresholds": {"defect": loaded.meta.thresholds.defect, "clone": loaded.meta.thresholds.clone},
        "metrics": task_metrics(scored, loaded.meta.thresholds, loaded.meta.calibration),
    }
