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
from typing import TYPE_CHECKING, Protocol

from codelens.choices import SummaryMode, choice
from codelens.core import TASKS, CodeUnit, FunctionText, UnitResult
from codelens.engine.results import EngineStats
from codelens.errors import ConfigError
from codelens.model.forward import DEFAULT_MAX_BATCH, DEFAULT_TOKEN_BUDGET, ScoredBatch, score_functions, sigmoid

if TYPE_CHECKING:
    from codelens.cache import ResultCache
    from codelens.model.loading import LoadedModel


@dataclass
class EngineSettings:
    """How analyse() runs; a scan sets it from ``--summaries``, ``--token-budget`` and ``--jobs``."""

    tasks: frozenset = field(default_factory=lambda: frozenset(TASKS))
    """Tasks wanted. Defect and clone outputs come from the same prefill and are always computed;
    without "summary" no summaries are generated."""
    summaries: SummaryMode = SummaryMode.MISSING
    """Which functions get a generated summary: missing (those without a docstring), all, or none."""
    token_budget: int = DEFAULT_TOKEN_BUDGET
    """Most padded tokens (batch size x longest prompt) in one forward pass: bounds memory."""
    max_batch: int = DEFAULT_MAX_BATCH
    """Most functions in one forward pass."""
    threads: int = 0
    """CPU threads for torch; 0 = one per CPU core."""
    summary_hashes: frozenset[str] | None = None
    """Hashes of the functions a summary could be shown for (CL300's scope: no test code, no stubs, not where
    the rule is deselected); None: any function ``summaries`` picks."""

    def __post_init__(self) -> None:
        self.tasks = frozenset(self.tasks)
        unknown = self.tasks - set(TASKS)
        if unknown:
            raise ConfigError(f"unknown task(s): {', '.join(sorted(unknown))}", hint=f"choose from {', '.join(TASKS)}")
        self.summaries = choice(SummaryMode, "summaries", self.summaries)
        for name in ("token_budget", "max_batch"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.threads < 0:
            raise ConfigError(f"threads must be 0 (auto) or more, got {self.threads}")

    def wants_summary(self, unit: CodeUnit) -> bool:
        if "summary" not in self.tasks or self.summaries == "none":
            return False
        if self.summary_hashes is not None and unit.hash not in self.summary_hashes:
            return False
        return self.summaries == "all" or not unit.has_docstring


def cache_key(loaded: "LoadedModel") -> str:
    """The result-cache key of a model: base (as recorded and as given), adapter, prompt, calibration and
    precision. Read from names only, so a lazily loaded model is not loaded to compute it."""
    from codelens.cache import result_key

    base = f"{loaded.base_fingerprint}|{loaded.model_given}" if loaded.model_given else loaded.base_fingerprint
    precision = f"{loaded.dtype_name}/{loaded.quantize}"
    return result_key(base, loaded.adapter_hash, loaded.meta.prompt, loaded.meta.calibration, precision)


def analyse(
    units: list[CodeUnit],
    loaded: "LoadedModel",
    settings: EngineSettings,
    cache: "ResultCache | None" = None,
    progress: Callable[[int, int], None] | None = None,
    scorer: "Scorer | None" = None,
) -> tuple[dict[str, UnitResult], EngineStats]:
    """Results for every distinct unit (keyed by CodeUnit.hash) and the run's counters.

    ``progress(done, total)`` is called with counts of distinct functions: first after the cache
    lookup, then after every batch. Summaries are generated only when the adapter was trained for
    them ("summary" in its codelens.json tasks) and the settings ask for them. ``scorer`` runs the
    functions the cache lacks (default: ``LocalScorer``, this process's model); another scorer, such as a
    pool of workers, gives the same results through the same cache.
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

    # In a fixed order (the parser workers return files as they finish): the batches, and with them the last
    # digits of every number (a batched matmul rounds by what shares the batch), do not change between runs.
    misses = sorted(h for h in first if h not in results)
    if misses:
        store = _CacheWriter(cache, key) if cache is not None else None
        try:
            computed = _compute(misses, first, wants, loaded, scorer or LocalScorer(loaded, settings), stats,
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

    FLUSH_RESULTS = 512
    FLUSH_SECONDS = 10.0

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


class Scorer(Protocol):
    """Runs functions through the model: what ``analyse`` needs for the functions the cache lacks."""

    def __call__(self, functions: dict[str, FunctionText], summarise: set[str],
                 on_batch: Callable[["ScoredBatch"], None]) -> None:
        """Score every function (keyed by function hash), summaries for the keys in ``summarise``; hand each
        finished batch to ``on_batch`` as it completes (from the calling thread)."""


class LocalScorer:
    """The model of this process (``model.forward.score_functions``), on the engine's CPU threads."""

    def __init__(self, loaded: "LoadedModel", settings: EngineSettings) -> None:
        self.loaded, self.settings = loaded, settings

    def __call__(self, functions: dict[str, FunctionText], summarise: set[str], on_batch) -> None:
        with _threads(self.settings, self.loaded.device):
            score_functions(self.loaded, functions, summarise, self.settings.token_budget, self.settings.max_batch,
                            on_batch=on_batch)


def _compute(misses, first, wants, loaded, scorer: Scorer, stats, advance, keep=None) -> dict[str, UnitResult]:
    temperature = loaded.meta.calibration.defect_temperature
    out: dict[str, UnitResult] = {}

    def finished(batch) -> None:
        made = [UnitResult(hash=unit_hash, defect_probability=sigmoid(scored.logit / temperature),
                           defect_logit=scored.logit, embedding=scored.embedding, summary=scored.summary,
                           cached=False, bug=scored.bug, summary_confidence=scored.summary_confidence)
                for unit_hash, scored in zip(batch.keys, batch.scored)]
        out.update((result.hash, result) for result in made)
        if keep is not None:
            keep(made)
        stats.batches += 1
        stats.tokens += batch.tokens
        stats.summaries_generated += len(made) if batch.summarised else 0
        advance(len(out))

    functions = {h: FunctionText(first[h].body, first[h].language, first[h].indent) for h in misses}
    scorer(functions, {h for h in misses if wants[h]}, finished)
    return out
