"""The engine: batches distinct functions under a token budget and runs each through the model once."""

from codelens.engine.results import EngineStats
from codelens.engine.runner import EngineSettings, LocalScorer, Scorer, analyse, cache_key

__all__ = ["EngineSettings", "EngineStats", "LocalScorer", "Scorer", "analyse", "cache_key"]
