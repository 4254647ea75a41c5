"""`codelens hook install`: a plain git pre-commit hook, for repositories without the pre-commit tool.

The script is ``hooks/pre-commit`` of the codelens repository; install writes it with the path of the
codelens that ran the install as the default command, so the hook works outside an activated
virtual environment.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

MARKER = ("# codelens-hook: git pre-commit hook from codelens (hooks/pre-commit; `codelens hook install` "
          "writes it).")
"""The line that identifies a hook codelens wrote, matched whole: such a hook is replaced without --force.
A hook that merely mentions codelens (a user's own script calling it) is not ours to replace."""

HOOK_TEMPLATE = """\
#!/bin/sh
@MARKER@
# It scans the functions your staged changes touch, with the settings of [tool.codelens], and blocks
# the commit when a finding reaches fail-on. Skip it once with `git commit --no-verify`.
# Set CODELENS to the codelens executable to use another one.
codelens=${CODELENS:-@CODELENS@}
if ! command -v "$codelens" >/dev/null 2>&1; then
    codelens=codelens
fi
if ! command -v "$codelens" >/dev/null 2>&1; then
    echo "codelens pre-commit hook: the codelens command was not found." >&2
    echo "  Install codelens, or set CODELENS=/path/to/codelens; skip once with git commit --no-verify." >&2
    exit 1
fi
exec "$codelens" scan . --staged --quiet
"""

app = typer.Typer(help="Git hooks without the pre-commit framework.", no_args_is_help=True)


def hook_script(command: str = "codelens") -> str:
    """The hook's text with ``command`` as the default codelens executable."""
    return HOOK_TEMPLATE.replace("@MARKER@", MARKER).replace("@CODELENS@", shlex.quote(command))


def written_by_codelens(text: str) -> bool:
    """Whether a hook's text is one codelens wrote: its marker line, whole, on a line of its own."""
    return MARKER in (line.rstrip("\r") for line in text.splitlines())


def _backup_path(target: Path) -> Path:
    """pre-commit.codelens-backup, or .1, .2, ... when earlier backups are there: none is overwritten."""
    backup = target.with_name("pre-commit.codelens-backup")
    number = 0
    while backup.exists() or backup.is_symlink():
        number += 1
        backup = target.with_name(f"pre-commit.codelens-backup.{number}")
    return backup


def _this_codelens() -> str:
    """The codelens executable running now, so the hook does not depend on PATH; else plain `codelens`."""
    candidates = [Path(sys.argv[0]) if sys.argv and Path(sys.argv[0]).name == "codelens" else None,
                  Path(sys.executable).parent / "codelens"]
    for candidate in candidates:
        if candidate is not None and candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate.resolve())
    return shutil.which("codelens") or "codelens"


def hooks_dir(repo: Path) -> Path:
    """Where git looks for hooks in the repository holding ``repo`` (honours core.hooksPath)."""
    from codelens.errors import CodelensError

    folder = repo if repo.is_dir() else repo.parent
    try:
        result = subprocess.run(["git", "rev-parse", "--git-path", "hooks"], cwd=folder, capture_output=True,
                                text=True)
    except FileNotFoundError:
        raise CodelensError("git is not installed or not on PATH", hint="install git first") from None
    if result.returncode != 0:
        raise CodelensError(f"{repo} is not inside a git repository",
                            hint="run `codelens hook install` in a git work tree (or pass its path)")
    return (folder / result.stdout.strip()).resolve()


def install_hook(repo: Path, force: bool = False, command: str | None = None) -> tuple[Path, Path | None]:
    """Write the pre-commit hook; returns (hook path, backup of a replaced foreign hook or None).

    A hook codelens wrote (its marker line, whole) is replaced silently; any other existing hook only with
    ``force``, after being copied to ``pre-commit.codelens-backup`` (numbered when one is there already).
    """
    from codelens.errors import CodelensError

    target = hooks_dir(repo) / "pre-commit"
    backup = None
    if target.exists():
        try:
            current = target.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise CodelensError(f"cannot read the existing hook {target}: {exc.strerror}") from exc
        if not written_by_codelens(current):
            if not force:
                raise CodelensError(
                    f"{target} already exists and was not written by codelens",
                    hint="pass --force to replace it (it is kept as pre-commit.codelens-backup), or add "
                         "`codelens scan . --staged --quiet` to it yourself, or use the pre-commit framework")
            backup = _backup_path(target)
            try:
                shutil.copy2(target, backup)
            except OSError as exc:  # never overwrite a hook that could not be saved first
                raise CodelensError(f"cannot back up {target} to {backup}: {exc.strerror}",
                                    hint="check the permissions of the hooks folder") from exc
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(hook_script(command or _this_codelens()), encoding="utf-8", newline="\n")
        target.chmod(0o755)
    except OSError as exc:
        raise CodelensError(f"cannot write {target}: {exc.strerror}", hint="check the permissions of .git/hooks") from exc
    return target, backup


@app.command("install")
def install(
    path: Annotated[Path, typer.Argument(help="The git repository (any folder inside it).")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing pre-commit hook codelens did not write.")] = False,
) -> None:
    """Install a git pre-commit hook that runs `codelens scan . --staged --quiet` before each commit."""
    from codelens.cli.console import say

    target, backup = install_hook(path, force)
    if backup is not None:
        say(f"the previous hook was kept as {backup}")
    say(f"installed {target}; it scans staged changes before each commit (skip once with --no-verify)")
