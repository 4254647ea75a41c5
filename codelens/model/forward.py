"""The one forward pass: prompts -> defect logits, clone embeddings and (where asked) summaries.

The scan engine and training evaluation both score functions through ``score_prompts``, with the same
prompt ids, the same batching, the same fallback token and the same batch limit, so a number in the
model card is the number a user gets. One prefill per prompt gives both head outputs (heads over the
pooled last hidden layer); a summary continues greedily from that prefill's KV cache, so the prompt is
never run twice.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from codelens.model.batching import DEFAULT_MAX_BATCH, DEFAULT_TOKEN_BUDGET, plan_batches

if TYPE_CHECKING:
    import numpy as np

    from codelens.model.loading import LoadedModel

K = TypeVar("K", bound=Hashable)


@dataclass
class Scored:
    """What the model says about one prompt."""

    logit: float
    """Raw output of the defect head (calibrate with ``sigmoid(logit / defect_temperature)``)."""
    embedding: "np.ndarray"
    """L2-normalised clone embedding, float32."""
    summary: str | None
    """First line of the greedy continuation; None when no summary was asked for."""


@dataclass
class ScoredBatch(Generic[K]):
    """One finished forward pass, handed to ``score_prompts``' ``on_batch`` as it completes."""

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


def prompt_ids(tokenizer, code: str, fmt) -> list[int]:
    """The prompt ids of ``code`` (``build_prompt_ids``), or one fallback token when they would be empty.

    An empty prompt (no BOS, nothing to encode) cannot run; EOS, else the pad token, stands in for it.
    Training, evaluation and scanning all use this, so they read the same ids for the same function.
    """
    from codelens.model.prompt import build_prompt_ids

    ids = build_prompt_ids(tokenizer, code, fmt)
    if ids:
        return ids
    fallback = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.pad_token_id
    return [fallback]


def score_prompts(
    loaded: "LoadedModel",
    prompts: Mapping[K, list[int]],
    summarise: set[K] | frozenset[K] = frozenset(),
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    max_batch: int = DEFAULT_MAX_BATCH,
    on_batch: Callable[[ScoredBatch[K]], None] | None = None,
) -> dict[K, Scored]:
    """Run every prompt through ``loaded`` once; summaries for the keys in ``summarise``.

    Prompts with and without a summary go in separate batches (a batch either decodes or it does not),
    each group batched by length under ``token_budget`` and ``max_batch``. ``on_batch`` sees each batch as
    it finishes (the engine stores results as it goes, so an interrupted run keeps its work).
    """
    from codelens.model.generate import stop_token_ids

    keys = list(prompts)
    wanted = [k for k in keys if k in summarise]
    stops = stop_token_ids(loaded.tokenizer) if wanted else frozenset()
    out: dict[K, Scored] = {}
    with quiet_int8():
        for summarising, group in ((True, wanted), (False, [k for k in keys if k not in summarise])):
            for batch in plan_batches([len(prompts[k]) for k in group], token_budget, max_batch):
                chosen = [group[i] for i in batch]
                ids = [prompts[k] for k in chosen]
                logits, embeddings, summaries = run_batch(loaded, ids, stops if summarising else None)
                scored = [Scored(float(logits[row]), embeddings[row].copy(),
                                 summaries[row] if summaries is not None else None) for row in range(len(chosen))]
                out.update(zip(chosen, scored))
                if on_batch is not None:
                    on_batch(ScoredBatch(chosen, scored, sum(len(x) for x in ids), summarising))
    return out


def run_batch(loaded: "LoadedModel", prompts: list[list[int]], stop_ids: frozenset[int] | None):
    """One prefill over a left-padded batch: (defect logits, embeddings, summaries or None), numpy / str.

    With ``stop_ids`` the summaries are decoded greedily from the prefill's KV cache.
    """
    import torch

    from codelens.model.generate import decoder_of, first_line, greedy_continue, output_cache
    from codelens.model.heads import pool_hidden
    from codelens.model.prompt import pad_left

    device = loaded.device
    lm, decoder = decoder_of(loaded.model)
    input_ids, mask, positions = (t.to(device) for t in pad_left(prompts, loaded.tokenizer.pad_token_id))
    summarise = stop_ids is not None
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=loaded.dtype == torch.bfloat16)
    with torch.inference_mode():
        with autocast:
            out = decoder(input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=summarise)
        hidden = out.last_hidden_state
        logits, embeddings = loaded.heads(pool_hidden(hidden, mask))
        summaries = None
        if summarise:
            with autocast:
                # Left padding puts every prompt's last token in the final column.
                next_logits = lm.get_output_embeddings()(hidden[:, -1, :]).float()
                ids = greedy_continue(lm, output_cache(out), next_logits, mask, stop_ids,
                                      loaded.meta.prompt.max_summary_tokens)
            summaries = [first_line(loaded.tokenizer, row) for row in ids]
    return logits.float().cpu().numpy(), embeddings.float().cpu().numpy().astype("float32"), summaries


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
