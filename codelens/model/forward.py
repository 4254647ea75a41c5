"""The one forward pass: functions -> defect scores and sites, clone embeddings and (where asked) summaries.

The scan engine and training evaluation both score functions through ``score_functions``, with the same
prompt ids, the same batching, the same fallback token and the same batch limit, so a number in the model
card is the number a user gets. One prefill per function gives every head's output: the clone embedding
from the pooled state, the defect score and its site from the code tokens' states; a summary continues
greedily from that prefill's KV cache, so the prompt is never run twice.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from codelens.core import FunctionText, LocatedBug

if TYPE_CHECKING:
    import numpy as np

    from codelens.model.loading import LoadedModel
    from codelens.model.prompt import Prompt

K = TypeVar("K", bound=Hashable)

DEFAULT_TOKEN_BUDGET = 8192
"""Most padded tokens (batch size x longest prompt) in one forward pass: bounds memory."""
DEFAULT_MAX_BATCH = 64
"""Most prompts in one forward pass."""
REPAIR_FLOOR = 0.2
"""Calibrated defect probability from which a function's bug site is located and its repair chosen: below
it no finding is likely, and the tree-sitter pass that lists the candidates would cost every function."""


@dataclass
class Scored:
    """What the model says about one function."""

    logit: float
    """log P(bug) / P(no bug) of the defect head (calibrate with ``sigmoid(logit / defect_temperature)``)."""
    embedding: "np.ndarray"
    """L2-normalised clone embedding, float32."""
    summary: str | None
    """First line of the greedy continuation; None when no summary was asked for."""
    bug: LocatedBug | None = None
    """The likely bug's site and repair (for functions scoring at least ``REPAIR_FLOOR``)."""
    summary_confidence: float | None = None
    """Mean log-probability of the summary's tokens (None without a summary)."""


@dataclass
class ScoredBatch(Generic[K]):
    """One finished forward pass, handed to ``score_functions``' ``on_batch`` as it completes."""

    keys: list[K]
    scored: list[Scored]
    tokens: int
    """Prompt tokens in the batch, padding excluded."""
    summarised: bool


def sigmoid(x: float) -> float:
    """The logistic function, without overflow for large negative ``x``."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def prompt_for(tokenizer, code: str, fmt) -> "Prompt":
    """The prompt of ``code`` (``build_prompt``), or one fallback token when it would be empty.

    An empty prompt (no BOS, nothing to encode) cannot run; EOS, else the pad token, stands in for it.
    Training, evaluation and scanning all use this, so they read the same ids for the same function.
    """
    from codelens.model.prompt import Prompt, build_prompt

    prompt = build_prompt(tokenizer, code, fmt)
    if prompt.ids:
        return prompt
    fallback = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.pad_token_id
    return Prompt([fallback], 1, [])


def plan_batches(lengths: list[int], token_budget: int, max_batch: int) -> list[list[int]]:
    """Indices into ``lengths``, grouped so that len(batch) * longest <= token_budget and len(batch) <= max_batch.

    Items are sorted by length first, so a batch holds prompts of similar length and little padding.
    An item longer than the whole budget still runs, alone in its batch.
    """
    if token_budget < 1 or max_batch < 1:
        raise ValueError("token_budget and max_batch must be positive")
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        # Sorted ascending, so the newcomer is the longest item of the batch it joins.
        if current and (len(current) >= max_batch or (len(current) + 1) * lengths[index] > token_budget):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def score_functions(
    loaded: "LoadedModel",
    functions: Mapping[K, FunctionText],
    summarise: set[K] | frozenset[K] = frozenset(),
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    max_batch: int = DEFAULT_MAX_BATCH,
    on_batch: Callable[[ScoredBatch[K]], None] | None = None,
    locate_floor: float = REPAIR_FLOOR,
) -> dict[K, Scored]:
    """Run every function through ``loaded`` once; summaries for the keys in ``summarise``; the bug located
    in functions whose calibrated defect probability is at least ``locate_floor`` (evaluation: 0, all).

    Functions with and without a summary go in separate batches (a batch either decodes or it does not),
    each group batched by length under ``token_budget`` and ``max_batch``. ``on_batch`` sees each batch as
    it finishes (the engine stores results as it goes, so an interrupted run keeps its work).
    """
    from codelens.model.generate import stop_token_ids

    prompts = {k: prompt_for(loaded.tokenizer, f.code, loaded.meta.prompt) for k, f in functions.items()}
    keys = list(prompts)
    wanted = [k for k in keys if k in summarise]
    stops = stop_token_ids(loaded.tokenizer) if wanted else frozenset()
    out: dict[K, Scored] = {}
    with quiet_int8():
        for summarising, group in ((True, wanted), (False, [k for k in keys if k not in summarise])):
            for batch in plan_batches([len(prompts[k].ids) for k in group], token_budget, max_batch):
                chosen = [group[i] for i in batch]
                scored = run_batch(loaded, [functions[k] for k in chosen], [prompts[k] for k in chosen],
                                   stops if summarising else None, locate_floor)
                out.update(zip(chosen, scored))
                if on_batch is not None:
                    on_batch(ScoredBatch(chosen, scored, sum(len(prompts[k].ids) for k in chosen), summarising))
    return out


def run_batch(loaded: "LoadedModel", functions: list[FunctionText], prompts: list["Prompt"],
              stop_ids: frozenset[int] | None, locate_floor: float = REPAIR_FLOOR) -> list[Scored]:
    """One prefill over a left-padded batch; with ``stop_ids`` the summaries are decoded greedily from the
    prefill's KV cache."""
    import torch

    from codelens.model.generate import decoder_of, first_line, greedy_continue, output_cache
    from codelens.model.heads import bug_log_odds, defect_inputs, pool_hidden
    from codelens.model.prompt import pad_left

    device = loaded.device
    lm, decoder = decoder_of(loaded.model)
    input_ids, mask, positions = (t.to(device) for t in pad_left([p.ids for p in prompts],
                                                                 loaded.tokenizer.pad_token_id))
    inputs = defect_inputs([f.code for f in functions], prompts, input_ids.shape[1], device)
    summarise = stop_ids is not None
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=loaded.dtype == torch.bfloat16)
    with torch.inference_mode():
        with autocast:
            out = decoder(input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=summarise)
        hidden = out.last_hidden_state
        embeddings = loaded.heads.embed(pool_hidden(hidden, mask)).cpu().numpy().astype("float32")
        site_logits, states = loaded.heads.bug(hidden, inputs.code_mask, inputs.relations)
        log_odds = bug_log_odds(site_logits).float().cpu().tolist()
        probs = torch.softmax(site_logits, dim=-1)
        temperature = loaded.meta.calibration.defect_temperature
        bugs = [_locate(loaded, f, p, probs[row, 1 + start:1 + start + len(p.offsets)], states[row], start)
                if sigmoid(log_odds[row] / temperature) >= locate_floor else None
                for row, (f, p, start) in enumerate(zip(functions, prompts, inputs.starts))]
        summaries, confidences = [None] * len(prompts), [None] * len(prompts)
        if summarise:
            fmt = loaded.meta.prompt
            with autocast:
                # Left padding puts every prompt's last token in the final column.
                next_logits = lm.get_output_embeddings()(hidden[:, -1, :]).float()
                ids, confidences = greedy_continue(lm, output_cache(out), next_logits, mask, stop_ids,
                                                   fmt.max_summary_tokens, fmt.no_repeat_ngram, with_scores=True)
            summaries = [first_line(loaded.tokenizer, row) for row in ids]
    return [Scored(log_odds[row], embeddings[row].copy(), summaries[row], bugs[row], confidences[row])
            for row in range(len(prompts))]


def _locate(loaded, function: FunctionText, prompt: "Prompt", token_probs, states, start: int) -> LocatedBug | None:
    """The site the defect head points at in one function, and the repair it prefers there."""
    import torch

    from codelens.model.repairs import best_site, candidate_inputs, token_indices
    from codelens.parsing.sites import edit_sites, repair_candidates

    kinds = loaded.meta.bug_kinds()
    sites = [s for s in edit_sites(function.code, function.language, function.indent) if s.kind in kinds]
    chosen = best_site(sites, prompt.offsets, token_probs.float().cpu().tolist())
    if chosen is None:
        return None
    site, mass = chosen
    bug_mass = float(token_probs.sum())
    candidates = tuple(c for c in repair_candidates(site, function.language) if c != site.text)
    repair, repair_p = None, None
    tokens = token_indices(site.start, site.end, prompt.offsets)
    if candidates and tokens:
        inputs = [(cls, [start + i for i in positions])
                  for cls, positions in candidate_inputs(function.code, site.kind, site.text, candidates, prompt.offsets)]
        scores = loaded.heads.bug.repair_logits(states[None], [(0, [start + i for i in tokens], inputs)])[0]
        weights = torch.softmax(scores.float(), dim=0)
        best = int(weights.argmax())
        repair, repair_p = candidates[best], float(weights[best])
    return LocatedBug(site.start, site.end, site.kind, site.text, repair,
                      mass / bug_mass if bug_mass > 0 else 0.0, repair_p)


@contextlib.contextmanager
def quiet_int8():
    """Silence bitsandbytes' int8 notice, logged on every matmul that casts activations to fp16: expected,
    not news. Used wherever an int8 model runs (scan engine, evaluation, trainer, benchmarks)."""
    import logging

    logger = logging.getLogger("bitsandbytes.autograd._functions")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
