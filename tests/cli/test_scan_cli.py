"""`codelens scan` end to end on tiny local models: output shape, exit codes, bad input, cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codelens.cli.main import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"


@pytest.fixture()
def repo(tmp_path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(EXAMPLE, target)
    return target


def scan(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["scan", *args])
    out, err = capsys.readouterr()
    return code, out, err


def model_args(base: Path, adapter: Path) -> list[str]:
    return ["--model", str(base), "--adapter", str(adapter)]


@pytest.mark.slow
def test_json_all_with_neighbours_has_the_documented_shape(capsys, repo, tiny_llama, tiny_llama_adapter):
    code, out, _ = scan(capsys, str(repo), *model_args(tiny_llama, tiny_llama_adapter), "--format", "json",
                        "--all", "--neighbours", "3", "--fail-on", "never")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["schema_version", "tool", "model", "functions", "clones", "findings", "stats"]
    assert data["schema_version"] == 2
    names = {(f["path"], f["qualname"]) for f in data["functions"]}
    assert ("shop/pricing.py", "apply_discount") in names
    assert ("web/cart.js", "Cart.add") in names
    assert len(data["functions"]) == 16
    function = next(f for f in data["functions"] if f["qualname"] == "apply_discount")
    assert list(function) == ["path", "qualname", "language", "start_line", "end_line", "hash",
                              "defect_probability", "summary", "has_docstring", "bug", "neighbours"]
    assert (function["start_line"], function["end_line"]) == (13, 16)
    assert function["has_docstring"] is False and function["summary"]
    assert len(function["neighbours"]) == 3
    assert list(function["neighbours"][0]) == ["path", "qualname", "start_line", "similarity"]
    for finding in data["findings"]:
        assert list(finding) == ["code", "rule", "path", "start_line", "end_line", "message", "severity", "confidence",
                                 "region", "replacement"]
    assert data["stats"]["functions"] == 16


@pytest.mark.slow
def test_rescan_of_unchanged_repository_comes_from_the_cache(capsys, repo, tiny_llama, tiny_llama_adapter):
    args = [str(repo), *model_args(tiny_llama, tiny_llama_adapter), "-f", "json", "--fail-on", "never"]
    first = json.loads(scan(capsys, *args)[1])["stats"]
    second = json.loads(scan(capsys, *args)[1])["stats"]
    assert first["cache_hits"] == 0 and first["computed"] == first["unique"] == 16
    assert second["cache_hits"] == second["unique"] == 16 and second["computed"] == 0
    (repo / "shop" / "extra.py").write_text("def double(x):\n    return x * 2\n", encoding="utf-8")
    third = json.loads(scan(capsys, *args)[1])["stats"]
    assert (third["cache_hits"], third["computed"]) == (16, 1)


@pytest.mark.slow
def test_cache_that_cannot_be_written_is_a_warning(capsys, repo, tiny_llama, tiny_llama_adapter, monkeypatch):
    from codelens.cache import ResultCache

    def refuse(self, results, key):
        self._note_once(f"could not store results in the result cache {self.path} (database or disk is full); "
                        "the next scan computes them again")
        return False

    monkeypatch.setattr(ResultCache, "put_many", refuse)
    code, out, err = scan(capsys, str(repo), *model_args(tiny_llama, tiny_llama_adapter), "-f", "json",
                          "--fail-on", "never")
    assert code == 0 and json.loads(out)["stats"]["computed"] == 16  # the scan itself is whole
    assert err.count("could not store results in the result cache") == 1 and "database or disk is full" in err


@pytest.mark.slow
def test_exit_code_follows_fail_on(capsys, repo, tiny_llama, tiny_llama_adapter):
    base = [str(repo), *model_args(tiny_llama, tiny_llama_adapter)]
    # CL300 findings are 'info': they fail only a --fail-on info run.
    code_info, out, _ = scan(capsys, *base, "--fail-on", "info", "--defect-threshold", "1.0", "--clone-threshold", "1.0")
    assert code_info == 1 and "CL300" in out
    code_low, _, _ = scan(capsys, *base, "--fail-on", "low", "--defect-threshold", "1.0", "--clone-threshold", "1.0")
    assert code_low == 0
    code_defects, out, _ = scan(capsys, *base, "--fail-on", "low", "--defect-threshold", "0.0")
    assert code_defects == 1 and "CL100" in out


def test_empty_folder_is_a_warning_not_an_error(capsys, tmp_path):
    code, out, err = scan(capsys, str(tmp_path))
    assert code == 0
    assert "is empty" in err


@pytest.mark.slow
def test_bad_files_are_skipped_with_counted_warnings(capsys, repo, tiny_llama, tiny_llama_adapter):
    (repo / "blob.py").write_bytes(b"\x00\x01\x02binary")
    (repo / "latin.py").write_bytes("def f():\n    return 'caf\xe9'\n".encode("latin-1"))
    (repo / "huge.py").write_text("X = 1\n" * 900_000, encoding="utf-8")
    (repo / "broken.py").write_text("def good():\n    return 1\n\ndef bad(:\n    pass\n", encoding="utf-8")
    (repo / "loop").symlink_to(repo, target_is_directory=True)
    code, out, err = scan(capsys, str(repo), *model_args(tiny_llama, tiny_llama_adapter), "-f", "json",
                          "--all", "--fail-on", "never")
    assert code == 0
    assert "binary" in err and "blob.py" in err
    assert "not-utf8" in err and "latin.py" in err
    assert "too-large" in err and "huge.py" in err
    assert "broken.py: 1 syntax error region(s)" in err
    data = json.loads(out)
    assert any(f["qualname"] == "good" and f["path"] == "broken.py" for f in data["functions"])
    assert data["stats"]["skipped_files"] >= 3


def test_missing_adapter_is_exit_2_with_a_hint(capsys, repo, tiny_llama, tmp_path):
    code, _, err = scan(capsys, str(repo), *model_args(tiny_llama, tmp_path / "nope"))
    assert code == 2
    assert "error:" in err and "hint:" in err


def test_corrupt_adapter_is_exit_2(capsys, repo, tiny_llama, tiny_llama_adapter, tmp_path):
    broken = tmp_path / "broken-adapter"
    shutil.copytree(tiny_llama_adapter, broken)
    (broken / "codelens.json").write_text("{not json", encoding="utf-8")
    code, _, err = scan(capsys, str(repo), *model_args(tiny_llama, broken))
    assert code == 2 and "corrupt" in err


def test_adapter_for_another_base_is_refused(capsys, repo, tiny_qwen2, tiny_llama_adapter):
    code, _, err = scan(capsys, str(repo), *model_args(tiny_qwen2, tiny_llama_adapter))
    assert code == 2 and "was trained on base" in err


def test_unknown_hub_model_offline_fails_fast(capsys, repo, tiny_llama_adapter, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    code, _, err = scan(capsys, str(repo), "--model", "nobody/no-such-model", "--adapter", str(tiny_llama_adapter))
    assert code == 2
    assert time.monotonic() - started < 20
    assert "no-such-model" in err and "--model" in err


def test_missing_path_is_a_usage_error(capsys, tmp_path):
    code, _, err = scan(capsys, str(tmp_path / "absent"))
    assert code == 2 and "does not exist" in err


def test_bad_option_value_is_a_usage_error(capsys, repo):
    code, _, err = scan(capsys, str(repo), "--format", "xml")
    assert code == 2 and "xml" in err and all(name in err for name in ("text", "json", "sarif"))


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["scan", "--help"]])
def test_help_and_version_do_not_import_torch(args):
    probe = (
        "import sys; from codelens.cli.main import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'transformers' not in sys.modules, 'transformers imported'\n"
    )
    env = dict(os.environ, COLUMNS="100")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_a_scan_imports_no_training_code():
    """The whole scan path, the default model's forward and the repair search included, runs without the
    training library (``codelens.train``) or the recipes that built the models (``training``)."""
    probe = (
        "import json, sys; from codelens.cli.main import main\n"
        f"code = main(['scan', {str(EXAMPLE)!r}, '--format', 'json', '--no-cache', '--quiet'])\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] == 'training' or m == 'codelens.train'\n"
        "          or m.startswith('codelens.train.')]\n"
        "print(json.dumps({'code': code, 'training': sorted(loaded)}), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=600)
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert json.loads(result.stdout)["functions"], "the scan found no functions"
    assert report == {"code": report["code"], "training": []} and report["code"] in (0, 1)
