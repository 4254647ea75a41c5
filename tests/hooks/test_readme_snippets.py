"""The README's pre-commit configurations, run as written by a user: in a new git repository, with codelens
installed from a fresh clone of this repository (what is committed, not this working tree).

- ``repo: local``: pre-commit runs the codelens on ``PATH`` (here a new virtual environment holding the
  clone's codelens; its dependencies come from this environment through ``PYTHONPATH``, as in
  tests/hooks/test_precommit.py, so nothing is downloaded).
- the clone at a commit: pre-commit builds an environment of its own with ``pip install .`` and the
  manifest's ``additional_dependencies`` (the CPU wheel index); offline here, with ``PIP_NO_INDEX``.

And the mechanism that keeps CUDA out of that environment, checked with pip's own resolver against two
local wheel folders standing in for PyPI and PyTorch's CPU index.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from codelens.server.client import server_status, stop_server
from codelens.server.place import ServerPlace
from tests.hooks.gitrepo import git, git_env, init_repo, write

REPO_ROOT = Path(__file__).resolve().parents[2]
BUGGY = "def scale(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor)\n    return out\n"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def readme_snippet(marker: str) -> str:
    """The YAML block that follows ``<!-- marker: ... -->`` in the README, dedented."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker}:[^>]*-->\s*\n( *)```yaml\n(.*?)\n\1```", text, re.S)
    assert match, f"no YAML block after <!-- {marker}: --> in README.md"
    return textwrap.dedent(match.group(2)) + "\n"


def manifest_hook() -> dict:
    (hook,) = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    return hook


def test_the_local_hook_runs_what_the_manifest_runs():
    (repo,) = yaml.safe_load(readme_snippet("pre-commit-local"))["repos"]
    (local,) = repo["hooks"]
    hook = manifest_hook()
    assert repo["repo"] == "local" and local["language"] == "system"
    for key in ("id", "name", "entry", "args", "require_serial", "types_or"):
        assert local[key] == hook[key], key
    assert hook["additional_dependencies"] == [f"--extra-index-url={CPU_INDEX}"]


def _wheel(folder: Path, version: str, requires: tuple[str, ...] = ()) -> None:
    """A minimal wheel of a package named torch (pip reads only its name, version and requirements)."""
    name = f"torch-{version}"
    folder.mkdir(parents=True, exist_ok=True)
    metadata = "Metadata-Version: 2.1\nName: torch\nVersion: " + version + "\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(folder / f"{name}-py3-none-any.whl", "w") as wheel:
        wheel.writestr("torch/__init__.py", "")
        wheel.writestr(f"torch-{version.split('+')[0]}.dist-info/METADATA", metadata)
        wheel.writestr(f"torch-{version.split('+')[0]}.dist-info/WHEEL",
                       "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"torch-{version.split('+')[0]}.dist-info/RECORD", "")


def _nvidia(folder: Path) -> None:
    with zipfile.ZipFile(folder / "nvidia_cudnn_cu12-9.1.0.70-py3-none-any.whl", "w") as wheel:
        wheel.writestr("nvidia_cudnn_cu12-9.1.0.70.dist-info/METADATA",
                       "Metadata-Version: 2.1\nName: nvidia-cudnn-cu12\nVersion: 9.1.0.70\n")
        wheel.writestr("nvidia_cudnn_cu12-9.1.0.70.dist-info/WHEEL",
                       "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr("nvidia_cudnn_cu12-9.1.0.70.dist-info/RECORD", "")


def _resolve(requirement: str, *folders: Path) -> dict[str, str]:
    """What pip would install for ``requirement`` from ``folders`` (name -> version), without installing."""
    links = [arg for folder in folders for arg in ("--find-links", str(folder))]
    # Only these folders: none of this machine's pip settings (its own wheel folders, indexes, constraints).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-index",
                             "--quiet", "--report", "-", *links, requirement], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return {item["metadata"]["name"]: item["metadata"]["version"] for item in json.loads(result.stdout)["install"]}


@pytest.mark.slow
def test_the_cpu_index_keeps_cuda_torch_out_of_pre_commits_environment(tmp_path):
    """PyPI's Linux torch pulls the nvidia-* wheels (several GB); with the CPU index the manifest adds, pip picks
    the +cpu build for the same pin, since a local version label sorts after the plain version."""
    torch_pin = next(d for d in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
                     if d.startswith("torch"))
    pypi, cpu_index = tmp_path / "pypi", tmp_path / "cpu"
    _wheel(pypi, "2.13.0", ("nvidia-cudnn-cu12==9.1.0.70",))
    _nvidia(pypi)
    _wheel(cpu_index, "2.13.0+cpu")
    assert _resolve(torch_pin, pypi) == {"torch": "2.13.0", "nvidia-cudnn-cu12": "9.1.0.70"}
    assert _resolve(torch_pin, pypi, cpu_index) == {"torch": "2.13.0+cpu"}


# ---------------------------------------------------------------- the snippets, end to end


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> tuple[Path, str]:
    """A fresh clone of this repository (its committed HEAD) and that commit."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    target = tmp_path_factory.mktemp("fresh") / "codelens"
    git(REPO_ROOT, "clone", "--quiet", str(REPO_ROOT), str(target))
    return target, git(target, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def runtime():
    """The background server's folder for this test, and every server there stopped afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="clr-", dir="/tmp"))  # short: a socket path holds 107 bytes
    folder.chmod(0o700)
    yield folder
    for place in _places(folder):
        try:
            stop_server(place)
        except Exception:  # noqa: BLE001 - one already gone
            pass
    shutil.rmtree(folder, ignore_errors=True)


def _places(runtime: Path) -> list[ServerPlace]:
    return [ServerPlace(p.parent, p.name[len("server-"):-len(".sock")]) for p in (runtime / "codelens").glob("server-*.sock")]


def _user_config(folder: Path, tiny_llama: Path, adapter: Path) -> Path:
    """The user's own settings: the tiny model, and every likely defect a blocking one."""
    path = folder / "config.toml"
    path.write_text(f'model = "{tiny_llama}"\nadapter = "{adapter}"\ndefect-threshold = 0.0\nfail-on = "low"\n'
                    'summaries = "none"\n', encoding="utf-8")
    return path


def _commit(repo: Path, env: dict, *paths: str) -> tuple[int, str]:
    git(repo, "add", *paths, env=env)
    result = git(repo, "commit", "-m", "change", check=False, env=env)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.slow
def test_the_local_snippet_runs_the_installed_codelens_with_its_server(tmp_path, clone, runtime, tiny_llama,
                                                                      tiny_llama_adapter):
    source, _ = clone
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    purelib = sysconfig.get_paths()["purelib"]
    # The clone's wheel, built here (the new environment has no setuptools), installed there.
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("codelens-*.whl")
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                                "--quiet", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True,
                               timeout=600)
    assert installed.returncode == 0, installed.stderr
    env = git_env(PATH=f"{venv / 'bin'}:/usr/bin:/bin", PYTHONPATH=purelib, HF_HUB_OFFLINE="1",
                  XDG_RUNTIME_DIR=str(runtime), CODELENS_CONFIG=str(_user_config(tmp_path, tiny_llama,
                                                                                 tiny_llama_adapter)))
    # The hook's codelens is the clone's, not this working tree's.
    where = subprocess.run(["codelens", "--version"], env=env, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0 and shutil.which("codelens", path=env["PATH"]) == str(venv / "bin" / "codelens")
    repo = init_repo(tmp_path / "project", {".pre-commit-config.yaml": readme_snippet("pre-commit-local"),
                                            "README.md": "demo\n"})
    hooked = subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo, env=env, capture_output=True,
                            text=True, timeout=120)
    assert hooked.returncode == 0, hooked.stderr

    write(repo, {"calc.py": BUGGY})
    code, out = _commit(repo, env, "calc.py")
    assert code == 1, out
    assert "codelens" in out and "Failed" in out and "CL100 likely-defect scale may hold a bug" in out
    (place,) = _places(runtime)  # the hook started the background server, and it ran the model
    status = server_status(place)
    assert status["served"] >= 1 and status["python"] == str(venv / "bin" / "python")

    write(repo, {"calc.py": BUGGY.replace("factor):", "factor):  # codelens: ignore[CL100]")})
    code, out = _commit(repo, env, "calc.py")
    assert code == 0, out
    assert git(repo, "log", "--format=%s", env=env).stdout.splitlines() == ["change", "initial"]
    # (a comment changes no function's hash: the cache answered that one). A new function goes to the same server.
    write(repo, {"more.py": BUGGY.replace("scale(values, factor):", "grow(values, step):  # codelens: ignore[CL100]")})
    code, out = _commit(repo, env, "more.py")
    assert code == 0, out
    after = server_status(place)
    assert after["pid"] == status["pid"] and after["served"] > status["served"]


@pytest.mark.slow
def test_the_pinned_snippet_installs_the_clone_at_its_commit(tmp_path, clone, runtime, tiny_llama,
                                                            tiny_llama_adapter):
    source, commit = clone
    config = readme_snippet("pre-commit-pinned")
    config = re.sub(r"(?m)^(\s*- repo: ).*$", rf"\g<1>{source}", config)
    config = re.sub(r"(?m)^(\s*rev: ).*$", rf"\g<1>{commit}", config)
    home = tmp_path / "pre-commit-home"
    env = git_env(PRE_COMMIT_HOME=str(home), PYTHONPATH=sysconfig.get_paths()["purelib"], PIP_NO_INDEX="1",
                  PIP_NO_BUILD_ISOLATION="0", HF_HUB_OFFLINE="1", XDG_RUNTIME_DIR=str(runtime),
                  CODELENS_CONFIG=str(_user_config(tmp_path, tiny_llama, tiny_llama_adapter)))
    repo = init_repo(tmp_path / "project", {".pre-commit-config.yaml": config, "README.md": "demo\n"})
    for command in (["install"], ["install-hooks"]):
        done = subprocess.run([sys.executable, "-m", "pre_commit", *command], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
    # pre-commit's own environment holds codelens, built from the clone at that commit.
    (script,) = home.glob("repo*/py_env-*/bin/codelens")
    write(repo, {"calc.py": BUGGY})
    code, out = _commit(repo, env, "calc.py")
    assert code == 1, out
    assert "CL100 likely-defect scale may hold a bug" in out
    (place,) = _places(runtime)
    assert server_status(place)["python"] == str(script.parent / "python")
