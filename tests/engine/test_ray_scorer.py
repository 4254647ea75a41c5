"""RayScorer: the same results as the local engine, from a pool of Ray workers that may die mid-scan.

The slow tests run on a 2-CPU Ray cluster on loopback (the session fixture ``ray_address``); the others
check the chunk plan and the errors without Ray running.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys

import numpy as np
import pytest

from codelens.cache import ResultCache
from codelens.core import TASKS
from codelens.engine import EngineSettings, analyse, cache_key, ray_scorer
from codelens.engine.ray_scorer import CHARS_PER_TOKEN, CHUNK_BATCHES, RayScorer, plan_chunks, portable_spec
from codelens.errors import CodelensError, ModelError
from codelens.model.loading import LazyModel, load_model
from codelens.model.options import ModelSpec
from tests.tinymodels import make_unit, sample_bodies

TEST_TIMEOUT_S = 300
"""A Ray test that hangs is stopped with a traceback after this long, rather than holding the suite."""


# ---------------------------------------------------------------- without Ray running


def _functions(n: int) -> dict[str, str]:
    return {f"k{i}": "x = 1\n" * (1 + i % 7) for i in range(n)}


def test_chunks_cover_every_function_once_and_never_mix_summaries():
    functions = _functions(500)
    summarise = {key for i, key in enumerate(functions) if i % 3 == 0}
    chunks = plan_chunks(functions, summarise, token_budget=256, max_batch=16, workers=2)
    flat = [key for chunk in chunks for key in chunk]
    assert sorted(flat) == sorted(functions)
    assert all(len({key in summarise for key in chunk}) == 1 for chunk in chunks)
    assert all(len(chunk) <= CHUNK_BATCHES * 16 for chunk in chunks)


def test_small_scans_are_cut_so_every_worker_gets_work():
    chunks = plan_chunks(_functions(40), set(), token_budget=8192, max_batch=64, workers=4)
    assert len(chunks) >= 8  # two per worker, although one chunk could hold them all


def test_costliest_chunks_go_first():
    functions = {f"k{i}": "y" * (CHARS_PER_TOKEN * 5 * (i + 1)) for i in range(64)}
    chunks = plan_chunks(functions, set(), token_budget=64, max_batch=4, workers=1)
    costs = [sum(len(functions[key]) for key in chunk) for chunk in chunks]
    assert costs == sorted(costs, reverse=True)


def test_with_token_lengths_a_worker_replans_exactly_the_local_batches():
    """A chunk is a run of whole local batches: the worker's own plan of it gives back those batches (ties
    in length included), so a Ray scan batches every function as a local scan does."""
    import random

    from codelens.model.forward import plan_batches

    rng = random.Random(7)
    functions = {f"k{i}": "x" for i in range(300)}
    lengths = {key: rng.choice([5, 9, 9, 14, 30, 31, 64, 200]) for key in functions}
    summarise = {key for i, key in enumerate(functions) if i % 4 == 0}
    chunks = plan_chunks(functions, summarise, token_budget=256, max_batch=16, workers=3, lengths=lengths)
    assert sorted(k for chunk in chunks for k in chunk) == sorted(functions) and len(chunks) >= 6

    def batches(keys):
        return {tuple(keys[i] for i in b) for b in plan_batches([lengths[k] for k in keys], 256, 16)}

    local = set()
    for summarising in (True, False):
        local |= batches([k for k in functions if (k in summarise) == summarising])
    remote = set().union(*(batches(chunk) for chunk in chunks))
    assert remote == local


def test_workers_get_absolute_folders_and_the_drivers_precision(tmp_path, monkeypatch):
    (tmp_path / "base").mkdir()
    monkeypatch.chdir(tmp_path)
    spec = portable_spec(ModelSpec(model="base", adapter=None, device="auto"), "float32", "cpu")
    assert spec.model == str(tmp_path / "base") and spec.adapter is None
    assert spec.dtype == "float32" and spec.device == "cpu"
    assert portable_spec(ModelSpec(model="org/hub-model"), "bfloat16", "cuda").model == "org/hub-model"


def test_without_ray_installed_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without the extra gives
    scorer = RayScorer(ModelSpec(), loaded=None, settings=EngineSettings(), address="auto")
    with pytest.raises(CodelensError, match="needs the ray package") as caught:
        scorer({"k": "x = 1"}, set(), lambda batch: None)
    assert "codelens[ray]" in caught.value.hint


def test_an_address_nothing_answers_at_fails_at_once():
    with pytest.raises(CodelensError, match="no Ray cluster answers at 127.0.0.1:9"):
        ray_scorer._reachable("127.0.0.1:9")  # the discard port: refused on loopback


def test_auto_with_ray_address_set_probes_that_address(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")
    assert ray_scorer.resolve_address("auto") == "127.0.0.1:9"
    with pytest.raises(CodelensError, match="no Ray cluster answers at 127.0.0.1:9"):
        ray_scorer._reachable(ray_scorer.resolve_address("auto"))


def test_nothing_is_asked_of_ray_when_every_function_is_cached():
    scorer = RayScorer(ModelSpec(), loaded=None, settings=EngineSettings(), address="127.0.0.1:9")
    scorer({}, set(), lambda batch: None)  # the engine's call when the cache answered everything
    scorer.close()


# ---------------------------------------------------------------- on a Ray cluster


@pytest.fixture
def bounded():
    """Stop a hung Ray test (and the run) with every thread's traceback, instead of waiting for ever."""
    faulthandler.dump_traceback_later(TEST_TIMEOUT_S, exit=True, file=sys.__stderr__)  # capsys swaps sys.stderr
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def spec(tiny_llama, tiny_llama_adapter) -> ModelSpec:
    return ModelSpec(model=str(tiny_llama), adapter=str(tiny_llama_adapter), device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def units():
    bodies = sample_bodies()
    # Enough distinct functions for several chunks per worker; every other one without a docstring.
    return [make_unit(f"{body}\n# variant {i}\n", docstring=None if i % 2 else "Documented.", qualname=f"f{i}")
            for i in range(12) for body in bodies]


@pytest.fixture(scope="module")
def local(spec, units):
    results, _ = analyse(units, load_model(spec), _settings())
    return results


def _settings() -> EngineSettings:
    return EngineSettings(threads=1, tasks=frozenset(TASKS))


def _driver_model(spec: ModelSpec, monkeypatch) -> LazyModel:
    """The scanning process's model, as a scan makes it: loading its weights here fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the driver loaded the model's weights")

    monkeypatch.setattr("codelens.model.loading._load_resolved", refuse)
    return LazyModel(spec)


def _assert_same(results: dict, local: dict, atol: float = 1e-5) -> None:
    """The local engine's results: summaries exactly, numbers to float32 rounding (batches of other shapes)."""
    assert results.keys() == local.keys()
    for key, want in local.items():
        got = results[key]
        assert got.summary == want.summary
        assert abs(got.defect_logit - want.defect_logit) <= atol
        np.testing.assert_allclose(got.embedding, want.embedding, atol=atol)
        assert not got.cached


@pytest.mark.slow
def test_two_workers_give_the_local_results_without_loading_the_model_here(ray_address, spec, units, local,
                                                                           monkeypatch, bounded):
    lazy = _driver_model(spec, monkeypatch)
    scorer = RayScorer(spec, lazy, _settings(), address=ray_address, workers=2, cpus_per_worker=1)
    seen, workers_up = [], []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        workers_up.append(len(scorer.identities))

    ours = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        results, stats = analyse(units, lazy, _settings(), progress=progress, scorer=scorer)
        # ray.init sets a SIGTERM handler of its own; the CLI's (store what was computed, exit 143) must stay
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        scorer.close()
        signal.signal(signal.SIGTERM, ours)
    _assert_same(results, local)
    assert stats.computed == len(local) and stats.summaries_generated == sum(1 for r in local.values() if r.summary)
    assert len({identity["pid"] for identity in scorer.identities}) == 2
    assert set(workers_up[1:]) == {2}  # no chunk ran before both workers had loaded the model (however slowly)
    assert len(seen) > 3 and seen == sorted(seen)  # results arrived chunk by chunk, not all at the end
    assert not lazy.is_loaded


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_worker_killed_mid_scan_costs_only_its_chunks(ray_address, spec, units, local, workers, monkeypatch,
                                                         bounded):
    """With one worker, Ray restarts it (and it reloads the model); with two, the other takes its chunks too."""
    lazy = _driver_model(spec, monkeypatch)
    scorer = RayScorer(spec, lazy, _settings(), address=ray_address, workers=workers, cpus_per_worker=1)
    killed: list[int] = []

    def progress(done: int, total: int) -> None:
        if done and not killed:  # the first chunk is in: kill the worker while it runs the next ones
            killed.append(scorer.identities[0]["pid"])
            os.kill(killed[0], signal.SIGKILL)

    try:
        results, stats = analyse(units, lazy, _settings(), progress=progress, scorer=scorer)
    finally:
        scorer.close()
    assert killed
    _assert_same(results, local)
    assert stats.computed == len(local)
    if workers == 1:  # the only worker came back in a new process
        assert len(scorer.identities) == 2 and scorer.identities[1]["pid"] != killed[0]


@pytest.mark.slow
def test_an_interrupted_scan_keeps_what_came_back(ray_address, spec, units, local, tmp_path, monkeypatch, bounded):
    lazy = _driver_model(spec, monkeypatch)
    cache = ResultCache(tmp_path / "results.sqlite")
    scorer = RayScorer(spec, lazy, _settings(), address=ray_address, workers=1, cpus_per_worker=1)
    calls = []

    def interrupt(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 3:  # the cache lookup, then two batches
            raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            analyse(units, lazy, _settings(), cache, progress=interrupt, scorer=scorer)
    finally:
        scorer.close()
    kept = cache.get_many({u.hash: u for u in units}, cache_key(lazy))
    assert 0 < len(kept) < len(local) and len(kept) == calls[-1]
    scorer = RayScorer(spec, lazy, _settings(), address=ray_address, workers=1, cpus_per_worker=1)
    try:
        results, stats = analyse(units, lazy, _settings(), cache, scorer=scorer)
    finally:
        scorer.close()
        cache.close()
    assert stats.cache_hits == len(kept) and stats.computed == len(local) - len(kept)
    _assert_same({k: v for k, v in results.items() if k not in kept}, {k: v for k, v in local.items() if k not in kept})


@pytest.mark.slow
def test_a_worker_with_another_adapter_is_refused(ray_address, spec, units, tiny_llama, make_adapter, tmp_path,
                                                  monkeypatch, bounded):
    """Results stored under this scan's cache key must come from this scan's model, wherever they ran."""
    other = make_adapter(tiny_llama, tmp_path / "other-adapter", seed=1)
    lazy = _driver_model(spec, monkeypatch)
    worker_spec = ModelSpec(model=spec.model, adapter=str(other), device="cpu", dtype="float32")
    scorer = RayScorer(worker_spec, lazy, _settings(), address=ray_address, workers=1, cpus_per_worker=1)
    try:
        with pytest.raises(CodelensError, match="does not run the model of this scan: adapter_hash") as caught:
            analyse(units[:4], lazy, _settings(), scorer=scorer)
    finally:
        scorer.close()
    assert "same paths" in caught.value.hint


@pytest.mark.slow
def test_a_worker_that_cannot_load_the_model_stops_the_scan_with_the_models_error(ray_address, spec, units,
                                                                                   tmp_path, monkeypatch, bounded):
    lazy = _driver_model(spec, monkeypatch)
    missing = ModelSpec(model=spec.model, adapter=str(tmp_path / "not-there"), device="cpu", dtype="float32")
    scorer = RayScorer(missing, lazy, _settings(), address=ray_address, workers=1, cpus_per_worker=1)
    try:
        with pytest.raises(ModelError, match="not-there does not exist") as caught:
            analyse(units[:4], lazy, _settings(), scorer=scorer)
    finally:
        scorer.close()
    assert caught.value.hint and "--adapter" in caught.value.hint
