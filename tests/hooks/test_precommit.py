"""The real pre-commit tool running this repository's hook (.pre-commit-hooks.yaml) on real commits.

pre-commit clones the hook repository at a commit and installs it with ``pip install .`` into a
virtual environment of its own, as it would for any user. Installing torch and the rest there would
take minutes and the network, so the test points that environment at what this one has installed:
``PYTHONPATH`` holds this venv's site-packages (pip then finds every dependency already satisfied and
the hook finds them at run time), ``PIP_NO_INDEX`` keeps pip offline and ``PIP_NO_BUILD_ISOLATION=0``
(pip's spelling of --no-build-isolation) builds codelens with the setuptools found there. codelens
itself is still built from the clone and imported from pre-commit's environment. About 5 s to install.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from codelens.cli.main import main
from tests.hooks.gitrepo import git, git_env, init_repo, write

REPO_ROOT = Path(__file__).resolve().parents[2]
CALC = "def scale(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor)\n    return out\n"
MORE = "def shift(values, offset):\n    out = []\n    for v in values:\n        out.append(v + offset)\n    return out\n"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("git") is None, reason="needs git")]


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    """A git repository holding this working tree's package and hook manifest; (path, commit)."""
    source = tmp_path_factory.mktemp("hook-source")
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(REPO_ROOT / name, source / name)
    for package in ("codelens", "models"):  # every folder pyproject.toml names as a package
        shutil.copytree(REPO_ROOT / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".codelens-cache"))
    init_repo(source)
    git(source, "add", "-A")
    git(source, "commit", "-q", "-m", "codelens")
    return source, git(source, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    return git_env(
        PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home")),
        PYTHONPATH=sysconfig.get_paths()["purelib"],
        PIP_NO_INDEX="1",
        PIP_NO_BUILD_ISOLATION="0",
        HF_HUB_OFFLINE="1",
    )


def config_yaml(hook_repo: tuple[Path, str], args: list[str]) -> str:
    """A .pre-commit-config.yaml using the hook with ``args`` (ended with `--`, as the hook's docs ask)."""
    path, rev = hook_repo
    quoted = ", ".join(f'"{a}"' for a in [*args, "--"])
    return f"repos:\n  - repo: {path}\n    rev: {rev}\n    hooks:\n      - id: codelens\n        args: [{quoted}]\n"


def commit(repo: Path, env: dict[str, str], *paths: str) -> tuple[int, str]:
    """Stage ``paths`` and commit; (exit code, output). git passes hook output on to stderr."""
    git(repo, "add", *paths, env=env)
    result = git(repo, "commit", "-m", "change", check=False, env=env)
    return result.returncode, result.stdout + result.stderr


def test_commit_blocked_by_a_finding_then_passes_with_suppression_and_baseline(
        tmp_path, hook_repo, env, tiny_llama, tiny_llama_adapter):
    model_args = ["--model", str(tiny_llama), "--adapter", str(tiny_llama_adapter), "--defect-threshold", "0.0"]
    hook_args = [*model_args, "--fail-on", "low", "--summaries", "none"]
    repo = init_repo(tmp_path / "project", {".pre-commit-config.yaml": config_yaml(hook_repo, hook_args),
                                            "README.md": "demo\n"})
    installed = subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo, env=env,
                               capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr

    write(repo, {"calc.py": CALC})
    code, out = commit(repo, env, "calc.py")
    assert code == 1
    assert "codelens" in out and "Failed" in out
    assert "calc.py:" in out and "CL100 likely-defect scale may hold a bug" in out

    write(repo, {"calc.py": CALC.replace("factor):", "factor):  # codelens: ignore[CL100]")})
    code, out = commit(repo, env, "calc.py")
    assert code == 0, out
    assert git(repo, "log", "--format=%s", env=env).stdout.splitlines() == ["change", "initial"]

    write(repo, {"more.py": MORE})
    assert commit(repo, env, "more.py")[0] == 1
    assert main(["baseline", "create", str(repo), *model_args, "--quiet"]) == 0
    yaml = config_yaml(hook_repo, [*hook_args, "--baseline", "codelens-baseline.json"])
    write(repo, {".pre-commit-config.yaml": yaml})
    code, out = commit(repo, env, "more.py", ".pre-commit-config.yaml", "codelens-baseline.json")
    assert code == 0, out
    assert "codelens" in out and "Passed" in out

    # A staged file named like an option stays a file name: `--` ends the options before the file names.
    write(repo, {"-rf.py": CALC.replace("scale", "rescale")})
    code, out = commit(repo, env, "--", "-rf.py")
    assert code == 1 and "-rf.py:" in out and "CL100 likely-defect rescale" in out and "Traceback" not in out
