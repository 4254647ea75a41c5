"""Model and adapter files: safetensors only, broken files are clear errors, the cache never hides a bad model.

Hardening issue #13, items 10 and 11; each test failed before the fix.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from codelens.cli.main import main

CALC = "def scale(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor)\n    return out\n"


class _Payload:
    """Unpickling this writes a marker file: what a malicious adapter_model.bin would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pickle ran')",))


@pytest.fixture()
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "calc.py").write_text(CALC)
    return root


def scan(capsys, repo: Path, tiny_llama: Path, adapter: Path, *extra: str) -> tuple[int, str]:
    code = main(["scan", str(repo), "--model", str(tiny_llama), "--adapter", str(adapter), "--summaries", "none",
                 *extra])
    return code, capsys.readouterr().err


def test_missing_safetensors_never_falls_back_to_a_pickle(capsys, repo, tmp_path, tiny_llama, tiny_llama_adapter):
    adapter = shutil.copytree(tiny_llama_adapter, tmp_path / "adapter")
    (adapter / "adapter_model.safetensors").unlink()
    marker = tmp_path / "PWNED"
    (adapter / "adapter_model.bin").write_bytes(pickle.dumps(_Payload(marker)))
    code, err = scan(capsys, repo, tiny_llama, adapter, "--no-cache")
    assert code == 2 and "adapter_model.safetensors is missing" in err and "never .bin" in err
    assert not marker.exists() and "Traceback" not in err and "weights_only" not in err


def test_a_corrupt_safetensors_file_is_a_clear_error(capsys, repo, tmp_path, tiny_llama, tiny_llama_adapter):
    adapter = shutil.copytree(tiny_llama_adapter, tmp_path / "adapter")
    (adapter / "adapter_model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}")
    code, err = scan(capsys, repo, tiny_llama, adapter, "--no-cache")
    assert code == 2 and "adapter_model.safetensors is corrupt" in err and "Traceback" not in err


def test_a_bad_prompt_template_is_a_clear_error(capsys, repo, tmp_path, tiny_llama, tiny_llama_adapter):
    adapter = shutil.copytree(tiny_llama_adapter, tmp_path / "adapter")
    meta = json.loads((adapter / "codelens.json").read_text())
    meta["prompt"]["template"] = "no code field here"
    (adapter / "codelens.json").write_text(json.dumps(meta))
    code, err = scan(capsys, repo, tiny_llama, adapter, "--no-cache")
    assert code == 2 and "template" in err and "{code}" in err and "Traceback" not in err


def test_a_warm_cache_does_not_hide_a_wrong_model(capsys, repo, tiny_llama, tiny_llama_adapter, monkeypatch):
    """Item 11: `--model no-such-org/no-such-model` with a cached adapter printed the old findings (exit 1)."""
    code, _ = scan(capsys, repo, tiny_llama, tiny_llama_adapter, "--defect-threshold", "0")
    assert code == 1  # every function is a finding at threshold 0, and now they are cached
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(["scan", str(repo), "--model", "no-such-org/no-such-model", "--adapter", str(tiny_llama_adapter),
                 "--summaries", "none", "--defect-threshold", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "no-such-model" in err and "--model" in err
