"""Make a trained adapter a shipped model's: it names its base by the shipped short name instead of the
folder it was trained from, and carries no file the trainer's libraries wrote for a hub.

A trained adapter records where its base was (``/work/main/models/codelens-nano/base``, or a GPU
machine's ``/tmp/small/...``): a path of the build machine, wrong on every other one. A shipped model's
short name (``codelens-nano``) resolves to the base folder next to the adapter wherever codelens is
installed (``codelens.model.loading.resolve_base``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

HUB_FILES = ("README.md",)
"""What peft's save_pretrained writes for a model hub (a card template naming the build machine's paths)."""


def ship_adapter(source: Path, dest: Path, name: str) -> Path:
    """Copy the adapter folder ``source`` to ``dest`` (replacing it) as the adapter of the shipped model
    ``name``, and return ``dest``. The weights are copied byte for byte."""
    from codelens.model.adapter_meta import AdapterMetadata
    from codelens.model.loading import SHIPPED_MODELS

    if name not in SHIPPED_MODELS:
        raise ValueError(f"{name!r} is not a shipped model ({', '.join(SHIPPED_MODELS)})")
    meta = AdapterMetadata.load(source)  # refuses a folder that is not an adapter of this codelens
    staging = dest.with_name(f".{dest.name}.shipping")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging, ignore=shutil.ignore_patterns(*HUB_FILES))
    meta.base_model = name
    if not meta.languages:  # trained before adapters recorded their languages: read them off its config
        from codelens.train.trainer import trained_languages

        meta.languages = trained_languages(meta.training.get("config", {}).get("codexglue") or [])
    if isinstance(meta.training.get("config"), dict):
        meta.training["config"]["model"] = name
    meta.save(staging)
    peft_config = staging / "adapter_config.json"
    if peft_config.is_file():
        config = json.loads(peft_config.read_text(encoding="utf-8"))
        config["base_model_name_or_path"] = name
        peft_config.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    staging.chmod(0o755)  # the trainer writes weights private to its user; shipped files are readable
    for path in staging.iterdir():
        path.chmod(0o644)
    if dest.exists():
        shutil.rmtree(dest)
    staging.rename(dest)
    return dest


def ship_base(build_model: Path, dest: Path) -> Path:
    """Install a build's base model (``build_model``/base, as build_small's pretrain stage packs it) and its
    corpus manifest as ``dest``/base and ``dest``/manifest.json, replacing what was there; returns the base
    folder. The weights are copied byte for byte: the adapter trained on them keeps its fingerprint."""
    source = Path(build_model) / "base"
    if not source.is_dir():
        raise ValueError(f"{source} is not a base model folder")
    staging = Path(dest) / ".base.shipping"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    staging.chmod(0o755)
    for path in staging.iterdir():
        path.chmod(0o644)
    target = Path(dest) / "base"
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    manifest = Path(build_model) / "manifest.json"
    if manifest.is_file():
        shutil.copyfile(manifest, Path(dest) / "manifest.json")
    return target
