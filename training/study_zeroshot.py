"""The study's zero-shot question: what the base model does on its own, against a fine-tuned module.

This project's form of the paper's "prompt a general LLM" comparison: the base, no module, no heads.

    defects    the likelihood of the repair (benchmarks/defect_likelihood.py): a function scores the best
               gain in log-probability that one repair its sites allow would bring; its site and repair are
               that repair's. The fine-tuned modules' heads are scored on the very same examples.
    clones     nearest neighbours by the base's raw hidden states: the pooled state the clone head reads
               (mean and last token), only L2-normalised, through the evaluation the cells get (the Jaccard
               weight and the threshold fitted on validation, MAP@R and pair F1 on test)
    summaries  the base's greedy continuation of the summary prompt, scored as the cells' summaries

Everything runs through the scan's forward (``codelens.train.evaluate.score_split``), on the seed's
held-out data.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from codelens.model.heads import TaskHeads


class RawStates(TaskHeads):
    """Heads whose clone "embedding" is the pooled hidden state itself (normalised): nothing learned."""

    def embed(self, pooled):
        import torch.nn.functional as F

        return F.normalize(pooled.float(), dim=-1)


def base_as_module(base: str, device: str, max_code_tokens: int, max_summary_tokens: int = 32):
    """The base with no module, wrapped as a LoadedModel (RawStates for heads) for the scan's forward."""
    from codelens.model.adapter_meta import AdapterMetadata, PromptFormat
    from codelens.model.loading import LoadedModel, base_fingerprint, load_base
    from codelens.model.options import resolve_device, resolve_dtype

    lm, tokenizer = load_base(base, device)
    torch_device = resolve_device(device)
    fingerprint = base_fingerprint(lm, tokenizer)
    heads = RawStates(lm.config.hidden_size).to(torch_device).eval()
    meta = AdapterMetadata(base, fingerprint, tasks=["clone", "summary"], pooled_dim=2 * lm.config.hidden_size,
                           prompt=PromptFormat(max_code_tokens=max_code_tokens, max_summary_tokens=max_summary_tokens))
    return LoadedModel(model=lm, tokenizer=tokenizer, heads=heads, meta=meta, device=torch_device,
                       dtype=resolve_dtype("auto", torch_device), base_fingerprint=fingerprint, adapter_hash="",
                       model_id=base)


def raw_scores(base: str, data, device: str, max_code_tokens: int, max_summaries: int,
               max_functions: int | None) -> dict:
    """Clone and summary metrics of the base on its own (test split; decisions fitted on validation), on the
    functions the cells are scored on (``TaskData.sample_functions``)."""
    from codelens.train.evaluate import fit_and_measure
    from training.study_cell import scalar_metrics

    loaded = base_as_module(base, device, max_code_tokens)  # its tasks: clone and summary
    *_, metrics = fit_and_measure(loaded, data, max_summaries, max_functions)
    return scalar_metrics(metrics["test"], ("clone", "summary"))


def defect_examples(data, split: str, functions: int, max_chars: int, max_functions: int | None = None) -> list:
    """The defect examples of ``functions`` functions of ``split`` among those the cells are scored on (an
    even sample by a hash of their origin), short enough for the likelihood baseline (its candidates grow
    with a function's size)."""
    part = [e for e in data.split(split).sample_functions(max_functions).defect if len(e.code) <= max_chars]
    origins = sorted({e.origin for e in part}, key=lambda o: hashlib.sha256(o.encode()).hexdigest())[:functions]
    chosen = set(origins)
    return [e for e in part if e.origin in chosen]


def defect_scores(base: str, data, modules: dict[str, Path], device: str, functions: int,
                  max_functions: int | None = None) -> dict:
    """Likelihood-of-the-repair scores of the base, and the heads of each module in ``modules`` (name ->
    adapter folder), on the same test examples; the baseline's threshold fitted on validation."""
    from benchmarks.defect_likelihood import MAX_CHARS, LogProb, likelihood_scores, scorer_metrics
    from codelens.model.forward import sigmoid
    from codelens.model.loading import ModelSpec, load_model
    from codelens.train import metrics as M
    from codelens.train.evaluate import score_codes

    val = defect_examples(data, "val", functions, MAX_CHARS, max_functions)
    test = defect_examples(data, "test", functions, MAX_CHARS, max_functions)
    if not val or not test:
        return {}
    likelihood = likelihood_scores(val + test, LogProb(base, "cpu" if device == "auto" else device))
    val_scores = [likelihood[e.code][0] for e in val]
    chosen = M.threshold_for_precision([e.label for e in val], val_scores, 0.8)
    threshold = M.between(chosen[0], val_scores) if chosen else float("inf")
    out = {"zero-shot": scorer_metrics(test, {c: v[0] for c, v in likelihood.items()},
                                       {c: v[1] for c, v in likelihood.items()},
                                       {c: v[2] for c, v in likelihood.items()}, threshold),
           "examples": len(test), "functions": len({e.origin for e in test})}
    codes = [e.code for e in test]
    for name, folder in modules.items():
        loaded = load_model(ModelSpec(adapter=str(folder), device=device))
        scores = score_codes(loaded, codes, set(), locate={e.code for e in test if e.label == 1})
        temperature = loaded.meta.calibration.defect_temperature
        out[name] = scorer_metrics(test, {c: sigmoid(scores.logits[c] / temperature) for c in codes},
                                   {c: (b.start, b.end) for c, b in scores.bugs.items()},
                                   {c: b.repair for c, b in scores.bugs.items()}, loaded.meta.thresholds.defect)
    return out


def zero_shot(base: str, data, modules: dict[str, Path], device: str, max_code_tokens: int, max_summaries: int,
              defect_functions: int, max_functions: int | None = None) -> dict:
    """The base's zero-shot scores on one seed's held-out data (the functions the cells are scored on), with
    the modules' defect heads beside it."""
    return {"defect": defect_scores(base, data, modules, device, defect_functions, max_functions),
            **raw_scores(base, data, device, max_code_tokens, max_summaries, max_functions)}
