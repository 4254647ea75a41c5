"""Shared by the server tests: a short private folder (a Unix socket path holds 107 bytes), the tiny model,
functions to score, and what this process's own engine makes of them."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

from codelens.engine import EngineSettings, analyse
from codelens.model.loading import load_model
from codelens.model.options import ModelSpec
from codelens.server.daemon import ModelServer
from codelens.server.place import ServerPlace, server_place
from tests.tinymodels import make_unit, sample_bodies


@pytest.fixture
def folder():
    path = Path(tempfile.mkdtemp(prefix="cls-", dir="/tmp"))
    path.chmod(0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def place(folder) -> ServerPlace:
    return server_place(folder=folder)


@pytest.fixture(scope="session")
def spec(tiny_llama, tiny_llama_adapter) -> ModelSpec:
    return ModelSpec(model=str(tiny_llama), adapter=str(tiny_llama_adapter), device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def units():
    # Distinct functions, every other one without a docstring (a summary is generated for those).
    return [make_unit(f"{body}\n# variant {i}\n", docstring=None if i % 2 else "Documented.", qualname=f"f{i}")
            for i in range(2) for body in sample_bodies()]


def settings(**changes) -> EngineSettings:
    """One thread: CPU kernels on more threads may round a last digit differently from run to run."""
    return EngineSettings(threads=1, **changes)


@pytest.fixture(scope="session")
def local(spec, units):
    """What a scan without the server computes."""
    results, _ = analyse(units, load_model(spec), settings(max_batch=4))
    return results


def assert_identical(results: dict, local: dict) -> None:
    """Every number bit for bit, every summary and bug site equal."""
    assert results.keys() == local.keys()
    for key, want in local.items():
        got = results[key]
        assert (got.defect_logit, got.defect_probability, got.summary, got.summary_confidence, got.bug) == (
            want.defect_logit, want.defect_probability, want.summary, want.summary_confidence, want.bug)
        assert got.embedding.dtype == np.float32 and got.embedding.tobytes() == want.embedding.tobytes()


@contextlib.contextmanager
def running(place: ServerPlace, idle_minutes: float = 5.0, owner: int | None = None):
    """A ModelServer serving ``place`` from a thread of this process."""
    server = ModelServer(place, idle_minutes, owner=owner)
    assert server.bind()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        thread.join(10)
