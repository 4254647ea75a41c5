"""A trained adapter made a shipped model's: its base named by the short name, nothing of the build machine."""

from __future__ import annotations

import json

import pytest

from codelens.model.adapter_meta import AdapterMetadata
from training.shipping import ship_adapter


def test_a_shipped_adapter_names_its_base_by_the_short_name(tiny_llama, make_adapter, tmp_path):
    trained = make_adapter(tiny_llama, tmp_path / "trained")
    meta = AdapterMetadata.load(trained)
    meta.training["config"] = {"model": str(tiny_llama), "max_steps": 800}
    meta.save(trained)
    (trained / "README.md").write_text(f"base_model: {tiny_llama}\n")  # what peft writes for a hub
    dest = ship_adapter(trained, tmp_path / "models" / "codelens-nano" / "adapter", "codelens-nano")
    shipped = AdapterMetadata.load(dest)
    assert shipped.base_model == "codelens-nano" and shipped.training["config"]["model"] == "codelens-nano"
    assert shipped.training["config"]["max_steps"] == 800 and shipped.metrics == meta.metrics
    assert meta.languages == [] and shipped.languages == ["python"]  # read off its config: no CodeXGLUE data
    assert json.loads((dest / "adapter_config.json").read_text())["base_model_name_or_path"] == "codelens-nano"
    assert not (dest / "README.md").exists()
    assert str(tiny_llama) not in "".join(p.read_text(errors="replace") for p in dest.iterdir())
    for name in ("adapter_model.safetensors", "heads.safetensors"):
        assert (dest / name).read_bytes() == (trained / name).read_bytes()
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in dest.iterdir())


def test_shipping_in_place_and_over_an_old_adapter(tiny_llama, make_adapter, tmp_path):
    old = make_adapter(tiny_llama, tmp_path / "adapter", seed=1)
    (old / "stale.bin").write_bytes(b"old")
    new = make_adapter(tiny_llama, tmp_path / "new", seed=2)
    ship_adapter(new, old, "codelens-small")
    assert not (old / "stale.bin").exists()
    assert (old / "heads.safetensors").read_bytes() == (new / "heads.safetensors").read_bytes()
    ship_adapter(old, old, "codelens-small")  # the unpacked GPU build is shipped where it lies
    assert AdapterMetadata.load(old).base_model == "codelens-small"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter", "new"]


def test_only_a_shipped_model_name_is_taken(tiny_llama, make_adapter, tmp_path):
    trained = make_adapter(tiny_llama, tmp_path / "trained")
    with pytest.raises(ValueError, match="not a shipped model"):
        ship_adapter(trained, tmp_path / "out", "deepseek-coder")
