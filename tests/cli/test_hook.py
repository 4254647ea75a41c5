"""`codelens hook install` and the plain git pre-commit hook it writes."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from codelens.cli.hook_cmd import MARKER, hook_script, install_hook
from codelens.cli.main import main
from tests.hooks.gitrepo import git, git_env, init_repo, write

REPO_ROOT = Path(__file__).resolve().parents[2]
CODELENS = str(Path(sys.executable).parent / "codelens")


def install(capsys, *args: str) -> tuple[int, str]:
    code = main(["hook", "install", *args])
    return code, capsys.readouterr().err


def test_repository_script_is_the_installed_script():
    script = REPO_ROOT / "hooks" / "pre-commit"
    assert script.read_text(encoding="utf-8") == hook_script("codelens")
    assert script.stat().st_mode & stat.S_IXUSR
    assert hook_script("/opt/my tools/codelens").count("codelens=${CODELENS:-'/opt/my tools/codelens'}") == 1


def test_install_writes_an_executable_hook_and_updates_its_own(capsys, tmp_path):
    repo = init_repo(tmp_path / "r")
    code, err = install(capsys, str(repo))
    hook = repo / ".git" / "hooks" / "pre-commit"
    assert code == 0 and "installed" in err
    assert MARKER in hook.read_text() and os.access(hook, os.X_OK)
    assert "exec \"$codelens\" scan . --staged --quiet --blocking-only" in hook.read_text()
    hook.write_text(hook.read_text() + "# edited\n")
    assert install(capsys, str(repo))[0] == 0  # its own hook is replaced without --force
    assert "# edited" not in hook.read_text()


def test_foreign_hook_needs_force_and_is_backed_up(capsys, tmp_path):
    repo = init_repo(tmp_path / "r")
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nmake lint\n")
    code, err = install(capsys, str(repo))
    assert code == 2 and "was not written by codelens" in err and "--force" in err
    assert hook.read_text() == "#!/bin/sh\nmake lint\n"
    code, err = install(capsys, str(repo), "--force")
    assert code == 0 and "pre-commit.codelens-backup" in err
    assert (hook.parent / "pre-commit.codelens-backup").read_text() == "#!/bin/sh\nmake lint\n"
    assert MARKER in hook.read_text()


def test_a_hook_that_cannot_be_backed_up_is_left_alone(capsys, tmp_path, monkeypatch):
    import shutil

    repo = init_repo(tmp_path / "r")
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nmake lint\n")

    def no_space(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copy2", no_space)
    code, err = install(capsys, str(repo), "--force")
    assert code == 2 and "cannot back up" in err
    assert hook.read_text() == "#!/bin/sh\nmake lint\n"


def test_core_hooks_path_is_honoured(tmp_path):
    repo = init_repo(tmp_path / "r")
    git(repo, "config", "core.hooksPath", "githooks")
    (repo / "sub").mkdir()
    target, backup = install_hook(repo / "sub", command="codelens")
    assert target == (repo / "githooks" / "pre-commit").resolve() and backup is None


def test_outside_a_repository_is_exit_2(capsys, tmp_path):
    code, err = install(capsys, str(tmp_path))
    assert code == 2 and "not inside a git repository" in err


def test_missing_codelens_fails_the_commit_with_advice(tmp_path):
    repo = init_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    install_hook(repo, command=str(tmp_path / "gone" / "codelens"))
    write(repo, {"a.py": "x = 2\n"})
    git(repo, "add", "a.py")
    result = git(repo, "commit", "-m", "change", check=False, env=git_env(PATH="/usr/bin:/bin"))
    assert result.returncode != 0
    assert "the codelens command was not found" in result.stderr


BUGGY = "def scale(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor)\n    return out\n"


@pytest.mark.slow
def test_plain_hook_blocks_a_commit_then_passes_after_a_suppression(tmp_path, tiny_llama, tiny_llama_adapter):
    # The model comes from the user's own config: a repository's config may not choose what is loaded.
    user = tmp_path / "user.toml"
    user.write_text(f'model = "{tiny_llama}"\nadapter = "{tiny_llama_adapter}"\n')
    env = git_env(CODELENS_CONFIG=str(user))
    settings = '[tool.codelens]\ndefect-threshold = 0.0\nfail-on = "low"\n'
    repo = init_repo(tmp_path / "r", {"pyproject.toml": settings, "README.md": "demo\n"})
    install_hook(repo, command=CODELENS)
    write(repo, {"calc.py": BUGGY})
    git(repo, "add", "calc.py", env=env)
    blocked = git(repo, "commit", "-m", "add scale", check=False, env=env)
    assert blocked.returncode == 1
    assert "calc.py:" in blocked.stderr and "CL100 likely-defect scale may hold a bug" in blocked.stderr  # on stderr
    write(repo, {"calc.py": BUGGY.replace("factor):", "factor):  # codelens: ignore[CL100]")})
    git(repo, "add", "calc.py", env=env)
    passed = git(repo, "commit", "-m", "add scale", check=False, env=env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
