"""Folding plain LoRA into the base at load time: same outputs as peft's layers, no peft import."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from codelens.errors import ModelError
from codelens.model.loading import load_model
from codelens.model.lora_merge import merge_plan
from codelens.model.options import ModelSpec


@pytest.fixture(scope="module")
def adapter(tiny_llama, make_adapter, tmp_path_factory) -> Path:
    return make_adapter(tiny_llama, tmp_path_factory.mktemp("merge-adapter"))


def _copy(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "adapter"
    shutil.copytree(folder, target)
    return target


def _edit_config(folder: Path, **changes) -> None:
    path = folder / "adapter_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.update(changes)
    path.write_text(json.dumps(config), encoding="utf-8")


def _logits(loaded, text="def add(a, b):\n    return a + b") -> torch.Tensor:
    ids = torch.tensor([loaded.tokenizer.encode(text)])
    with torch.inference_mode():
        return loaded.model(input_ids=ids).logits


def _load(base, adapter, **kwargs):
    return load_model(ModelSpec(model=str(base), adapter=str(adapter), device="cpu", dtype="float32", **kwargs))


def test_plain_lora_has_a_plan(adapter):
    plan, reason = merge_plan(adapter)
    assert reason == "" and plan is not None
    config = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    assert plan.scale == config["lora_alpha"] / config["r"]
    # Every linear projection of the tiny Llama's two layers (q k v o gate up down).
    assert len(plan.modules) == 2 * 7 and "model.layers.0.self_attn.q_proj" in plan.modules


def test_merged_weights_give_peft_outputs(tiny_llama, adapter):
    merged, unmerged = _load(tiny_llama, adapter), _load(tiny_llama, adapter, merge=False)
    assert merged.merged and not unmerged.merged
    assert not hasattr(merged.model, "disable_adapter")  # a plain transformers model
    torch.testing.assert_close(_logits(merged), _logits(unmerged), atol=1e-4, rtol=1e-4)
    with unmerged.model.disable_adapter():
        base = _logits(unmerged)
    assert (_logits(merged) - base).abs().max() > 1e-3  # the LoRA did change the weights


def test_rslora_scale(adapter, tmp_path):
    folder = _copy(adapter, tmp_path)
    _edit_config(folder, use_rslora=True)
    plan, _ = merge_plan(folder)
    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    assert plan.scale == pytest.approx(config["lora_alpha"] / config["r"] ** 0.5)


@pytest.mark.parametrize("changes, reason", [
    ({"use_dora": True}, "use_dora = True"),
    ({"bias": "lora_only"}, "bias = 'lora_only'"),
    ({"modules_to_save": ["lm_head"]}, "modules_to_save = ['lm_head']"),
    ({"rank_pattern": {"q_proj": 4}}, "rank_pattern = {'q_proj': 4}"),
    ({"peft_type": "IA3"}, "peft_type = 'IA3'"),
])
def test_other_adapters_go_through_peft(adapter, tmp_path, changes, reason):
    folder = _copy(adapter, tmp_path)
    _edit_config(folder, **changes)
    assert merge_plan(folder) == (None, reason)


def test_peft_merge_is_the_fallback(tiny_llama, adapter, tmp_path):
    # A rank pattern equal to r computes the same thing but is not "plain": peft merges it.
    folder = _copy(adapter, tmp_path)
    rank = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))["r"]
    _edit_config(folder, rank_pattern={"q_proj": rank})
    via_peft = _load(tiny_llama, folder)
    assert via_peft.merged and not hasattr(via_peft.model, "disable_adapter")
    torch.testing.assert_close(_logits(via_peft), _logits(_load(tiny_llama, adapter)), atol=1e-4, rtol=1e-4)


def test_shape_mismatch_is_a_model_error(tiny_llama, adapter, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _copy(adapter, tmp_path)
    weights = load_file(str(folder / "adapter_model.safetensors"))
    key = next(k for k in weights if k.endswith("q_proj.lora_A.weight"))
    weights[key] = torch.zeros(weights[key].shape[0], weights[key].shape[1] + 1)
    save_file(weights, str(folder / "adapter_model.safetensors"))
    with pytest.raises(ModelError, match=r"cannot load the LoRA weights .*q_proj has shapes") as err:
        _load(tiny_llama, folder)
    assert err.value.hint == "re-create the adapter with `codelens train`"


def test_unknown_module_is_a_model_error(tiny_llama, adapter, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _copy(adapter, tmp_path)
    weights = {k.replace("self_attn.q_proj", "self_attn.qq_proj"): v
               for k, v in load_file(str(folder / "adapter_model.safetensors")).items()}
    save_file(weights, str(folder / "adapter_model.safetensors"))
    with pytest.raises(ModelError, match="qq_proj is not a plain linear layer of this base"):
        _load(tiny_llama, folder)


def test_quantised_bases_keep_the_adapter_unmerged(tiny_llama, adapter):
    pytest.importorskip("bitsandbytes")
    loaded = load_model(ModelSpec(model=str(tiny_llama), adapter=str(adapter), device="cpu", quantize="int8",
                                  dtype="bfloat16"))
    assert not loaded.merged and hasattr(loaded.model, "disable_adapter")


@pytest.mark.slow
def test_plain_lora_never_imports_peft(tiny_llama, adapter):
    script = (
        "import sys\n"
        "from codelens.model.loading import ModelSpec, load_model\n"
        f"loaded = load_model(ModelSpec(model={str(tiny_llama)!r}, adapter={str(adapter)!r}, device='cpu'))\n"
        "assert loaded.merged\n"
        "print('peft' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
