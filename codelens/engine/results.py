"""Counters for one engine run (the per-function results are ``codelens.core.UnitResult``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EngineStats:
    """Counters for one analyse() call, for progress lines and benchmarks."""

    functions: int = 0
    """Units given (duplicates included)."""
    unique: int = 0
    """Distinct unit hashes among them."""
    cache_hits: int = 0
    """Distinct functions answered by the cache."""
    computed: int = 0
    """Distinct functions run through the model."""
    summaries_generated: int = 0
    """Summaries decoded in this run (cache hits not counted)."""
    batches: int = 0
    """Prefill batches run."""
    tokens: int = 0
    """Prompt tokens run through the model (padding excluded)."""
    seconds: float = 0.0
    """Wall time of the call."""
