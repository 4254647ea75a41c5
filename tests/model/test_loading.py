"""Loading bases and adapters: every supported architecture, and every way an adapter can be wrong."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest
import torch

import codelens
from codelens.errors import ModelError
from codelens.model import options
from codelens.model.adapter_meta import AdapterMetadata
from codelens.model.heads import TaskHeads
from codelens.model.loading import (adapter_hash, base_fingerprint, default_model_dir, load_base, load_model,
                                    load_tokenizer, model_source)
from codelens.model.options import ModelSpec


@pytest.fixture(scope="module")
def llama_adapter(tiny_llama, make_adapter, tmp_path_factory) -> Path:
    return make_adapter(tiny_llama, tmp_path_factory.mktemp("llama-adapter"))


def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / folder.name))


@pytest.mark.parametrize(
    "kwargs",
    [dict(device="gpu"), dict(device="cuda:x"), dict(quantize="int4"), dict(dtype="fp8"), dict(dtype="half")],
)
def test_spec_rejects_unknown_choices(kwargs):
    with pytest.raises(ModelError):
        ModelSpec(**kwargs)


def test_spec_accepts_documented_choices():
    ModelSpec(device="cuda:1", quantize="nf4", dtype="bfloat16")
    ModelSpec(device="cpu", quantize="int8", dtype="float16")


@pytest.mark.parametrize("arch", ["llama", "qwen2", "starcoder2"])
def test_loads_each_architecture(arch, request, make_adapter, tmp_path):
    base = request.getfixturevalue(f"tiny_{arch}")
    adapter = make_adapter(base, tmp_path / "adapter")
    loaded = load_model(ModelSpec(model=str(base), adapter=str(adapter), device="cpu", dtype="float32", merge=False))

    from peft import PeftModel

    assert isinstance(loaded.model, PeftModel) and not loaded.merged
    assert not loaded.model.training and not loaded.heads.training
    assert loaded.model.config.model_type == arch
    assert isinstance(loaded.heads, TaskHeads)
    assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in loaded.heads.parameters())
    assert loaded.device == torch.device("cpu") and loaded.dtype == torch.float32
    assert loaded.base_fingerprint == AdapterMetadata.load(adapter).base_fingerprint == loaded.meta.base_fingerprint
    assert loaded.adapter_hash == adapter_hash(adapter) and len(loaded.adapter_hash) == 64
    assert loaded.model_id == str(base)
    assert loaded.tokenizer.pad_token == "<|pad|>"

    # The LoRA weights are loaded and active: switching the adapter off changes the output.
    ids = torch.tensor([loaded.tokenizer.encode("def add(a, b):\n    return a + b")])
    with torch.inference_mode():
        with_lora = loaded.model(input_ids=ids).logits
        with loaded.model.disable_adapter():
            without = loaded.model(input_ids=ids).logits
    assert (with_lora - without).abs().max() > 1e-3


def test_adapter_alone_loads_its_recorded_base(tiny_llama, llama_adapter):
    loaded = load_model(ModelSpec(adapter=str(llama_adapter), device="cpu", dtype="float32"))
    assert loaded.model_id == str(tiny_llama)


def test_adapter_hash_changes_with_any_file(llama_adapter, tmp_path):
    copy = _copy(llama_adapter, tmp_path)
    assert adapter_hash(copy) == adapter_hash(llama_adapter)
    (copy / "README.md").write_text("changed", encoding="utf-8")
    assert adapter_hash(copy) != adapter_hash(llama_adapter)


def test_wrong_base_is_refused(tiny_llama, tiny_qwen2, llama_adapter):
    with pytest.raises(ModelError) as err:
        load_model(ModelSpec(model=str(tiny_qwen2), adapter=str(llama_adapter), device="cpu"))
    meta = AdapterMetadata.load(llama_adapter)
    assert f"was trained on base {tiny_llama} (fingerprint {meta.base_fingerprint})" in err.value.message
    assert f"the model given is {tiny_qwen2}" in err.value.message
    assert err.value.hint == f"pass --model {tiny_llama}"


def test_same_architecture_other_weights_is_refused(tiny_llama, llama_adapter, tmp_path):
    from tests.tinymodels import build_tiny_model

    other = build_tiny_model(tmp_path / "other", arch="llama", seed=1)
    with pytest.raises(ModelError, match="was trained on base"):
        load_model(ModelSpec(model=str(other), adapter=str(llama_adapter), device="cpu"))


def test_missing_adapter_folder(tiny_llama, tmp_path):
    with pytest.raises(ModelError, match="adapter folder .* does not exist"):
        load_model(ModelSpec(model=str(tiny_llama), adapter=str(tmp_path / "nope")))


def test_adapter_without_metadata(tiny_llama, llama_adapter, tmp_path):
    adapter = _copy(llama_adapter, tmp_path)
    (adapter / "codelens.json").unlink()
    with pytest.raises(ModelError, match="codelens.json is missing"):
        load_model(ModelSpec(model=str(tiny_llama), adapter=str(adapter), device="cpu"))


def test_corrupt_metadata(tiny_llama, llama_adapter, tmp_path):
    adapter = _copy(llama_adapter, tmp_path)
    (adapter / "codelens.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="is corrupt"):
        load_model(ModelSpec(model=str(tiny_llama), adapter=str(adapter), device="cpu"))


def test_missing_heads(tiny_llama, llama_adapter, tmp_path):
    adapter = _copy(llama_adapter, tmp_path)
    (adapter / "heads.safetensors").unlink()
    with pytest.raises(ModelError, match="heads.safetensors is missing"):
        load_model(ModelSpec(model=str(tiny_llama), adapter=str(adapter), device="cpu"))


def test_corrupt_heads(tiny_llama, llama_adapter, tmp_path):
    adapter = _copy(llama_adapter, tmp_path)
    (adapter / "heads.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ModelError, match="heads.safetensors is corrupt"):
        load_model(ModelSpec(model=str(tiny_llama), adapter=str(adapter), device="cpu"))


def test_heads_that_do_not_match_metadata(tiny_llama, llama_adapter, tmp_path):
    adapter = _copy(llama_adapter, tmp_path)
    data = json.loads((adapter / "codelens.json").read_text(encoding="utf-8"))
    data["clone_dim"] = 8
    (adapter / "codelens.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError, match="does not match codelens.json"):
        load_model(ModelSpec(model=str(tiny_llama), adapter=str(adapter), device="cpu"))


def test_heads_width_must_fit_the_base(tiny_llama, llama_adapter, tmp_path):
    adapter = _copy(llama_adapter, tmp_path)
    data = json.loads((adapter / "codelens.json").read_text(encoding="utf-8"))
    data["pooled_dim"] = 64
    (adapter / "codelens.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError, match="the heads read 64 features, but this base gives 128"):
        load_model(ModelSpec(model=str(tiny_llama), adapter=str(adapter), device="cpu"))


def test_model_path_that_is_a_file(tmp_path):
    (tmp_path / "weights.safetensors").write_bytes(b"")
    with pytest.raises(ModelError, match="is a file, not a model folder"):
        load_base(str(tmp_path / "weights.safetensors"), device="cpu")


def test_missing_lora_weights(tiny_llama, llama_adapter, tmp_path):
    adapter = _copy(llama_adapter, tmp_path)
    (adapter / "adapter_model.safetensors").unlink()
    with pytest.raises(ModelError, match="adapter_model.safetensors is missing"):
        load_model(ModelSpec(model=str(tiny_llama), adapter=str(adapter), device="cpu"))


def test_offline_unknown_hub_id_fails_fast(llama_adapter, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(ModelError) as err:
        load_model(ModelSpec(model="nobody-here/no-such-model", adapter=str(llama_adapter), device="cpu"))
    assert time.monotonic() - started < 5
    assert err.value.message.startswith(
        "model 'nobody-here/no-such-model' is not a local folder and is not in the Hugging Face cache"
    )
    assert "huggingface-cli download nobody-here/no-such-model" in err.value.hint
    assert "--model" in err.value.hint


def test_missing_local_folder():
    with pytest.raises(ModelError, match="model folder ./no/such/folder does not exist"):
        load_base("./no/such/folder", device="cpu")


def test_folder_without_model(tmp_path):
    from tests.tinymodels import build_tiny_tokenizer

    build_tiny_tokenizer(tmp_path)
    with pytest.raises(ModelError, match=f"cannot load the model in {tmp_path}"):
        load_base(str(tmp_path), device="cpu")


def test_pickle_weights_are_refused(tiny_llama, tmp_path):
    from transformers import AutoModelForCausalLM

    folder = _copy(tiny_llama, tmp_path)
    model = AutoModelForCausalLM.from_pretrained(folder)
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(ModelError) as err:
        load_base(str(folder), device="cpu")
    assert "pickle (.bin) weights are refused" in err.value.hint


def test_the_source_of_a_model_is_its_folder_or_its_hub_id(tiny_llama, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    folder = model_source(str(tiny_llama), trust_remote_code=True)
    assert (folder.path, folder.folder) == (str(tiny_llama), tiny_llama)
    assert folder.options == {"trust_remote_code": True, "local_files_only": False}
    hub = model_source("owner/name")
    assert (hub.path, hub.folder, hub.options) == ("owner/name", None, {"trust_remote_code": False,
                                                                        "local_files_only": False})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert model_source("owner/name").options["local_files_only"] is True
    assert model_source(str(tiny_llama)).options["local_files_only"] is False  # a folder is read as it is


def test_the_tokenizer_alone_comes_from_where_the_base_does(tiny_llama):
    _, with_base = load_base(str(tiny_llama), device="cpu")
    alone = load_tokenizer(str(tiny_llama))
    assert alone.get_vocab() == with_base.get_vocab() and alone.pad_token_id == with_base.pad_token_id
    assert alone.model_max_length == with_base.model_max_length
    with pytest.raises(ModelError, match="model folder ./no/such/folder does not exist"):
        load_tokenizer("./no/such/folder")


def test_tokenizer_without_pad_uses_eos(tiny_llama, tmp_path):
    folder = _copy(tiny_llama, tmp_path)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.pop("pad_token", None)
    config_path.write_text(json.dumps(config), encoding="utf-8")
    _, tokenizer = load_base(str(folder), device="cpu")
    assert tokenizer.pad_token == "<|eos|>" and tokenizer.pad_token_id == tokenizer.eos_token_id


def test_base_without_adapter_is_refused(tiny_llama):
    with pytest.raises(ModelError, match="no adapter given for the base model"):
        load_model(ModelSpec(model=str(tiny_llama)))


def test_missing_default_model_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(codelens, "__file__", str(tmp_path / "pkg" / "codelens" / "__init__.py"))
    with pytest.raises(ModelError) as err:
        load_model(ModelSpec())
    assert "no default model is installed" in err.value.message and "codelens-nano" in err.value.message
    assert "--model and --adapter" in err.value.hint


def test_default_model_found_next_to_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(codelens, "__file__", str(tmp_path / "codelens" / "__init__.py"))
    for sub in ("base", "adapter"):
        (tmp_path / "models" / "codelens-nano" / sub).mkdir(parents=True)
    assert default_model_dir() == tmp_path / "models" / "codelens-nano"
    # An installed wheel carries it inside the package instead.
    shutil.move(tmp_path / "models", tmp_path / "codelens" / "_models")
    assert default_model_dir() == tmp_path / "codelens" / "_models" / "codelens-nano"


def test_default_model_loads_with_no_flags(tiny_llama, make_adapter, tmp_path, monkeypatch):
    nano = tmp_path / "models" / "codelens-nano"
    shutil.copytree(tiny_llama, nano / "base")
    make_adapter(nano / "base", nano / "adapter")
    monkeypatch.setattr(codelens, "__file__", str(tmp_path / "codelens" / "__init__.py"))
    loaded = load_model(ModelSpec(device="cpu"))
    assert loaded.model_id == str(nano / "base")


def test_auto_dtype_follows_the_hardware(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(options, "_cpu_has_bf16", lambda: True)
    assert options.resolve_dtype("auto", cpu) == torch.bfloat16
    monkeypatch.setattr(options, "_cpu_has_bf16", lambda: False)
    assert options.resolve_dtype("auto", cpu) == torch.float32
    assert options.resolve_dtype("float16", cpu) == torch.float16


def test_devices():
    assert options.resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert options.resolve_device("auto") == torch.device("cpu")
        with pytest.raises(ModelError, match="no CUDA GPU is available"):
            options.resolve_device("cuda:0")


@pytest.mark.parametrize("quantize", ["int8", "nf4"])
def test_quantised_load_runs_analyse(quantize, tiny_llama, llama_adapter):
    import bitsandbytes as bnb

    from codelens.engine import EngineSettings, analyse
    from tests.tinymodels import make_unit, sample_bodies

    loaded = load_model(ModelSpec(model=str(tiny_llama), adapter=str(llama_adapter), device="cpu",
                                  quantize=quantize, dtype="bfloat16"))
    layer = loaded.model.get_base_model().model.layers[0].self_attn.q_proj.base_layer
    assert isinstance(layer, bnb.nn.Linear8bitLt if quantize == "int8" else bnb.nn.Linear4bit)
    # The fingerprint reads the unquantised embeddings: the same as the fp32 base's.
    assert loaded.base_fingerprint == loaded.meta.base_fingerprint

    units = [make_unit(body) for body in sample_bodies()[:2]]
    results, stats = analyse(units, loaded, EngineSettings(summaries="all", threads=1), cache=None)
    assert stats.computed == 2 and stats.summaries_generated == 2
    for result in results.values():
        assert 0.0 < result.defect_probability < 1.0
        assert abs(float((result.embedding ** 2).sum()) - 1.0) < 1e-3
        assert isinstance(result.summary, str)


def test_missing_bitsandbytes_is_a_model_error(tiny_llama, monkeypatch):
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # makes `import bitsandbytes` fail
    with pytest.raises(ModelError) as err:
        load_base(str(tiny_llama), device="cpu", quantize="nf4")
    assert "needs the bitsandbytes package" in err.value.message
    assert "pip install 'codelens[quantize]'" in err.value.hint


def test_fingerprint_is_stable_across_loads(tiny_llama):
    model, tokenizer = load_base(str(tiny_llama), device="cpu", dtype="float32")
    bf16, tokenizer2 = load_base(str(tiny_llama), device="cpu", dtype="bfloat16")
    assert base_fingerprint(model, tokenizer) == base_fingerprint(bf16, tokenizer2)


def test_lazy_model_answers_identity_without_loading_weights(tiny_llama, tiny_llama_adapter):
    from codelens.model.loading import LazyModel, load_model
    from codelens.model.options import ModelSpec

    lazy = LazyModel(ModelSpec(model=str(tiny_llama), adapter=str(tiny_llama_adapter), device="cpu"))
    assert not lazy.is_loaded
    eager = load_model(ModelSpec(model=str(tiny_llama), adapter=str(tiny_llama_adapter), device="cpu"))
    assert (lazy.base_fingerprint, lazy.adapter_hash, lazy.dtype_name, lazy.device_name) == (
        eager.base_fingerprint, eager.adapter_hash, eager.dtype_name, eager.device_name)
    assert not lazy.is_loaded
    assert lazy.tokenizer.get_vocab() == eager.tokenizer.get_vocab()
    assert lazy.is_loaded


def test_lazy_model_reads_the_adapter_folder_once(tiny_llama, tiny_llama_adapter, monkeypatch):
    from codelens.model import loading

    calls = []
    real = loading.adapter_hash
    monkeypatch.setattr(loading, "adapter_hash", lambda folder: calls.append(folder) or real(folder))
    lazy = loading.LazyModel(loading.ModelSpec(model=str(tiny_llama), adapter=str(tiny_llama_adapter), device="cpu"))
    loaded = lazy.load()
    assert len(calls) == 1 and loaded.adapter_hash == lazy.adapter_hash == real(tiny_llama_adapter)
    assert lazy.load() is loaded
