"""Fixtures shared by the training tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> tuple[Path, Path]:
    """Two fixture repositories (train, val) and the manifest that splits them: enough for every code path,
    quick to score."""
    root = tmp_path_factory.mktemp("corpus")
    for name in ("numtools", "ledger"):
        shutil.copytree(CORPUS / name, root / name)
    manifest = root.parent / "splits.json"
    manifest.write_text(json.dumps({"numtools": "train", "ledger": "val"}))
    return root, manifest
