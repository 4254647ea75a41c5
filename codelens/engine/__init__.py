"""The engine: batches distinct functions under a token budget and runs each through the model once."""

from codelens.engine.batching import plan_batches
from codelens.engine.results import EngineStats, UnitResult
from codelens.engine.runner import EngineSettings, analyse, cache_key

__all__ = ["EngineSettings", "EngineStats", "UnitResult", "analyse", "cache_key", "plan_batches"]
