"""The scanned repository is untrusted: its config cannot run code, load from or write outside itself;
its links and special files cannot make codelens read, report or write outside it, or hang.

One test per case of the hardening issue (#13, items 1, 2, 5, 6, 7, 8, 16); each failed before the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from codelens.cli.main import main

CALC = "def scale(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor)\n    return out\n"
EVIL_MODULE = '''from pathlib import Path
Path(__file__).with_name("PWNED").write_text("repository code ran")
from transformers import LlamaConfig as EvilConfig  # noqa: E402
'''


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def make_repo(root: Path, files: dict[str, str]) -> Path:
    (root / ".git").mkdir(parents=True)  # a git work tree as far as codelens looks (its top level)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def models(tiny_llama: Path, adapter: Path) -> list[str]:
    return ["--model", str(tiny_llama), "--adapter", str(adapter), "--summaries", "none"]


def test_repository_config_cannot_turn_on_remote_code(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 1: `model = ".model"` + `trust-remote-code = true` + an auto_map into the repo ran its module."""
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    shutil.copytree(tiny_llama, repo / ".model")
    shutil.copytree(tiny_llama_adapter, repo / ".adapter")
    config = json.loads((repo / ".model" / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig"}
    (repo / ".model" / "config.json").write_text(json.dumps(config))
    (repo / ".model" / "evil.py").write_text(EVIL_MODULE)
    (repo / "pyproject.toml").write_text(
        '[tool.codelens]\nmodel = ".model"\nadapter = ".adapter"\ntrust-remote-code = true\nsummaries = "none"\n')
    code, _, err = run(capsys, "scan", str(repo), "--no-cache")
    assert not (repo / ".model" / "PWNED").exists(), "the repository's code ran"
    assert code in (0, 1) and "trust-remote-code ignored" in err and "command line" in err


def test_repository_config_cannot_load_a_model_from_outside(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 1: model / adapter paths outside the repository (or hub ids) from its config are not loaded."""
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    (repo / "pyproject.toml").write_text(
        f'[tool.codelens]\nmodel = "{tiny_llama}"\nadapter = "../{tiny_llama_adapter.name}"\n')
    shutil.copytree(tiny_llama_adapter, tmp_path / tiny_llama_adapter.name)
    code, out, err = run(capsys, "scan", str(repo), "--no-cache", "--format", "json", "--summaries", "none")
    assert code in (0, 1)
    assert "model = " in err and "adapter = " in err and err.count("ignored") >= 2
    assert json.loads(out)["model"]["adapter"] == "default"  # the embedded default ran instead


def test_repository_config_cannot_write_a_baseline_outside(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 2: `baseline = "../../outside/file"` made `baseline create` overwrite that file."""
    outside = tmp_path / "outside" / "file"
    outside.parent.mkdir()
    outside.write_text("precious\n")
    repo = make_repo(tmp_path / "a" / "repo", {"calc.py": CALC})
    (repo / "pyproject.toml").write_text('[tool.codelens]\nbaseline = "../../outside/file"\n')
    code, _, err = run(capsys, "baseline", "create", str(repo), *models(tiny_llama, tiny_llama_adapter)[:4])
    assert outside.read_text() == "precious\n"
    assert code == 0 and "leads outside the repository" in err
    assert (repo / "codelens-baseline.json").is_file()
    # an absolute path is refused the same way; the command line may still point anywhere
    (repo / "pyproject.toml").write_text(f'[tool.codelens]\nbaseline = "{outside}"\n')
    run(capsys, "baseline", "create", str(repo), *models(tiny_llama, tiny_llama_adapter)[:4])
    assert outside.read_text() == "precious\n"
    elsewhere = tmp_path / "mine.json"
    run(capsys, "baseline", "create", str(repo), "-o", str(elsewhere), *models(tiny_llama, tiny_llama_adapter)[:4])
    assert json.loads(elsewhere.read_text())["schema_version"] == 2


def test_repository_cache_settings_cannot_write_outside(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 2: `cache-dir` from the repository's config, and a committed `.codelens-cache` link, wrote outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    (repo / "pyproject.toml").write_text('[tool.codelens]\ncache-dir = "../outside"\n')
    code, _, err = run(capsys, "scan", str(repo), *models(tiny_llama, tiny_llama_adapter))
    assert code in (0, 1) and "cache-dir" in err and list(outside.iterdir()) == []
    assert (repo / ".codelens-cache" / "results.sqlite").is_file()  # the default, inside, was used

    (repo / "pyproject.toml").unlink()
    shutil.rmtree(repo / ".codelens-cache")
    (repo / ".codelens-cache").symlink_to(outside, target_is_directory=True)
    code, _, err = run(capsys, "scan", str(repo), *models(tiny_llama, tiny_llama_adapter))
    assert code in (0, 1) and "result cache disabled" in err and list(outside.iterdir()) == []


def test_symlinks_out_of_the_repository_are_not_followed(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 5: functions of files behind links to outside were reported, and `docstring --write` wrote there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.py"
    secret.write_text(CALC)
    (outside / "pkg").mkdir()
    (outside / "pkg" / "mod.py").write_text(CALC)
    repo = make_repo(tmp_path / "repo", {"own.py": CALC.replace("scale", "own")})
    (repo / "link.py").symlink_to(secret)
    (repo / "linked").symlink_to(outside / "pkg", target_is_directory=True)
    code, out, err = run(capsys, "scan", str(repo), "--format", "json", "--all", "--no-cache",
                         *models(tiny_llama, tiny_llama_adapter))
    paths = {f["path"] for f in json.loads(out)["functions"]}
    assert paths == {"own.py"} and "outside-root" in err
    before = secret.read_bytes()
    run(capsys, "docstring", str(repo), "--write", "--no-cache", *models(tiny_llama, tiny_llama_adapter)[:4])
    assert secret.read_bytes() == before and (outside / "pkg" / "mod.py").read_text() == CALC


def test_docstring_write_replaces_the_file_atomically(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 6: `docstring --write` truncated and rewrote in place (same inode); now a rename, mode and CRLF kept."""
    repo = make_repo(tmp_path / "repo", {})
    target = repo / "calc.py"
    target.write_bytes(CALC.replace("\n", "\r\n").encode())
    target.chmod(0o750)
    inode = target.stat().st_ino
    code, _, err = run(capsys, "docstring", str(repo), "--write", "--no-cache", *models(tiny_llama, tiny_llama_adapter)[:4])
    assert code == 0, err
    data = target.read_bytes()
    assert data != CALC.replace("\n", "\r\n").encode(), "a docstring was written"
    assert target.stat().st_ino != inode, "written through a temporary file and a rename"
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert b"\n" not in data.replace(b"\r\n", b"")  # every line still ends with CRLF
    assert [p.name for p in repo.iterdir() if p.name.startswith(".calc")] == []  # no temporary file left


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_like_source_does_not_hang_the_scan(tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 7: a FIFO with a source extension blocked the read forever."""
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    os.mkfifo(repo / "pipe.py")
    result = subprocess.run([str(Path(sys.executable).parent / "codelens"), "scan", str(repo), "--no-cache",
                             *models(tiny_llama, tiny_llama_adapter)], capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    assert "not-a-file" in result.stderr and "pipe.py" in result.stderr


def test_a_huge_jobs_setting_is_a_clear_error(capsys, tmp_path):
    """Item 8: `jobs = 1000000` aborted inside libgomp with exit 1 (read as "findings")."""
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    (repo / "pyproject.toml").write_text("[tool.codelens]\njobs = 1000000\n")
    code, _, err = run(capsys, "scan", str(repo))
    assert code == 2 and "jobs = 1000000 must be between 0 (auto) and 256" in err


def test_the_cache_and_diffs_hang_off_the_project_root(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 16: a scan of a subfolder got its own empty cache, and `docstring sub/` printed paths that
    `git apply` from the repository root rejects."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "calc.py").write_text(CALC)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    code, _, _ = run(capsys, "scan", str(repo / "pkg"), *models(tiny_llama, tiny_llama_adapter))
    assert (repo / ".codelens-cache" / "results.sqlite").is_file() and not (repo / "pkg" / ".codelens-cache").exists()
    assert "*" in (repo / ".codelens-cache" / ".gitignore").read_text().split()
    code, out, err = run(capsys, "docstring", str(repo / "pkg"), *models(tiny_llama, tiny_llama_adapter)[:4])
    assert code == 0 and "+++ b/pkg/calc.py" in out, err
    patch = tmp_path / "change.patch"
    patch.write_text(out)
    applied = subprocess.run(["git", "apply", "--check", str(patch)], cwd=repo, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr


def test_the_users_own_config_is_trusted(tmp_path, monkeypatch):
    """The user's own config is trusted (it may turn on remote code); the repository's is not."""
    from codelens.settings import resolve_config

    user = tmp_path / "user.toml"
    user.write_text("trust-remote-code = true\nneighbours = 2\n")
    monkeypatch.setenv("CODELENS_CONFIG", str(user))
    repo = make_repo(tmp_path / "repo", {"pyproject.toml": "[tool.codelens]\nneighbours = 5\n"})
    config = resolve_config(repo, {})
    assert config.trust_remote_code is True and config.neighbours == 5 and not config.notes


def test_a_repository_adapter_cannot_pull_in_a_base_from_outside(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """An adapter inside the repository whose codelens.json names a base outside it (a folder elsewhere, or
    a hub id) would make loading follow it: the repository's config would choose what is loaded."""
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    shutil.copytree(tiny_llama_adapter, repo / ".adapter")
    meta = json.loads((repo / ".adapter" / "codelens.json").read_text())
    meta["base_model"] = str(tiny_llama)  # outside the repository
    (repo / ".adapter" / "codelens.json").write_text(json.dumps(meta))
    (repo / "pyproject.toml").write_text('[tool.codelens]\nadapter = ".adapter"\nsummaries = "none"\n')
    code, out, err = run(capsys, "scan", str(repo), "--no-cache", "--format", "json")
    assert code in (0, 1) and "adapter ignored" in err and str(tiny_llama) in err
    assert json.loads(out)["model"]["adapter"] == "default"
    # With its base inside the repository too, the repository's adapter is used.
    shutil.copytree(tiny_llama, repo / ".model")
    meta["base_model"] = str(repo / ".model")
    (repo / ".adapter" / "codelens.json").write_text(json.dumps(meta))
    code, out, err = run(capsys, "scan", str(repo), "--no-cache", "--format", "json")
    assert code in (0, 1) and "adapter ignored" not in err
    assert json.loads(out)["model"]["adapter"] == str(repo / ".adapter")


def test_a_repository_fsmonitor_command_is_not_run(tmp_path):
    """git runs core.fsmonitor from the repository's own .git/config for diff and ls-files: a scanned tree
    that is not a fresh clone could carry one. codelens' git calls switch it off."""
    from codelens.gitscope import changed_lines

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    marker = tmp_path / "FSMONITOR-RAN"
    script = repo / ".git" / "monitor.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    subprocess.run(["git", "-C", str(repo), "config", "core.fsmonitor", str(script)], check=True)
    (repo / "calc.py").write_text(CALC)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e"}
    subprocess.run(["git", "-C", str(repo), "-c", "core.fsmonitor=false", "add", "calc.py"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "-c", "core.fsmonitor=false", "commit", "-qm", "x"], check=True, env=env)
    (repo / "calc.py").write_text(CALC + "\n# changed\n")
    subprocess.run(["git", "-C", str(repo), "status", "--short"], capture_output=True)  # git itself runs it
    assert marker.exists(), "this git does not run core.fsmonitor: the test proves nothing here"
    marker.unlink()
    changed_lines(repo, diff_base="HEAD", staged=False)
    assert not marker.exists(), "codelens ran the repository's fsmonitor command"
