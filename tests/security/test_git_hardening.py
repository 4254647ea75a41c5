"""Every git call goes through one hardened helper (``codelens.gitscope.Git``): the scanned repository's
``.git/config`` and attributes cannot make it run a program or read a file that blocks.

One test per configuration key that names a program or a file (issue #23, item 2), each built so that plain
git does run the program (or block) in the same repository: the test fails without the helper's setting for
that key. ``core.fsmonitor`` has its test in ``test_repository_trust.py``. Issue #23's cases 6 (high), 19, 20
and 21 (low) are the tests named after them.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from codelens import gitscope
from codelens.errors import CodelensError
from codelens.gitscope import changed_lines
from tests.hooks.gitrepo import git, git_env, init_repo, write

ROOT = Path(__file__).resolve().parents[2]
CALC = "def scale(values, factor):\n    return [v * factor for v in values]\n"
EDITED = "def scale(values, factor):\n    return [v * factor + 1 for v in values]\n"


def _program(repo: Path, name: str, body: str = "cat") -> tuple[Path, Path]:
    """An executable script in the git folder that leaves a marker file when it runs, then runs ``body``."""
    marker = repo.parent / f"{name}-RAN"
    script = repo / ".git" / f"{name}.sh"
    script.write_text(f"#!/bin/sh\ntouch '{marker}'\n{body}\n")
    script.chmod(0o755)
    return script, marker


def _edited_repo(tmp_path: Path, attributes: str = "") -> Path:
    repo = init_repo(tmp_path / "repo", {"calc.py": CALC, **({".gitattributes": attributes} if attributes else {})})
    write(repo, {"calc.py": EDITED})
    return repo


def _git_runs_it(repo: Path, marker: Path, *args: str) -> None:
    """Plain git runs the program here (else the test would prove nothing); the marker is cleared after."""
    git(repo, *args, check=False)
    assert marker.exists(), f"git {' '.join(args)} did not run the program: the test proves nothing here"
    marker.unlink()


@pytest.mark.parametrize("key", ["clean", "process"])
def test_case06_a_filter_driver_of_the_repository_is_not_run(tmp_path, key):
    """High: `.git/config` filter.<x>.clean / process with a `.gitattributes` entry ran during
    `scan --diff-base` (and the pre-commit file list). Every configured driver's commands are emptied."""
    repo = _edited_repo(tmp_path, "*.py filter=evil\n")
    script, marker = _program(repo, f"filter-{key}", "cat" if key == "clean" else "exit 1")
    git(repo, "config", f"filter.evil.{key}", str(script))
    _git_runs_it(repo, marker, "diff", "HEAD")
    assert changed_lines(repo, diff_base="HEAD", staged=False) == {"calc.py": {2}}
    assert not marker.exists(), "codelens ran the repository's filter driver"


def test_a_textconv_driver_is_not_run(tmp_path):
    repo = _edited_repo(tmp_path, "*.py diff=conv\n")
    script, marker = _program(repo, "textconv", 'cat "$1"')
    git(repo, "config", "diff.conv.textconv", str(script))
    _git_runs_it(repo, marker, "diff", "HEAD")
    assert changed_lines(repo, diff_base="HEAD", staged=False) == {"calc.py": {2}}
    assert not marker.exists()


def test_an_external_diff_program_is_not_run(tmp_path):
    repo = _edited_repo(tmp_path)
    script, marker = _program(repo, "external", "true")
    git(repo, "config", "diff.external", str(script))
    _git_runs_it(repo, marker, "diff", "HEAD")
    assert changed_lines(repo, diff_base="HEAD", staged=False) == {"calc.py": {2}}
    assert not marker.exists()


def test_a_diff_driver_command_is_not_run(tmp_path):
    repo = _edited_repo(tmp_path, "*.py diff=drv\n")
    script, marker = _program(repo, "driver", "true")
    git(repo, "config", "diff.drv.command", str(script))
    _git_runs_it(repo, marker, "diff", "HEAD")
    assert changed_lines(repo, diff_base="HEAD", staged=False) == {"calc.py": {2}}
    assert not marker.exists()


def _fifo_blocks_git(repo: Path, *args: str) -> None:
    """Plain git blocks here (it waits on the FIFO): checked with a short timeout."""
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(["git", *args], cwd=repo, env=git_env(), capture_output=True, timeout=3)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_case19_a_fifo_as_diff_order_file_does_not_hang(tmp_path):
    """Low: `diff.orderFile` naming a FIFO blocked `scan --diff-base` for ever."""
    repo = _edited_repo(tmp_path)
    os.mkfifo(repo / ".git" / "order")
    git(repo, "config", "diff.orderFile", str(repo / ".git" / "order"))
    _fifo_blocks_git(repo, "diff", "HEAD")
    started = time.monotonic()
    assert changed_lines(repo, diff_base="HEAD", staged=False) == {"calc.py": {2}}
    assert time.monotonic() - started < 10


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("key", ["core.excludesFile", "core.attributesFile"])
def test_a_fifo_as_excludes_or_attributes_file_does_not_hang(tmp_path, key):
    repo = _edited_repo(tmp_path)
    os.mkfifo(repo / ".git" / "named")
    git(repo, "config", key, str(repo / ".git" / "named"))
    _fifo_blocks_git(repo, "ls-files", "--others", "--exclude-standard") if key == "core.excludesFile" else \
        _fifo_blocks_git(repo, "diff", "HEAD")
    assert changed_lines(repo, diff_base="HEAD", staged=False) == {"calc.py": {2}}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("where", [".gitignore", "sub/.gitattributes", ".git/info/exclude", ".git/index"])
def test_a_fifo_git_would_read_is_a_clear_error_not_a_hang(tmp_path, where):
    repo = _edited_repo(tmp_path)
    (repo / where).parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(repo / where):
        (repo / where).unlink()
    os.mkfifo(repo / where)
    started = time.monotonic()
    with pytest.raises(CodelensError, match="git would block reading it") as caught:
        changed_lines(repo, diff_base="HEAD", staged=False)
    assert where.rpartition("/")[2] in caught.value.message and time.monotonic() - started < 10


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_an_include_path_ends_in_a_timeout_error(tmp_path, monkeypatch):
    """A FIFO named by the repository's include.path blocks git while it reads its config: no check can see
    it coming, so every git call has a timeout (seconds for calls that read no work tree)."""
    repo = _edited_repo(tmp_path)
    os.mkfifo(repo / ".git" / "more-config")
    with open(repo / ".git" / "config", "a", encoding="utf-8") as handle:
        handle.write(f"[include]\n\tpath = {repo / '.git' / 'more-config'}\n")
    monkeypatch.setattr(gitscope, "QUICK_TIMEOUT_S", 2.0)
    started = time.monotonic()
    with pytest.raises(CodelensError, match="did not finish within 2 s"):
        changed_lines(repo, diff_base="HEAD", staged=False)
    assert time.monotonic() - started < 10


def test_core_worktree_cannot_point_git_elsewhere(tmp_path):
    """`core.worktree` in the repository's config would make git diff (and list untracked files of) another
    folder: the work tree is pinned to the folder that holds .git."""
    repo = _edited_repo(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.py").write_text(CALC)
    git(repo, "config", "core.worktree", str(elsewhere))
    assert "secret.py" in git(repo, "ls-files", "--others", check=False).stdout  # git itself goes there
    assert changed_lines(repo, diff_base="HEAD", staged=False) == {"calc.py": {2}}


def test_case21_a_minus_diff_attribute_does_not_drop_changed_functions(tmp_path):
    """Low: `*.py -diff` made git print "Binary files differ" and every changed function left the scope
    silently; such a file now counts as wholly changed."""
    repo = _edited_repo(tmp_path, "*.py -diff\n")
    assert "Binary files" in git(repo, "diff", "HEAD").stdout
    assert changed_lines(repo, diff_base="HEAD", staged=False) == {"calc.py": None}
    git(repo, "add", "calc.py")
    assert changed_lines(repo, diff_base=None, staged=True) == {"calc.py": None}


def test_case20_a_hooks_path_outside_the_repository_does_not_receive_the_hook(tmp_path, capsys):
    """Low: `core.hooksPath` in the repository's config, pointing outside it, received the hook."""
    from codelens.cli.main import main

    repo = init_repo(tmp_path / "repo", {"calc.py": CALC})
    outside = tmp_path / "outside-hooks"
    git(repo, "config", "core.hooksPath", str(outside))
    code = main(["hook", "install", str(repo)])
    err = capsys.readouterr().err
    assert code == 2 and "outside the repository" in err and "core.hooksPath" in err
    assert not (outside / "pre-commit").exists()


def _sources():
    return [(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))
            for path in sorted((ROOT / "codelens").rglob("*.py"))]


PROCESS_STARTERS = {"subprocess": {"run", "Popen", "call", "check_call", "check_output", "getoutput",
                                   "getstatusoutput"},
                    "os": {"system", "popen", "posix_spawn", "posix_spawnp"}}
"""The calls that start a program (and ``os.exec*`` / ``os.spawn*``)."""


def _starts_a_process(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id in PROCESS_STARTERS):
        return False
    name = node.func.attr
    return name in PROCESS_STARTERS[node.func.value.id] or (
        node.func.value.id == "os" and name.startswith(("exec", "spawn")))


def test_every_git_call_goes_through_the_helper():
    """The chokepoint stays one: no module but codelens.gitscope names git as a program, and programs are
    started in two places only, the git helper and the client that starts codelens's own server."""
    names_git = re.compile(r"""["']git["']""")  # the program, as an argv names it
    assert [name for name, text in _sources() if name != "codelens/gitscope.py" and names_git.search(text)] == []
    starters = {name for name, text in _sources() for node in ast.walk(ast.parse(text)) if _starts_a_process(node)}
    assert starters == {"codelens/gitscope.py", "codelens/server/client.py"}
    client = (ROOT / "codelens" / "server" / "client.py").read_text(encoding="utf-8")
    assert '"-m", "codelens.server"' in client  # what it starts: codelens, not git


def test_one_function_finds_the_repository_top():
    """No module but codelens.gitscope looks for a ``.git`` entry or asks git for its top level."""
    looks_for_git = re.compile(r"""/\s*["']\.git["']|--show-toplevel""")
    assert [name for name, text in _sources() if name != "codelens/gitscope.py" and looks_for_git.search(text)] == []


def test_every_top_level_is_the_one_git_reports_in_a_linked_worktree(tmp_path):
    """A linked worktree's ``.git`` is a file naming its git folder: settings, ignore rules and the hook
    installer find the top level git reports, and the main repository's exclude file applies there."""
    from codelens.cli.hook_cmd import hooks_dir
    from codelens.discovery import discover
    from codelens.settings import project_root

    main = init_repo(tmp_path / "main", {"calc.py": CALC})
    (main / ".git" / "info" / "exclude").write_text("excluded.py\n")
    linked = tmp_path / "linked"
    git(main, "worktree", "add", "-q", "-b", "side", str(linked))
    write(linked, {"pkg/used.py": CALC, "pkg/excluded.py": CALC})
    top = Path(git(linked / "pkg", "rev-parse", "--show-toplevel").stdout.strip())
    assert top == linked.resolve() and (linked / ".git").is_file()
    assert gitscope.git_top(linked / "pkg" / "used.py")[0] == linked
    assert project_root(linked / "pkg") == top
    assert hooks_dir(linked / "pkg")[1] == top
    assert [f.rel for f in discover(linked / "pkg").files] == ["used.py"]
