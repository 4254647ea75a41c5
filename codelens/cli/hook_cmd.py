"""`codelens hook install`: a plain git pre-commit hook, for repositories without the pre-commit tool.

The script is ``hooks/pre-commit`` of the codelens repository; install writes it with the path of the
codelens that ran the install as the default command, so the hook works outside an activated
virtual environment.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from codelens.files import is_inside

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
# CODELENS_HOOK=1: the scan keeps the model loaded in your background server (`codelens server status`),
# starting it on first use; set server = "off" in your codelens config to run without it.
CODELENS_HOOK=1 exec "$codelens" scan . --staged --quiet --blocking-only
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


def hooks_dir(repo: Path) -> tuple[Path, Path, bool]:
    """Where git looks for hooks in the repository holding ``repo`` (honours core.hooksPath): (hooks folder,
    work tree top, whether the user chose it). Through codelens's hardened git (``codelens.gitscope``).

    A hooks folder inside the repository (its work tree or git folder) is fine whoever set it. One outside
    is used only when ``core.hooksPath`` comes from the user's own git config (global, system, the command
    line): a repository's ``.git/config`` may not send codelens's writes out of the repository.
    """
    from codelens.errors import CodelensError
    from codelens.gitscope import Git

    folder = repo if repo.is_dir() else repo.parent
    git = Git(folder, hooks=True)
    result = git.run(["rev-parse", "--git-path", "hooks"])
    if result.returncode != 0 or git.top is None:
        raise CodelensError(f"{repo} is not inside a git repository",
                            hint="run `codelens hook install` in a git work tree (or pass its path)")
    target = (folder / os.fsdecode(result.stdout.strip())).resolve()
    work_tree = git.top.resolve()
    common = git.run(["rev-parse", "--git-common-dir"])
    git_dir = (folder / os.fsdecode(common.stdout.strip())).resolve()
    if is_inside(target, work_tree):
        return target, work_tree, False
    if is_inside(target, git_dir):  # git's own folder, outside the work tree of a linked worktree
        return target, work_tree, True
    scope = git.run(["config", "--show-scope", "--get", "core.hooksPath"]).stdout.decode("utf-8", "replace")
    if scope.split("\t", 1)[0] in ("global", "system", "command"):
        return target, work_tree, True
    raise CodelensError(f"core.hooksPath in {git_dir / 'config'} sends hooks to {target}, outside the repository; "
                        "codelens does not write there on a repository's word",
                        hint="set core.hooksPath in your own git config (`git config --global core.hooksPath DIR`) "
                             "to use that folder, or unset it here (`git config --unset core.hooksPath`)")


def install_hook(repo: Path, force: bool = False, command: str | None = None) -> tuple[Path, Path | None]:
    """Write the pre-commit hook; returns (hook path, backup of a replaced foreign hook or None).

    A hook codelens wrote (its marker line, whole) is replaced silently; any other existing hook only with
    ``force``, after being copied to ``pre-commit.codelens-backup`` (numbered when one is there already).
    The write goes through codelens's write guard: never through a link, onto a device or read-only file.
    """
    from codelens.errors import CodelensError
    from codelens.files import FileReadError, guard_target, read_bounded, write_guarded

    folder, work_tree, chosen = hooks_dir(repo)
    target = folder / "pre-commit"
    guard_target(target, root=work_tree, named_by_user=chosen, into_git=True)
    backup = None
    if target.exists():
        try:
            current = read_bounded(target, 1 << 20, "hook").decode("utf-8", "replace")
        except FileReadError as exc:
            raise CodelensError(f"cannot read the existing hook {target}: {exc.message}") from exc
        if not written_by_codelens(current):
            if not force:
                raise CodelensError(
                    f"{target} already exists and was not written by codelens",
                    hint="pass --force to replace it (it is kept as pre-commit.codelens-backup), or add "
                         "`codelens scan . --staged --quiet --blocking-only` to it yourself, or use the pre-commit framework")
            backup = _backup_path(target)
            try:
                shutil.copy2(target, backup)
            except OSError as exc:  # never overwrite a hook that could not be saved first
                raise CodelensError(f"cannot back up {target} to {backup}: {exc.strerror}",
                                    hint="check the permissions of the hooks folder") from exc
    write_guarded(target, hook_script(command or _this_codelens()).encode("utf-8"), root=work_tree,
                  named_by_user=chosen, force=True, into_git=True, mode=0o755, what="hook")
    return target, backup


@app.command("install")
def install(
    path: Annotated[Path, typer.Argument(help="The git repository (any folder inside it).")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing pre-commit hook codelens did not write.")] = False,
) -> None:
    """Install a git pre-commit hook that runs `codelens scan . --staged --quiet --blocking-only` before each commit."""
    from codelens.cli.console import say

    target, backup = install_hook(path, force)
    if backup is not None:
        say(f"the previous hook was kept as {backup}")
    say(f"installed {target}; it scans staged changes before each commit (skip once with --no-verify)")
