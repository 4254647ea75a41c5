"""Shared fixtures: tiny local base models of each supported architecture, and adapters for them."""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# The package is not necessarily installed in the test environment, and tests import the shared
# helper as ``tests.tinymodels``: both need the repository root on sys.path, whatever pytest's cwd.
_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from tests.tinymodels import build_tiny_adapter, build_tiny_model  # noqa: E402

# The tests must not read the config file of whoever runs them: an unreadable path stands in for it,
# in this process and in the codelens processes the tests start.
os.environ["CODELENS_CONFIG"] = os.devnull
# Nor may they meet the background server of whoever runs them (a scan uses one that runs): the server's
# private folder goes under a runtime folder of the test run's own (tests/server start their own servers).
os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="codelens-run-")
atexit.register(shutil.rmtree, os.environ["XDG_RUNTIME_DIR"], True)
os.environ.pop("PRE_COMMIT", None)  # pytest run from a pre-commit hook: no scan starts a server by itself


def _stop_servers(folder: Path) -> None:
    """Stop the background servers the tests' hooks started (they would idle for half an hour)."""
    from codelens.server.client import stop_server
    from codelens.server.place import ServerPlace

    for socket_file in (folder / "codelens").glob("server-*.sock"):
        try:
            stop_server(ServerPlace(socket_file.parent, socket_file.name[len("server-"):-len(".sock")]))
        except Exception:  # noqa: BLE001 - a server that is already gone is what this wants
            pass


atexit.register(_stop_servers, Path(os.environ["XDG_RUNTIME_DIR"]))  # runs before the folder's removal

# Nor write the user's own codelens state (the ledger of files codelens wrote, the result cache's key): a
# folder of this test session stands in for it, shared with the codelens processes the tests start.
os.environ["CODELENS_CACHE_HOME"] = tempfile.mkdtemp(prefix="codelens-test-home-")
atexit.register(shutil.rmtree, os.environ["CODELENS_CACHE_HOME"], True)
# Ray, where a test runs it, stays on loopback (read when ray is first imported; it would otherwise swap
# 127.0.0.1 for the machine's network address) and without token authentication (see tests/raycluster.py).
os.environ.update(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")


@pytest.fixture(autouse=True)
def _own_runtime_folder(monkeypatch):
    """Each test gets a runtime folder of its own: a server that one test's hook started (pre-commit sets
    PRE_COMMIT=1, and a hook's scan starts the server) must not score the in-process scans of the tests
    after it, which then compare other numbers or never load the model they check."""
    folder = Path(tempfile.mkdtemp(prefix="clt-", dir="/tmp"))
    folder.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    yield folder
    _stop_servers(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    """A ~160k-parameter Llama (the DeepSeek-Coder architecture) in a local folder."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"), arch="llama")


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory) -> Path:
    """A ~120k-parameter Qwen2 (the Qwen2.5-Coder architecture) in a local folder."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwen2"), arch="qwen2")


@pytest.fixture(scope="session")
def tiny_starcoder2(tmp_path_factory) -> Path:
    """A ~110k-parameter Starcoder2 in a local folder."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-starcoder2"), arch="starcoder2")


@pytest.fixture(scope="session")
def make_adapter():
    """``make_adapter(base_dir, out_dir, seed=0) -> out_dir``: an untrained but valid adapter folder."""
    return build_tiny_adapter


@pytest.fixture(scope="session")
def tiny_llama_adapter(tiny_llama, tmp_path_factory) -> Path:
    """An adapter folder made for ``tiny_llama``."""
    return build_tiny_adapter(tiny_llama, tmp_path_factory.mktemp("tiny-llama-adapter"))


@pytest.fixture(scope="session")
def ray_address():
    """A 2-CPU Ray cluster on loopback (``tests.raycluster``), shared by the Ray tests and stopped after them."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("the ray extra is not installed: pip install -e '.[test,ray]'")
    from tests.raycluster import local_cluster

    with local_cluster(cpus=2) as address:
        yield address
