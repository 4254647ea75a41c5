"""Tuning methods (`--method`): what each trains and saves, that a scan loads it and scores as evaluation
did, that a fully fine-tuned model stays tied to the base it started from, and that each resumes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from codelens.errors import CodelensError, ConfigError, ModelError
from codelens.model.adapter_meta import FULL_WEIGHTS_FILE, AdapterMetadata
from codelens.model.loading import load_base, load_model
from codelens.model.options import ModelSpec
from codelens.train.trainer import train
from codelens.train_config import TrainConfig
from tests.tinymodels import build_tiny_model

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


def _config(base: Path, corpus: tuple[Path, Path], out: Path, **kw) -> TrainConfig:
    settings = dict(model=str(base), corpus=[str(corpus[0])], split_by="subdir", manifest=str(corpus[1]), out=str(out),
                    max_steps=2, batch_size=4, lora_r=4, lora_alpha=8, head_hidden=16, clone_dim=8, device="cpu",
                    dtype="float32", bugs_per_function=1, clone_variants=1, max_code_tokens=96, max_eval_summaries=2,
                    threads=1, tasks=["defect", "clone"])
    settings.update(kw)
    return TrainConfig(**settings)


def _numel(path: Path) -> int:
    return sum(t.numel() for t in load_file(str(path)).values())


PEFT_FILES = ["adapter_config.json", "adapter_model.safetensors", "codelens.json", "heads.safetensors"]


@pytest.mark.parametrize("method, peft_type, marker", [("lora", "LORA", "lora_"), ("ia3", "IA3", "ia3_l"),
                                                       ("loha", "LOHA", "hada_")])
def test_a_peft_method_trains_only_its_module(method, peft_type, marker, tiny_llama, small_corpus, tmp_path):
    result = train(_config(tiny_llama, small_corpus, tmp_path / "a", method=method, lr=1e-2))
    out = tmp_path / "a"
    assert sorted(p.name for p in out.iterdir() if p.name != "README.md") == PEFT_FILES
    assert json.loads((out / "adapter_config.json").read_text())["peft_type"] == peft_type
    weights = load_file(str(out / "adapter_model.safetensors"))
    assert weights and all(marker in k for k in weights)
    assert result.trainable_params == _numel(out / "adapter_model.safetensors") + _numel(out / "heads.safetensors")
    lm, _ = load_base(str(tiny_llama), device="cpu", dtype="float32")
    assert result.total_params == sum(p.numel() for p in lm.parameters()) + result.trainable_params
    meta = AdapterMetadata.load(out)
    assert meta.method == method and meta.training["config"]["method"] == method
    if method == "ia3":
        # peft's IA3 modules for Llama: keys and values scaled at their output, the MLP at its input.
        modules = {k.split(".ia3_l")[0].rsplit(".", 1)[-1]: tuple(t.shape) for k, t in weights.items()}
        assert modules == {"k_proj": (32, 1), "v_proj": (32, 1), "down_proj": (1, 128)}
        assert not all(bool((t == 1).all()) for t in weights.values())  # trained away from the identity
    loaded = load_model(ModelSpec(adapter=str(out), device="cpu", dtype="float32"))
    assert loaded.merged and type(loaded.model).__name__ == "LlamaForCausalLM"  # folded in by peft


def test_full_fine_tuning_trains_and_stores_every_weight(tiny_llama, small_corpus, tmp_path):
    result = train(_config(tiny_llama, small_corpus, tmp_path / "full", method="full", lr=1e-3))
    out = tmp_path / "full"
    assert sorted(p.name for p in out.iterdir()) == ["codelens.json", FULL_WEIGHTS_FILE, "heads.safetensors"]
    lm, _ = load_base(str(tiny_llama), device="cpu", dtype="float32")
    base = dict(lm.named_parameters())
    trained = load_file(str(out / FULL_WEIGHTS_FILE))
    assert trained.keys() == base.keys()
    assert result.trainable_params == _numel(out / FULL_WEIGHTS_FILE) + _numel(out / "heads.safetensors")
    assert result.total_params == result.trainable_params and result.trainable_share == 1.0
    changed = [k for k in base if not (trained[k] == base[k].detach()).all()]
    assert "model.embed_tokens.weight" in changed and "model.layers.0.self_attn.q_proj.weight" in changed
    loaded = load_model(ModelSpec(adapter=str(out), device="cpu", dtype="float32"))
    assert loaded.merged and loaded.base_fingerprint == AdapterMetadata.load(out).base_fingerprint
    assert all((p == trained[k]).all() for k, p in loaded.model.named_parameters())


def test_a_fully_fine_tuned_model_stays_tied_to_its_base(tiny_llama, small_corpus, tmp_path):
    out = tmp_path / "full"
    train(_config(tiny_llama, small_corpus, out, method="full", max_steps=1))
    other = build_tiny_model(tmp_path / "other-base", seed=1)  # same shapes, other weights
    with pytest.raises(ModelError, match="was trained on base"):
        load_model(ModelSpec(model=str(other), adapter=str(out), device="cpu", dtype="float32"))
    with pytest.raises(ModelError, match="cannot go into a int8 base"):
        load_model(ModelSpec(adapter=str(out), device="cpu", quantize="int8"))
    weights = load_file(str(out / FULL_WEIGHTS_FILE))
    del weights["model.norm.weight"]
    save_file(weights, str(out / FULL_WEIGHTS_FILE))
    with pytest.raises(ModelError, match="missing model.norm.weight"):
        load_model(ModelSpec(adapter=str(out), device="cpu", dtype="float32"))
    (out / FULL_WEIGHTS_FILE).unlink()
    with pytest.raises(ModelError, match=f"{FULL_WEIGHTS_FILE} is missing"):
        load_model(ModelSpec(adapter=str(out), device="cpu", dtype="float32"))


@pytest.fixture(scope="module")
def ia3_trained(tiny_llama, tmp_path_factory):
    """An IA3 adapter trained on the fixture corpus with a test repository to scan."""
    root = tmp_path_factory.mktemp("ia3")
    for name in ("numtools", "ledger", "gridlib"):
        shutil.copytree(CORPUS / name, root / "corpus" / name)
    manifest = root / "splits.json"
    manifest.write_text(json.dumps({"numtools": "train", "ledger": "val", "gridlib": "test"}))
    cfg = _config(tiny_llama, (root / "corpus", manifest), root / "adapter", method="ia3", lr=3e-2, max_steps=3,
                  tasks=["defect", "clone", "summary"], max_eval_summaries=3)
    return train(cfg), root


@pytest.mark.slow
def test_an_ia3_adapter_scores_in_evaluation_and_in_a_scan_as_in_training(ia3_trained):
    """The trainer scored the IA3 layers unmerged; `codelens eval` and a scan load them folded into the base."""
    from codelens.config import ScanConfig
    from codelens.scan import run_scan
    from codelens.train.evaluate import evaluate, score_codes

    result, root = ia3_trained
    adapter = root / "adapter"
    report = evaluate(str(adapter), data=[str(root / "corpus")], split="test", device="cpu", dtype="float32",
                      max_summaries=3)
    assert set(report["metrics"]) == {"defect", "clone", "summary"}
    assert _close(report["metrics"], result.metrics["test"])
    scan = run_scan(root / "corpus" / "gridlib",
                    ScanConfig(adapter=str(adapter), device="cpu", dtype="float32", cache=False, summaries="none")).report
    units = list({u.hash: u for u in scan.units}.values())
    assert len(units) >= 5
    loaded = load_model(ModelSpec(adapter=str(adapter), device="cpu", dtype="float32"))
    scores = score_codes(loaded, [u.body for u in units], set())
    for unit in units:
        assert scores.logits[unit.body] == pytest.approx(scan.results[unit.hash].defect_logit, abs=1e-5)


def _close(a, b) -> bool:
    """Equal but for float rounding (folded layers add in another order than peft's unmerged ones)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == pytest.approx(b, abs=1e-5)
    return a == b


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ia3", "full"])
def test_resume_continues_each_method_identically(method, tiny_llama, small_corpus, tmp_path):
    straight = train(_config(tiny_llama, small_corpus, tmp_path / "straight", method=method, max_steps=4,
                             checkpoint_every=2))

    class Crash(Exception):
        pass

    def crash_at_step_3(event):
        if event.phase == "train" and event.step == 3:
            raise Crash

    with pytest.raises(Crash):
        train(_config(tiny_llama, small_corpus, tmp_path / "resumed", method=method, max_steps=4, checkpoint_every=2),
              crash_at_step_3)
    resumed = train(_config(tiny_llama, small_corpus, tmp_path / "resumed", method=method, max_steps=4,
                            checkpoint_every=2, resume=True))
    assert resumed.losses == straight.losses[2:]
    name = FULL_WEIGHTS_FILE if method == "full" else "adapter_model.safetensors"
    a, b = load_file(str(tmp_path / "straight" / name)), load_file(str(tmp_path / "resumed" / name))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    with pytest.raises(Crash):
        train(_config(tiny_llama, small_corpus, tmp_path / "again", method=method, max_steps=4, checkpoint_every=2),
              crash_at_step_3)
    other = "lora" if method == "full" else "full"
    with pytest.raises(CodelensError, match="other settings method"):
        train(_config(tiny_llama, small_corpus, tmp_path / "again", method=other, max_steps=4, checkpoint_every=2,
                      resume=True))


def test_method_settings_are_validated():
    with pytest.raises(ConfigError, match="method = 'prefix' is not allowed") as err:
        TrainConfig(model="m", corpus=["c"], method="prefix")
    assert err.value.hint == "use one of: lora, ia3, loha, full"
    with pytest.raises(ConfigError, match="full fine-tuning cannot train a quantised base"):
        TrainConfig(model="m", corpus=["c"], method="full", quantize="nf4")


def test_an_unknown_method_in_codelens_json_is_refused(tiny_llama_adapter, tmp_path):
    folder = tmp_path / "adapter"
    shutil.copytree(tiny_llama_adapter, folder)
    data = json.loads((folder / "codelens.json").read_text())
    data["method"] = "prefix"
    (folder / "codelens.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match="method = 'prefix' is not one codelens knows"):
        AdapterMetadata.load(folder)
