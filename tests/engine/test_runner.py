"""analyse(): batching does not change results, duplicates and cache hits never reach the model."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from codelens.cache import ResultCache
from codelens.engine import EngineSettings, analyse, cache_key, runner
from codelens.errors import ConfigError
from codelens.model import forward
from codelens.model.forward import plan_batches
from codelens.model.generate import generate_first_lines
from codelens.model.loading import load_model
from codelens.model.options import ModelSpec
from codelens.model.prompt import build_prompt_ids
from tests.tinymodels import make_unit, sample_bodies


@pytest.fixture(scope="module")
def loaded(tiny_llama_adapter, tiny_llama):
    return load_model(ModelSpec(model=str(tiny_llama), adapter=str(tiny_llama_adapter), device="cpu", dtype="float32"))


@pytest.fixture(scope="module")
def units():
    bodies = sample_bodies()
    # Every other unit has a docstring: with summaries="missing" only the others get one.
    return [make_unit(body, docstring="Documented." if i % 2 else None, qualname=f"f{i}")
            for i, body in enumerate(bodies)]


def _settings(**kwargs) -> EngineSettings:
    return EngineSettings(threads=1, **kwargs)


def test_batched_equals_one_at_a_time(loaded, units):
    batched, stats = analyse(units, loaded, _settings(summaries="all", token_budget=4096))
    single, single_stats = analyse(units, loaded, _settings(summaries="all", token_budget=1))
    assert stats.batches < single_stats.batches == len(units)
    assert set(batched) == set(single) == {u.hash for u in units}
    for unit_hash, result in batched.items():
        other = single[unit_hash]
        assert abs(result.defect_logit - other.defect_logit) < 1e-4
        assert abs(result.defect_probability - other.defect_probability) < 1e-4
        np.testing.assert_allclose(result.embedding, other.embedding, atol=1e-4)
        assert result.summary == other.summary
        assert result.embedding.dtype == np.float32 and result.embedding.shape == (loaded.meta.clone_dim,)
        assert not result.cached


def test_outputs_match_a_direct_forward(loaded, units):
    """The engine's pooled state, heads and temperature give exactly what the full model gives."""
    from codelens.model.heads import bug_log_odds, pool_hidden
    from codelens.model.prompt import build_prompt

    unit = units[0]
    results, _ = analyse([unit], loaded, _settings(summaries="none"))
    prompt = build_prompt(loaded.tokenizer, unit.body, loaded.meta.prompt)
    ids = torch.tensor([prompt.ids])
    code_mask = torch.zeros_like(ids)
    code_mask[0, prompt.code_start:prompt.code_start + len(prompt.offsets)] = 1
    with torch.inference_mode():
        hidden = loaded.model(input_ids=ids, output_hidden_states=True).hidden_states[-1]
        emb = loaded.heads.embed(pool_hidden(hidden, torch.ones_like(ids)))
        from codelens.model.heads import word_relations

        relations = [[(r, prompt.code_start + i, prompt.code_start + j)
                      for r, i, j in word_relations(unit.body, prompt.offsets)]]
        logit = bug_log_odds(loaded.heads.bug(hidden, code_mask, relations)[0])
    assert results[unit.hash].defect_logit == pytest.approx(float(logit[0]), abs=1e-5)
    np.testing.assert_allclose(results[unit.hash].embedding, emb[0].numpy(), atol=1e-5)


@pytest.mark.slow
def test_summary_continues_from_the_prefill(loaded, units):
    """Continuing from the prefill's cache gives what a fresh prompt run through the full model gives."""
    results, stats = analyse(units[:4], loaded, _settings(summaries="all"))
    prompts = [build_prompt_ids(loaded.tokenizer, u.body, loaded.meta.prompt) for u in units[:4]]
    expected = generate_first_lines(loaded.model, loaded.tokenizer, prompts, loaded.meta.prompt.max_summary_tokens)
    assert [results[u.hash].summary for u in units[:4]] == expected
    assert stats.summaries_generated == 4


def test_lora_is_active(loaded, units, tiny_llama_adapter, tiny_llama):
    assert loaded.merged  # what a scan runs: the LoRA folded into the weights
    with_lora, _ = analyse(units[:3], loaded, _settings(summaries="none"))
    unmerged = load_model(ModelSpec(model=str(tiny_llama), adapter=str(tiny_llama_adapter), device="cpu",
                                    dtype="float32", merge=False))
    with unmerged.model.disable_adapter():
        without, _ = analyse(units[:3], unmerged, _settings(summaries="none"))
    assert any(abs(with_lora[h].defect_logit - without[h].defect_logit) > 1e-3 for h in with_lora)


def test_merged_and_unmerged_adapters_agree(loaded, units, tiny_llama_adapter, tiny_llama):
    unmerged = load_model(ModelSpec(model=str(tiny_llama), adapter=str(tiny_llama_adapter), device="cpu",
                                    dtype="float32", merge=False))
    merged_results, _ = analyse(units, loaded, _settings(summaries="all"))
    unmerged_results, _ = analyse(units, unmerged, _settings(summaries="all"))
    for unit_hash, result in merged_results.items():
        other = unmerged_results[unit_hash]
        assert result.defect_logit == pytest.approx(other.defect_logit, abs=1e-4)
        np.testing.assert_allclose(result.embedding, other.embedding, atol=1e-4)
        assert result.summary == other.summary


def test_identical_functions_run_once(loaded, units):
    twice = units[:3] + [dataclasses.replace(u, path="copy.py") for u in units[:3]]
    results, stats = analyse(twice, loaded, _settings(summaries="none"))
    assert (stats.functions, stats.unique, stats.computed, stats.cache_hits) == (6, 3, 3, 0)
    assert len(results) == 3


def test_which_units_get_summaries(loaded, units):
    missing, stats = analyse(units, loaded, _settings(summaries="missing"))
    for unit in units:
        assert (missing[unit.hash].summary is None) == unit.has_docstring
    assert stats.summaries_generated == sum(not u.has_docstring for u in units)
    everything, _ = analyse(units, loaded, _settings(summaries="all"))
    assert all(isinstance(r.summary, str) for r in everything.values())
    none, stats = analyse(units, loaded, _settings(summaries="none"))
    assert all(r.summary is None for r in none.values()) and stats.summaries_generated == 0
    no_task, _ = analyse(units, loaded, _settings(summaries="all", tasks=frozenset({"defect", "clone"})))
    assert all(r.summary is None for r in no_task.values())
    untrained = dataclasses.replace(loaded, meta=dataclasses.replace(loaded.meta, tasks=["defect", "clone"]))
    no_head, _ = analyse(units, untrained, _settings(summaries="all"))
    assert all(r.summary is None for r in no_head.values())


def test_precision_is_part_of_the_cache_key(loaded):
    assert cache_key(dataclasses.replace(loaded, dtype=torch.bfloat16)) != cache_key(loaded)
    assert cache_key(dataclasses.replace(loaded, quantize="nf4")) != cache_key(loaded)


def test_probability_is_calibrated_logit(loaded, units):
    meta = dataclasses.replace(loaded.meta, calibration=dataclasses.replace(loaded.meta.calibration,
                                                                            defect_temperature=2.5))
    hotter = dataclasses.replace(loaded, meta=meta)
    results, _ = analyse(units[:3], hotter, _settings(summaries="none"))
    for result in results.values():
        assert result.defect_probability == pytest.approx(1 / (1 + math.exp(-result.defect_logit / 2.5)), abs=1e-12)
    assert cache_key(hotter) != cache_key(loaded)


def test_cached_rescan(loaded, units, tmp_path):
    with ResultCache(tmp_path / "results.sqlite") as cache:
        first, stats = analyse(units, loaded, _settings(), cache)
        assert (stats.cache_hits, stats.computed) == (0, stats.unique)
        again, stats = analyse(units, loaded, _settings(), cache)
    assert stats.cache_hits == stats.unique == len(units)
    assert (stats.computed, stats.batches, stats.tokens, stats.summaries_generated) == (0, 0, 0, 0)
    for unit_hash, result in again.items():
        assert result.cached
        assert result.defect_logit == pytest.approx(first[unit_hash].defect_logit, abs=1e-6)
        np.testing.assert_array_equal(result.embedding, first[unit_hash].embedding)
        assert result.summary == first[unit_hash].summary


def test_cached_entry_without_a_wanted_summary_is_recomputed(loaded, units, tmp_path):
    with ResultCache(tmp_path / "results.sqlite") as cache:
        analyse(units, loaded, _settings(summaries="none"), cache)
        results, stats = analyse(units, loaded, _settings(summaries="missing"), cache)
        wanting = sum(not u.has_docstring for u in units)
        assert (stats.cache_hits, stats.computed) == (len(units) - wanting, wanting)
        for unit in units:
            assert results[unit.hash].cached == unit.has_docstring
            assert results[unit.hash].summary is None if unit.has_docstring else isinstance(
                results[unit.hash].summary, str)
        _, stats = analyse(units, loaded, _settings(summaries="missing"), cache)
        assert stats.cache_hits == len(units)


def test_batches_respect_the_budget(loaded, units, monkeypatch):
    shapes = []
    real = forward.run_batch

    def spy(loaded_, functions, prompts, stop_ids, floor):
        shapes.append((len(prompts), max(len(p.ids) for p in prompts)))
        return real(loaded_, functions, prompts, stop_ids, floor)

    monkeypatch.setattr(forward, "run_batch", spy)
    budget = 300
    _, stats = analyse(units, loaded, _settings(summaries="none", token_budget=budget, max_batch=3))
    lengths = [len(build_prompt_ids(loaded.tokenizer, u.body, loaded.meta.prompt)) for u in units]
    assert stats.batches == len(shapes) == len(plan_batches(lengths, budget, 3))
    assert stats.tokens == sum(lengths)
    for size, longest in shapes:
        assert size <= 3 and (size * longest <= budget or size == 1)


def test_progress_counts_distinct_functions(loaded, units):
    seen = []
    analyse(units[:5], loaded, _settings(summaries="none", token_budget=1), progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_nothing_to_do(loaded):
    results, stats = analyse([], loaded, _settings())
    assert results == {} and (stats.functions, stats.unique, stats.batches) == (0, 0, 0)


def test_threads_are_restored(loaded, units):
    before = torch.get_num_threads()
    analyse(units[:1], loaded, EngineSettings(summaries="none", threads=0))
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    "kwargs",
    [dict(tasks=frozenset({"lint"})), dict(summaries="some"), dict(token_budget=0), dict(max_batch=0),
     dict(threads=-1)],
)
def test_settings_are_validated(kwargs):
    with pytest.raises(ConfigError):
        EngineSettings(**kwargs)


def test_quiet_int8_silences_the_bitsandbytes_cast_notice_and_restores_the_level():
    import logging

    logger = logging.getLogger("bitsandbytes.autograd._functions")
    logger.setLevel(logging.INFO)
    try:
        with forward.quiet_int8():
            assert logger.level == logging.ERROR
        assert logger.level == logging.INFO
    finally:
        logger.setLevel(logging.NOTSET)


def test_an_interrupted_run_keeps_finished_batches(loaded, units, tmp_path):
    cache = ResultCache(tmp_path / "results.sqlite")
    key = cache_key(loaded)

    def stop_after_first_batch(done, total):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        analyse(units, loaded, _settings(summaries="none", max_batch=2), cache, stop_after_first_batch)
    kept = cache.get_many([u.hash for u in units], key)
    assert len(kept) == 2  # the batch that finished before the interrupt
    results, stats = analyse(units, loaded, _settings(summaries="none", max_batch=2), cache)
    assert stats.cache_hits == 2 and stats.computed == len(units) - 2
    cache.close()


def test_results_are_stored_as_batches_finish(loaded, units, tmp_path, monkeypatch):
    monkeypatch.setattr(runner._CacheWriter, "FLUSH_RESULTS", 3)
    cache = ResultCache(tmp_path / "results.sqlite")
    writes = []
    original = cache.put_many
    monkeypatch.setattr(cache, "put_many", lambda results, key: writes.append(len(results)) or original(results, key))
    analyse(units, loaded, _settings(summaries="none", max_batch=2), cache)
    assert sum(writes) == len(units) and len(writes) > 1 and all(n <= 4 for n in writes[:-1])
    cache.close()
