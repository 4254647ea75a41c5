"""The distribution: every package is listed, and the wheel carries the default model."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "codelens").rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    # The model recipes are run from a checkout; a top-level `training` package in the wheel would collide
    # with other projects' modules of that name.
    assert not any(name == "training" or name.startswith("training.") for name in listed)


@pytest.mark.skipif(not (ROOT / "models" / "codelens-nano" / "adapter").is_dir(), reason="default model not built")
@pytest.mark.slow
def test_wheel_contains_the_default_model(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("codelens-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for part in ("base/config.json", "base/model.safetensors", "base/tokenizer.json",
                 "adapter/codelens.json", "adapter/heads.safetensors", "adapter/adapter_model.safetensors"):
        assert f"codelens/_models/codelens-nano/{part}" in names
    assert "codelens/rules/CL100.md" in names
    assert {"codelens/report/assets/report.css", "codelens/report/assets/report.js"} <= names  # --format html
    assert "codelens/train/trainer.py" in names
    assert not any(name.startswith(("training/", "benchmarks/", "tests/")) for name in names)
