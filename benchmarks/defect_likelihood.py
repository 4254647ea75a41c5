"""CL100's heads against a model-free-of-heads baseline on code they never trained on (issue 11).

The likelihood baseline asks only the base language model: for every edit site of a function and every
repair its kind allows (``codelens.parsing.sites``: the same candidates the repair head weighs), how much
more likely is the function with that repair than as written? Its function score is the best gain
(log-probability of the repaired text minus that of the text, in nats; 0 when no repair gains), its site
and repair the best one. The heads are the adapter's (``codelens.model.heads``), run through the scan's
own forward.

Examples: the defect examples of the staged corpus's validation and test packages (the same staging as
benchmarks/baselines.py: packages the adapter never trained on), made the way training makes them
(``codelens.train.data.dataset.function_examples``: single-edit rewrites of every bug kind, clean
originals and semantics-preserving rewrites), an even sample of functions of each split.

    ROC-AUC          function level, buggy against clean
    localisation     buggy examples whose site the scorer points at exactly
    joint            ... and whose repair it proposes
    false alarms     clean test functions per 1,000 flagged at the scorer's threshold (the heads: the
                     adapter's shipped threshold; the baseline: fitted on validation like the heads', the
                     lowest with precision >= 0.8)

Each ratio is heads / baseline on the same examples in this run.
"""

from __future__ import annotations

import hashlib

from benchmarks.common import BenchContext, Figure, load_default, ratio_of

QUICK_FUNCTIONS, STANDARD_FUNCTIONS = 6, 100
"""Functions per split whose defect examples are scored."""
MAX_CHARS = 700
"""Longer functions are left out: the baseline runs one forward per candidate repair, and the candidates
grow with a function's size (about 20 for 400 characters, 600 for 2,400)."""
BATCH = 16


def defect_examples(functions, count: int) -> list:
    """The defect examples of ``count`` functions (an even sample by a hash of their id)."""
    from codelens.train.data.dataset import DataConfig, function_examples

    chosen = sorted((fn for fn in functions if len(fn.body) <= MAX_CHARS),
                    key=lambda fn: hashlib.sha256(fn.origin.encode()).hexdigest())[:count]
    cfg = DataConfig(clone_variants=1)
    return [e for fn in chosen for e in function_examples(fn, cfg).defect]


def candidate_repairs(code: str) -> list[tuple[tuple[int, int], str, str]]:
    """((start, end), repair, repaired code) for every site and candidate repair of ``code``."""
    from codelens.parsing.sites import edit_sites, repair_candidates

    out = []
    for site in edit_sites(code):
        for repair in repair_candidates(site):
            if repair != site.text:
                out.append(((site.start, site.end), repair, code[:site.start] + repair + code[site.end:]))
    return out


class LogProb:
    """Total log-probability of texts under a causal LM (the base, without the adapter)."""

    def __init__(self, base: str, device: str = "cpu") -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(base)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(base, torch_dtype=torch.float32).to(device).eval()
        self.device = device
        self.limit = getattr(self.model.config, "max_position_embeddings", 2048)

    def __call__(self, texts: list[str]) -> list[float]:
        torch = self.torch
        out: list[float] = []
        for i in range(0, len(texts), BATCH):
            rows = [self.tokenizer(t, add_special_tokens=False)["input_ids"][: self.limit] for t in texts[i:i + BATCH]]
            width = max(len(r) for r in rows)
            ids = torch.full((len(rows), width), self.tokenizer.pad_token_id)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for j, row in enumerate(rows):
                ids[j, :len(row)], mask[j, :len(row)] = torch.tensor(row), 1
            with torch.inference_mode():
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None].to(self.device))[..., 0]
            out += (logp * mask[:, 1:].to(self.device)).sum(-1).tolist()
        return out


def likelihood_scores(examples: list, logprob: LogProb) -> dict[str, tuple[float, tuple[int, int] | None, str | None]]:
    """code -> (best log-probability gain, its site, its repair) of each distinct example code."""
    out = {}
    for code in dict.fromkeys(e.code for e in examples):
        candidates = candidate_repairs(code)
        if not candidates:
            out[code] = (0.0, None, None)
            continue
        scores = logprob([code] + [c[2] for c in candidates])
        gains = [s - scores[0] for s in scores[1:]]
        best = max(range(len(gains)), key=gains.__getitem__)
        out[code] = (max(0.0, gains[best]), candidates[best][0], candidates[best][1])
    return out


def scorer_metrics(examples: list, score: dict, site: dict, repair: dict, threshold: float) -> dict:
    """ROC-AUC, localisation, joint and false alarms per 1,000 of one scorer on ``examples``."""
    from codelens.train import metrics as M

    labels = [e.label for e in examples]
    values = [score[e.code] for e in examples]
    located = [e for e in examples if e.label == 1 and e.site is not None]
    right = [e for e in located if site.get(e.code) == tuple(e.site)]
    joint = [e for e in right if repair.get(e.code) == e.repair]
    clean = [v for e, v in zip(examples, values) if e.label == 0]
    return {"roc_auc": M.roc_auc(labels, values), "localisation": len(right) / len(located) if located else None,
            "joint": len(joint) / len(located) if located else None,
            "false_alarms_per_1000": 1000 * sum(v >= threshold for v in clean) / len(clean) if clean else None,
            "threshold": threshold, "buggy": len(located), "clean": len(clean)}


def run(ctx: BenchContext) -> list[Figure]:
    from benchmarks.baselines import mined_splits
    from codelens.model.forward import sigmoid
    from codelens.train import metrics as M
    from codelens.train.evaluate import score_codes

    loaded = ctx.shared("baselines:model", lambda: load_default(ctx))
    base, _, source = ctx.default_pair()
    mined = mined_splits(ctx)
    count = QUICK_FUNCTIONS if ctx.quick else STANDARD_FUNCTIONS
    val, test = (defect_examples(mined[split][0], count) for split in ("val", "test"))
    logprob = LogProb(base, ctx.device)

    # The heads: the scan's forward, every buggy example's bug located whatever its score.
    codes = [e.code for e in val + test]
    located = {e.code for e in test if e.label == 1}
    heads = score_codes(loaded, codes, set(), locate=located)
    temperature = loaded.meta.calibration.defect_temperature
    head_prob = {c: sigmoid(heads.logits[c] / temperature) for c in codes}
    head_site = {c: (b.start, b.end) for c, b in heads.bugs.items()}
    head_repair = {c: b.repair for c, b in heads.bugs.items()}
    head = scorer_metrics(test, head_prob, head_site, head_repair, loaded.meta.thresholds.defect)

    lik = likelihood_scores(val + test, logprob)
    val_labels, val_scores = [e.label for e in val], [lik[e.code][0] for e in val]
    chosen = M.threshold_for_precision(val_labels, val_scores, 0.8)
    threshold = M.between(chosen[0], val_scores) if chosen else float("inf")
    baseline = scorer_metrics(test, {c: v[0] for c, v in lik.items()}, {c: v[1] for c, v in lik.items()},
                              {c: v[2] for c, v in lik.items()}, threshold)
    detail = {"heads": head, "likelihood": baseline, "model_source": source, "functions_per_split": count}
    note = (f"{head['buggy']} buggy + {head['clean']} clean test-split examples; baseline threshold fitted on "
            f"{len(val)} validation examples")
    figures = []
    for key, title in (("roc_auc", "CL100 ROC-AUC"), ("localisation", "CL100 localisation"),
                       ("joint", "CL100 joint localisation + repair"),
                       ("false_alarms_per_1000", "CL100 false alarms per 1,000 clean")):
        figures.append(Figure("defect_likelihood", title, head[key], "score", "base-LM likelihood of the repair",
                              baseline[key], ratio_of(head[key], baseline[key]), note=note, detail=detail))
    return figures
