"""analyse(): every distinct function through the model once, with the result cache in front.

One prefill per function gives both the defect probability and the clone embedding (heads over the
pooled last hidden layer); a summary, where one is wanted, continues greedily from that prefill's KV
cache, so the prompt is never run twice.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codelens.engine.batching import plan_batches
from codelens.engine.results import EngineStats, UnitResult
from codelens.errors import ConfigError
from codelens.model.adapter_meta import TASKS
from codelens.units import CodeUnit

if TYPE_CHECKING:
    from codelens.cache import ResultCache
    from codelens.model.loading import LoadedModel

SUMMARY_MODES = ("missing", "all", "none")


@dataclass
class EngineSettings:
    """How analyse() runs; the CLI's --tasks / --summaries / --token-budget / --max-batch / --threads."""

    tasks: frozenset = field(default_factory=lambda: frozenset(TASKS))
    """Tasks wanted. Defect and clone outputs come from the same prefill and are always computed;
    without "summary" no summaries are generated."""
    summaries: str = "missing"
    """Which functions get a generated summary: missing (those without a docstring), all, or none."""
    token_budget: int = 8192
    """Most padded tokens (batch size x longest prompt) in one forward pass: bounds memory."""
    max_batch: int = 64
    """Most functions in one forward pass."""
    threads: int = 0
    """CPU threads for torch; 0 = one per CPU core."""

    def __post_init__(self) -> None:
        self.tasks = frozenset(self.tasks)
        unknown = self.tasks - set(TASKS)
        if unknown:
            raise ConfigError(f"unknown task(s): {', '.join(sorted(unknown))}", hint=f"choose from {', '.join(TASKS)}")
        if self.summaries not in SUMMARY_MODES:
            raise ConfigError(f"unknown summaries mode {self.summaries!r}", hint=f"use one of {', '.join(SUMMARY_MODES)}")
        for name in ("token_budget", "max_batch"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.threads < 0:
            raise ConfigError(f"threads must be 0 (auto) or more, got {self.threads}")

    def wants_summary(self, unit: CodeUnit) -> bool:
        if "summary" not in self.tasks or self.summaries == "none":
            return False
        return self.summaries == "all" or not unit.has_docstring


def cache_key(loaded: "LoadedModel") -> str:
    """The result-cache key of a loaded model: base, adapter, prompt, calibration and precision."""
    from codelens.cache import result_key

    precision = f"{str(loaded.dtype).replace('torch.', '')}/{loaded.quantize}"
    return result_key(loaded.base_fingerprint, loaded.adapter_hash, loaded.meta.prompt, loaded.meta.calibration,
                      precision)


def analyse(
    units: list[CodeUnit],
    loaded: "LoadedModel",
    settings: EngineSettings,
    cache: "ResultCache | None" = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, UnitResult], EngineStats]:
    """Results for every distinct unit (keyed by CodeUnit.hash) and the run's counters.

    ``progress(done, total)`` is called with counts of distinct functions: first after the cache
    lookup, then after every batch. Summaries are generated only when the adapter was trained for
    them ("summary" in its codelens.json tasks) and the settings ask for them.
    """
    started = time.perf_counter()
    stats = EngineStats(functions=len(units))
    first: dict[str, CodeUnit] = {}
    wants: dict[str, bool] = {}
    summarising = "summary" in loaded.meta.tasks
    for unit in units:
        first.setdefault(unit.hash, unit)
        wants[unit.hash] = wants.get(unit.hash, False) or (summarising and settings.wants_summary(unit))
    stats.unique = len(first)

    key = cache_key(loaded) if cache is not None else ""
    results: dict[str, UnitResult] = {}
    if cache is not None:
        for unit_hash, hit in cache.get_many(first, key).items():
            if wants[unit_hash] and hit.summary is None:
                continue  # cached without the summary now wanted: recompute the whole result
            if not wants[unit_hash]:
                hit.summary = None
            results[unit_hash] = hit
    stats.cache_hits = len(results)
    if progress is not None:
        progress(len(results), stats.unique)

    misses = [h for h in first if h not in results]
    if misses:
        store = _CacheWriter(cache, key) if cache is not None else None
        try:
            computed = _compute(misses, first, wants, loaded, settings, stats,
                                lambda n: progress(len(results) + n, stats.unique) if progress else None,
                                store.add if store is not None else None)
        finally:
            if store is not None:  # also on Ctrl-C or an error: what was computed is kept
                store.flush()
        results.update(computed)
    stats.computed = len(misses)
    stats.seconds = time.perf_counter() - started
    return results, stats


@contextlib.contextmanager
def _threads(settings: EngineSettings, device):
    import torch

    previous = torch.get_num_threads()
    wanted = settings.threads or os.cpu_count() or 1
    if device.type == "cpu" and wanted != previous:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


class _CacheWriter:
    """Stores results as batches finish, every ``FLUSH_RESULTS`` results or ``FLUSH_SECONDS``, so a long
    cold scan that is interrupted keeps most of its work for the next run."""

    FLUSH_RESULTS = 2048
    FLUSH_SECONDS = 30.0

    def __init__(self, cache: "ResultCache", key: str) -> None:
        self.cache, self.key = cache, key
        self.pending: list[UnitResult] = []
        self.last = time.monotonic()

    def add(self, results: list[UnitResult]) -> None:
        self.pending.extend(results)
        if len(self.pending) >= self.FLUSH_RESULTS or time.monotonic() - self.last >= self.FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.cache.put_many(self.pending, self.key)
            self.pending = []
        self.last = time.monotonic()


def _compute(misses, first, wants, loaded, settings, stats, advance, keep=None) -> dict[str, UnitResult]:
    from codelens.model.generate import stop_token_ids
    from codelens.model.prompt import build_prompt_ids

    tokenizer, fmt = loaded.tokenizer, loaded.meta.prompt
    fallback = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.pad_token_id
    prompts = {h: build_prompt_ids(tokenizer, first[h].body, fmt) or [fallback] for h in misses}
    stops = stop_token_ids(tokenizer) if any(wants[h] for h in misses) else frozenset()
    out: dict[str, UnitResult] = {}
    # Units with and without a summary go in separate batches: a batch either decodes or it does not.
    groups = [[h for h in misses if wants[h]], [h for h in misses if not wants[h]]]
    with _threads(settings, loaded.device), quiet_int8():
        for summarise, group in zip((True, False), groups):
            lengths = [len(prompts[h]) for h in group]
            for batch in plan_batches(lengths, settings.token_budget, settings.max_batch):
                hashes = [group[i] for i in batch]
                ids = [prompts[h] for h in hashes]
                logits, embeddings, summaries = run_batch(loaded, ids, stops if summarise else None)
                temperature = loaded.meta.calibration.defect_temperature
                made = []
                for row, unit_hash in enumerate(hashes):
                    logit = float(logits[row])
                    out[unit_hash] = result = UnitResult(
                        hash=unit_hash,
                        defect_probability=_sigmoid(logit / temperature),
                        defect_logit=logit,
                        embedding=embeddings[row].copy(),
                        summary=summaries[row] if summaries is not None else None,
                        cached=False,
                    )
                    made.append(result)
                if keep is not None:
                    keep(made)
                stats.batches += 1
                stats.tokens += sum(len(x) for x in ids)
                stats.summaries_generated += len(hashes) if summaries is not None else 0
                advance(len(out))
    return out


@contextlib.contextmanager
def quiet_int8():
    """Silence bitsandbytes' int8 notice, logged on every matmul that casts activations to fp16: expected,
    not news. Used wherever an int8 model runs (scan engine, trainer, benchmarks)."""
    import logging

    logger = logging.getLogger("bitsandbytes.autograd._functions")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _sigmoid(x: float) -> float:
    import math

    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


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
