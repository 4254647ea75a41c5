"""Real git repositories for tests: isolated from the user's git configuration."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git_env(**extra: str) -> dict[str, str]:
    """os.environ with git isolated from ~/.gitconfig and a fixed identity."""
    return {**os.environ, **GIT_ENV, **extra}


def git(repo: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run git in ``repo``; output as text."""
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env or git_env())
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def init_repo(path: Path, files: dict[str, str] | None = None, message: str = "initial") -> Path:
    """A fresh repository on branch main, with ``files`` committed (when given)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    (path / ".gitignore").write_text(".codelens-cache/\n", encoding="utf-8")
    if files:
        write(path, files)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", message)
    return path


def write(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
