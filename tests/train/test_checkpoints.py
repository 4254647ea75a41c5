"""The atomic adapter write: the folder is replaced whole, and a failed replace keeps the previous one."""

from __future__ import annotations

import os

import pytest
import torch

from codelens.errors import CodelensError
from codelens.train import checkpoints
from codelens.train.checkpoints import save_adapter


class _Model:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def save_pretrained(self, folder: str) -> None:
        with open(os.path.join(folder, "adapter_config.json"), "w", encoding="utf-8") as handle:
            handle.write(self.marker)


class _Meta:
    method = "lora"  # save_adapter writes the module the way its method keeps it

    def save(self, folder) -> None:
        (folder / "codelens.json").write_text("{}", encoding="utf-8")


def _save(out, marker: str) -> None:
    save_adapter(out, _Model(marker), torch.nn.Linear(2, 1), _Meta())


def test_replaces_the_folder_whole(tmp_path):
    out = tmp_path / "adapter"
    _save(out, "first")
    _save(out, "second")
    assert sorted(p.name for p in out.iterdir()) == ["adapter_config.json", "codelens.json", "heads.safetensors"]
    assert (out / "adapter_config.json").read_text(encoding="utf-8") == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]  # no temporary folders left behind


def test_an_adapter_folder_holding_other_files_is_refused_and_kept(tmp_path):
    # Replacing the folder whole would delete the user's file: the write guard refuses instead (issue #23).
    out = tmp_path / "adapter"
    _save(out, "first")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(CodelensError, match="notes.txt"):
        _save(out, "second")
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "adapter_config.json").read_text(encoding="utf-8") == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]


def test_a_failed_replace_keeps_the_previous_adapter(tmp_path, monkeypatch):
    out = tmp_path / "adapter"
    _save(out, "first")
    real = os.replace

    def failing(src, dst):
        if os.fspath(dst) == os.fspath(out) and ".tmp-" in os.fspath(src):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(checkpoints.os, "replace", failing)
    with pytest.raises(OSError):
        _save(out, "second")
    assert (out / "adapter_config.json").read_text(encoding="utf-8") == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]
