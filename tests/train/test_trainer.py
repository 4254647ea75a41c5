"""Adapter training end to end on tiny local models: save / reload, trainable parameters, resume, learning."""

from __future__ import annotations

import dataclasses

from pathlib import Path

import pytest
from safetensors.torch import load_file

from codelens.errors import CodelensError, ConfigError
from codelens.model.adapter_meta import AdapterMetadata
from codelens.model.loading import base_fingerprint, load_base, load_model
from codelens.model.options import ModelSpec
from codelens.train.methods import resolve_targets
from codelens.train.trainer import train
from codelens.train_config import TrainConfig
from tests.tinymodels import build_tiny_tokenizer

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


def _config(base: Path, corpus: tuple[Path, Path], out: Path, **kw) -> TrainConfig:
    settings = dict(model=str(base), corpus=[str(corpus[0])], split_by="subdir", manifest=str(corpus[1]), out=str(out),
                    max_steps=6, batch_size=4, lora_r=4, lora_alpha=8, head_hidden=16, clone_dim=8, device="cpu",
                    dtype="float32", bugs_per_function=1, clone_variants=1, max_code_tokens=96, max_eval_summaries=2,
                    threads=1)
    settings.update(kw)
    return TrainConfig(**settings)


@pytest.mark.slow
def test_trains_saves_and_reloads(tiny_llama, small_corpus, tmp_path):
    events = []
    result = train(_config(tiny_llama, small_corpus, tmp_path / "adapter", max_steps=3, eval_every=2), events.append)
    out = tmp_path / "adapter"
    assert result.out == out.resolve() and result.steps == 3 and len(result.losses) == 3
    assert set(result.losses[0]) == {"defect", "clone", "summary"}
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", "adapter_config.json", "adapter_model.safetensors", "codelens.json", "heads.safetensors"]
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]  # no temporary or checkpoint folder left
    messages = [e for e in events if not e.total]  # counted stages (data building, scoring) aside
    assert [e.phase for e in messages][:3] == ["data", "data", "model"] and events[-1].phase == "save"
    assert messages[1].message.startswith("no test examples")  # the small corpus has no test repository
    counted = {(e.phase, e.message) for e in events if e.total}
    assert {("data", "making examples (functions)"), ("eval", "scoring val"), ("eval", "fitting the summary gate"),
            ("eval", "metrics")} <= counted
    assert [e.step for e in events if e.phase == "train"] == [1, 2, 3]
    mid_eval = next(e for e in messages if e.phase == "eval")
    assert mid_eval.step == 2 and set(mid_eval.metrics) == {"defect", "clone", "summary"}

    meta = AdapterMetadata.load(out)
    lm, tokenizer = load_base(str(tiny_llama), device="cpu", dtype="float32")
    assert meta.base_fingerprint == base_fingerprint(lm, tokenizer)
    assert meta.pooled_dim == 2 * lm.config.hidden_size and meta.clone_dim == 8 and meta.head_hidden == 16
    assert meta.prompt.max_code_tokens == 96
    assert meta.training["data_hash"] == result.data_hash and meta.training["steps"] == 3
    assert meta.training["config"]["lora_r"] == 4 and meta.training["config"]["manifest_splits"]["ledger"] == "val"
    assert [r["name"] for r in meta.training["provenance"]["repositories"]] == ["ledger", "numtools"]
    assert "temperature scaling" in meta.training["calibration"]["method"]
    assert meta.calibration.defect_temperature > 0 and 0 <= meta.thresholds.defect <= 1
    assert -1 <= meta.thresholds.clone <= 1
    assert set(meta.metrics["val"]) == {"defect", "clone", "summary"} and meta.metrics["test"] == {}
    assert meta.metrics == result.metrics

    loaded = load_model(ModelSpec(model=str(tiny_llama), adapter=str(out), device="cpu", dtype="float32"))
    assert loaded.meta.thresholds == meta.thresholds


def test_only_lora_and_head_parameters_train(tiny_llama, small_corpus, tmp_path):
    result = train(_config(tiny_llama, small_corpus, tmp_path / "a", max_steps=1, tasks=["defect", "clone"]))
    lora = load_file(str(tmp_path / "a" / "adapter_model.safetensors"))
    heads = load_file(str(tmp_path / "a" / "heads.safetensors"))
    assert lora and all("lora_A" in k or "lora_B" in k for k in lora)
    modules = {k.split(".lora_")[0].rsplit(".", 1)[-1] for k in lora}
    assert modules == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert result.trainable_params == sum(t.numel() for t in lora.values()) + sum(t.numel() for t in heads.values())
    lm, _ = load_base(str(tiny_llama), device="cpu", dtype="float32")
    assert result.total_params == sum(p.numel() for p in lm.parameters()) + result.trainable_params
    assert result.trainable_share == pytest.approx(result.trainable_params / result.total_params)
    meta = AdapterMetadata.load(tmp_path / "a")
    assert meta.tasks == ["defect", "clone"]
    # Scored on what it was trained for only: no summary metrics from a head it never trained.
    assert set(meta.metrics["val"]) == {"defect", "clone"}


class _Crash(Exception):
    pass


@pytest.mark.slow
def test_resume_after_a_crash_continues_identically(tiny_llama, small_corpus, tmp_path):
    straight = train(_config(tiny_llama, small_corpus, tmp_path / "straight", checkpoint_every=3))

    def crash_at_step_4(event):
        if event.phase == "train" and event.step == 4:
            raise _Crash

    crashed = _config(tiny_llama, small_corpus, tmp_path / "resumed", checkpoint_every=3)
    with pytest.raises(_Crash):
        train(crashed, crash_at_step_4)
    assert (tmp_path / "resumed.checkpoint" / "checkpoint.pt").is_file()
    assert not (tmp_path / "resumed").exists()

    events = []
    resumed = train(_config(tiny_llama, small_corpus, tmp_path / "resumed", checkpoint_every=3, resume=True),
                    events.append)
    assert "resumed from" in next(e.message for e in events if e.phase == "checkpoint")
    assert resumed.losses == straight.losses[3:]
    assert not (tmp_path / "resumed.checkpoint").exists()
    for name in ("heads.safetensors", "adapter_model.safetensors"):
        a, b = load_file(str(tmp_path / "straight" / name)), load_file(str(tmp_path / "resumed" / name))
        assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    assert resumed.metrics == straight.metrics

    # "resumed" now holds the finished adapter: the second crashed run replaces it only with overwrite.
    with pytest.raises(_Crash):
        train(dataclasses.replace(crashed, overwrite=True), crash_at_step_4)
    changed = _config(tiny_llama, small_corpus, tmp_path / "resumed", checkpoint_every=3, resume=True, lora_r=2,
                      overwrite=True)
    with pytest.raises(CodelensError, match="lora_r"):
        train(changed)


def test_config_is_validated():
    with pytest.raises(ConfigError, match="no training data"):
        TrainConfig(model="m")
    with pytest.raises(ConfigError, match="unknown or no tasks"):
        TrainConfig(model="m", corpus=["c"], tasks=["style"])
    with pytest.raises(ConfigError, match="sampling"):
        TrainConfig(model="m", corpus=["c"], sampling="random")
    with pytest.raises(ConfigError, match="bug kinds"):
        TrainConfig(model="m", corpus=["c"], bug_kinds=["typo"])
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(model="m", corpus=["c"], batch_size=2)


def test_target_modules(tiny_starcoder2):
    lm, _ = load_base(str(tiny_starcoder2), device="cpu", dtype="float32")
    assert resolve_targets(lm, None) == ["q_proj", "k_proj", "v_proj", "o_proj", "c_fc", "c_proj"]
    assert resolve_targets(lm, ["q_proj"]) == ["q_proj"]
    with pytest.raises(ConfigError, match="not found"):
        resolve_targets(lm, ["query"])


def _smooth_llama(folder: Path) -> Path:
    """A 2-layer, 64-wide Llama with the usual small init (0.02): its hidden states keep token identity,
    which the adapter then learns to read. (The shared tiny models use a large init for lively decoding.)"""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    tokenizer = build_tiny_tokenizer(folder)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         initializer_range=0.02, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         tie_word_embeddings=False)
    state = torch.random.get_rng_state()
    torch.manual_seed(0)
    try:
        AutoModelForCausalLM.from_config(config, dtype=torch.float32).save_pretrained(folder)
    finally:
        torch.random.set_rng_state(state)
    return folder


@pytest.mark.slow
def test_a_tiny_model_learns_defects_and_clones_beyond_chance(tmp_path):
    """The real pipeline, start to finish, on the fixture corpus (3 train, 1 val, 1 test repository).

    A random 2-layer model has no knowledge of code, so within seconds it can only learn the bug kinds
    whose trace is visible in the tokens (a negation added or dropped, a flipped boolean, and/or swapped
    for or); kinds that need semantics (variable misuse, swapped arguments, off-by-one) need a
    pretrained base, as in the real recipe.
    """
    base = _smooth_llama(tmp_path / "base")
    cfg = TrainConfig(model=str(base), corpus=[str(CORPUS)], split_by="subdir", manifest=str(CORPUS / "splits.json"),
                      out=str(tmp_path / "adapter"), tasks=["defect", "clone"], max_steps=150, batch_size=16,
                      lr=3e-3, head_lr=3e-3, lora_r=8, lora_alpha=16, lora_dropout=0.0, head_hidden=64, clone_dim=32,
                      bugs_per_function=4, clone_variants=3, max_code_tokens=128, device="cpu", dtype="float32",
                      threads=1, seed=0,
                      bug_kinds=["added-negation", "dropped-negation", "flipped-boolean", "wrong-boolean-operator"])
    result = train(cfg)
    val, test = result.metrics["val"], result.metrics["test"]
    assert val["defect"]["n"] >= 60 and val["clone"]["classes"] == 24
    assert val["defect"]["roc_auc"] > 0.65 and test["defect"]["roc_auc"] > 0.6
    assert val["clone"]["map_at_r"] > 0.5 > 10 * val["clone"]["map_at_r_random"]
    assert test["clone"]["map_at_r"] > 0.5
    assert val["clone"]["pair_f1"] > 0.6
