"""Every write goes through one guard (``codelens.files.write_guarded``): inside the repository or where the
user said, never through a link, never into .git/, never over a file codelens did not write unless asked,
never a device, FIFO or read-only file; atomic.

Issue #23's cases 1 (critical), 3, 4, 5 (high) and 25 (low), one test each; each failed before the guard.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from codelens.cli.main import main
from codelens.errors import CodelensError
from codelens.files import WriteRefused, write_guarded, write_output
from tests.security.test_repository_trust import CALC, make_repo, models

ROOT = Path(__file__).resolve().parents[2]
HOOK = "#!/bin/sh\nmake lint\n"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_case01_repository_baseline_setting_cannot_replace_a_git_hook(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Critical: `baseline = ".git/hooks/pre-commit"` in the repository's config made `baseline create` replace
    the installed hook with JSON (mode 0755 kept), which sh then ran on the next commit."""
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(parents=True)
    hook.write_text(HOOK)
    hook.chmod(0o755)
    (repo / "pyproject.toml").write_text('[tool.codelens]\nbaseline = ".git/hooks/pre-commit"\n')
    code, _, err = run(capsys, "baseline", "create", str(repo), *models(tiny_llama, tiny_llama_adapter)[:4])
    assert hook.read_text() == HOOK and stat.S_IMODE(hook.stat().st_mode) == 0o755
    assert code == 0 and "never uses a path inside .git/" in err
    assert json.loads((repo / "codelens-baseline.json").read_text())["tool"] == "codelens"
    # the guard itself refuses .git/ even for a path the user names
    with pytest.raises(WriteRefused, match="inside a .git folder"):
        write_guarded(hook, b"{}", root=repo, named_by_user=True, force=True)
    assert hook.read_text() == HOOK


def test_case03_a_committed_baseline_link_is_not_written_through(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """High: a committed `codelens-baseline.json` that is a link out of the repository: `baseline create`
    wrote through it."""
    outside = tmp_path / "outside" / "authorized_keys"
    outside.parent.mkdir()
    outside.write_text("ssh-ed25519 AAAA user\n")
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    (repo / "codelens-baseline.json").symlink_to(outside)
    code, _, err = run(capsys, "baseline", "create", str(repo), *models(tiny_llama, tiny_llama_adapter)[:4])
    assert outside.read_text() == "ssh-ed25519 AAAA user\n"
    assert code == 2 and "symbolic link" in err


def test_case04_output_never_goes_through_a_committed_link(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """High: `scan --output codelens.sarif` (the README's CI recipe), where the checkout commits that name as
    a link to ~/.ssh/authorized_keys, overwrote the keys; so did a committed folder link on the way."""
    keys = tmp_path / "home" / ".ssh" / "authorized_keys"
    keys.parent.mkdir(parents=True)
    keys.write_text("ssh-ed25519 AAAA user\n")
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    (repo / "codelens.sarif").symlink_to(keys)
    (repo / "reports").symlink_to(keys.parent, target_is_directory=True)
    args = ["scan", str(repo), "--format", "sarif", "--no-cache", *models(tiny_llama, tiny_llama_adapter)]
    for target, message in ((repo / "codelens.sarif", "symbolic link"), (repo / "reports" / "authorized_keys",
                                                                         "leads outside the repository")):
        code, _, err = run(capsys, *args, "--output", str(target), "--force")
        assert code == 2 and message in err, err
        assert keys.read_text() == "ssh-ed25519 AAAA user\n"
    # a file codelens did not write needs --force; one it wrote (the ledger) is replaced, atomically
    mine = tmp_path / "mine.sarif"
    mine.write_text("my notes\n")
    code, _, err = run(capsys, *args, "--output", str(mine))
    assert code == 2 and "was not written by codelens" in err and mine.read_text() == "my notes\n"
    assert run(capsys, *args, "--output", str(mine), "--force")[0] in (0, 1)
    assert json.loads(mine.read_text())["version"] == "2.1.0"
    assert run(capsys, *args, "--output", str(mine))[0] in (0, 1)  # codelens's own file: no --force needed


def test_the_guard_never_writes_a_device_or_fifo(tmp_path):
    with pytest.raises(WriteRefused, match="not a regular file"):
        write_output("/dev/zero", "report", root=tmp_path, force=True)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")
        with pytest.raises(WriteRefused, match="not a regular file"):
            write_output(tmp_path / "pipe", "report", root=tmp_path, force=True)
    assert write_output(os.devnull, "discarded", root=tmp_path) == Path(os.devnull)  # --output /dev/null


def test_case05_train_out_never_deletes_what_is_not_an_adapter(capsys, tmp_path, monkeypatch):
    """High: `codelens train --out DIR` moved an existing folder aside and deleted it with everything in it;
    `--out .` deleted the working folder's files, then crashed. Now refused before training starts."""
    from codelens.train.checkpoints import check_out

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "calc.py").write_text(CALC)
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("precious\n")
    monkeypatch.chdir(work)
    for out, message in ((".", "the folder you are working in"), (str(tmp_path), "the folder you are working in"),
                         (str(work), "the folder you are working in")):
        code, _, err = run(capsys, "train", "--corpus", str(corpus), "--out", out, "--max-steps", "1")
        assert code == 2 and message in err, err
    assert (work / "notes.txt").read_text() == "precious\n"
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "data.csv").write_text("1,2\n")
    code, _, err = run(capsys, "train", "--corpus", str(corpus), "--out", str(folder), "--max-steps", "1")
    assert code == 2 and "not a codelens adapter" in err and (folder / "data.csv").is_file()
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "codelens.json").write_text("{}")
    with pytest.raises(CodelensError, match="--overwrite"):
        check_out(adapter)
    assert check_out(adapter, overwrite=True) == adapter.resolve()
    (adapter / "checkpoint.pt").write_text("x")
    with pytest.raises(CodelensError, match=r"also holds other files \(checkpoint.pt\)"):
        check_out(adapter, overwrite=True)
    (tmp_path / "link").symlink_to(adapter, target_is_directory=True)
    with pytest.raises(CodelensError, match="symbolic link"):
        check_out(tmp_path / "link", overwrite=True)


def test_case25_docstring_write_refuses_a_read_only_file(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Low: `docstring --write` replaced a read-only file (a rename ignores the file's own mode)."""
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    target = repo / "calc.py"
    target.chmod(0o444)
    code, _, err = run(capsys, "docstring", str(repo), "--write", "--no-cache", *models(tiny_llama, tiny_llama_adapter)[:4])
    assert target.read_text() == CALC and "is read-only; left unchanged" in err
    assert code == 0 and "0 docstrings written in 0 files" in err
    target.chmod(0o644)


WRITERS = {
    "codelens/files.py": "the write guard itself",
    "codelens/cache.py": "the cache key, created once with O_EXCL in the user's own cache folder",
    "codelens/model/adapter_meta.py": "codelens.json into the fresh temporary folder save_adapter made",
    "codelens/train/methods.py": "weights into the fresh temporary folder save_adapter made",
    "codelens/train/checkpoints.py": "checkpoints, and the adapter folder check_out allowed (--out, --overwrite)",
    "codelens/train/data/dataset.py": "the task-data cache in the folder --data-cache names",
    "codelens/model/packed.py": "int8 model files into a folder the shipping recipes name",
    "codelens/cli/hook_cmd.py": "the backup copy of a foreign hook, under a new name next to the hook the guard "
                                "allowed",
}
"""Modules that write files outside the guard, and why that is safe: no path comes from a scanned repository."""


def test_every_other_write_goes_through_the_guard():
    """The chokepoint stays one: a new module that writes files must use codelens.files or be listed here."""
    writes = re.compile(r"""\.write_(?:text|bytes)\(|open\([^)]*["'][wax]b?["']|os\.replace\(|mkstemp\(|save_file\(|"""
                        r"""torch\.save\(|shutil\.(?:copy|move)""")
    found = {str(path.relative_to(ROOT)) for path in (ROOT / "codelens").rglob("*.py")
             if writes.search(path.read_text(encoding="utf-8"))}
    assert found <= set(WRITERS), sorted(found - set(WRITERS))
