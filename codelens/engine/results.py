"""What the engine hands back: one result per distinct function, and counters for the run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is only needed by whoever builds a result
    import numpy as np


@dataclass
class UnitResult:
    """The model's outputs for one distinct function (keyed by CodeUnit.hash)."""

    hash: str
    """CodeUnit.hash of the function(s) this result belongs to."""
    defect_probability: float
    """Calibrated: sigmoid(defect_logit / calibration.defect_temperature)."""
    defect_logit: float
    """Raw output of the defect head."""
    embedding: np.ndarray
    """L2-normalised clone embedding, float32, shape (clone_dim,)."""
    summary: str | None
    """Generated one-line summary; None when no summary was asked for this function."""
    cached: bool
    """True when the result came from the result cache rather than from the model."""


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
