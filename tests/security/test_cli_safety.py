"""The command line never crashes on bad input, names what it skipped, and keeps quiet when asked.

One test per case of the hardening issue (#13, items 3, 4, 12, 13, 18, 19); each failed before the fix.
Usage errors are driven through the installed `codelens` entry point, as a user types them.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codelens.cli.main import main

CODELENS = str(Path(sys.executable).parent / "codelens")
CALC = "def scale(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor)\n    return out\n"


def cli(*args: str, cwd: Path | None = None, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([CODELENS, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, "COLUMNS": "120", **env})


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def models(tiny_llama: Path, adapter: Path) -> list[str]:
    return ["--model", str(tiny_llama), "--adapter", str(adapter), "--summaries", "none"]


@pytest.mark.parametrize("args", [[], ["bogus"], ["scan", ".", "--nonexistent"], ["scan", "--format"],
                                  ["scan", ".", "--neighbours", "abc"], ["scan", ".", "--format", "xml"],
                                  ["train", "--max-steps", "many"]])
def test_usage_errors_exit_2_without_a_traceback(args, tmp_path):
    """Item 3: typer 0.29's own click made every usage error a crash (traceback, exit 3)."""
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "crashed" not in result.stderr
    assert ("Usage:" in result.stderr + result.stdout) or "Error" in result.stderr


def test_dependencies_are_pinned_where_setup_installs_them():
    """Item 3: set-up and CI install every package at the version in constraints.txt."""
    root = Path(__file__).resolve().parents[2]
    setup = (root / "scripts" / "setup.sh").read_text()
    assert setup.count("-c constraints.txt") == 3
    pins = {line.split("==")[0].lower() for line in (root / "constraints.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")}
    assert {"typer", "click", "rich", "torch", "transformers", "peft", "tree-sitter", "numpy", "pip"} <= pins


def test_rich_markup_in_user_text_is_printed_as_it_is(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 4: `# codelens: ignore[/]`, a folder named `x[` and a path argument `a[/]b` crashed the CLI."""
    repo = tmp_path / "repo"
    (repo / "x[").mkdir(parents=True)
    (repo / "x[" / "calc.py").write_text(CALC.replace("def scale", "# codelens: ignore[/]\ndef scale"))
    (repo / "other.py").write_text(CALC.replace("scale", "other").replace("    out = []", "    # codelens: ignore[clone]\n    out = []"))
    code, out, err = run(capsys, "scan", str(repo), "--no-cache", *models(tiny_llama, tiny_llama_adapter))
    assert code in (0, 1)
    assert "x[/calc.py" in out + err and "'codelens: ignore[/]'" in err
    code, _, err = run(capsys, "scan", str(tmp_path / "a[/]b"))
    assert code == 2 and "a[/]b does not exist" in err  # a usage error, not the findings code 1


@pytest.mark.slow
def test_sigterm_stores_what_was_computed_and_exits_143(tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 12: SIGTERM (CI cancellation, `timeout`) saved nothing; now it unwinds like Ctrl-C."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for f in range(30):
        (repo / f"m{f}.py").write_text("".join(CALC.replace("scale", f"scale_{f}_{i}").replace("v * factor", f"v * {i}")
                                               for i in range(40)))
    process = subprocess.Popen([CODELENS, "scan", str(repo), "--model", str(tiny_llama), "--adapter",
                                str(tiny_llama_adapter), "--summaries", "all", "--token-budget", "256", "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    cache = repo / ".codelens-cache" / "results.sqlite"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)
        if cache.is_file() and _rows(cache) > 0:
            break  # the engine is storing results: stop it midway
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "terminated" in err and "Traceback" not in err
    assert _rows(cache) > 0
    assert sqlite3.connect(cache).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _rows(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM results").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_files_named_on_the_command_line_are_never_dropped_silently(capsys, tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 13: missing files and files outside the root were dropped silently, with exit 0."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    (tmp_path / "elsewhere.py").write_text(CALC)
    code, _, err = run(capsys, "scan", str(repo), str(repo / "missing.py"), *models(tiny_llama, tiny_llama_adapter))
    assert code == 2 and "missing.py" in err and "none of the files named can be scanned" in err
    code, out, err = run(capsys, "scan", str(repo), str(repo / "calc.py"), str(repo / "missing.py"),
                         str(tmp_path / "elsewhere.py"), "--format", "json", "--all",
                         *models(tiny_llama, tiny_llama_adapter))
    assert code in (0, 1) and [f["path"] for f in json.loads(out)["functions"]] == ["calc.py"]
    assert "missing.py: no such file" in err and "elsewhere.py: outside the scan root" in err


@pytest.mark.slow
def test_quiet_is_quiet_and_help_keeps_its_brackets(tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 18: transformers' "Token indices sequence length" reached the terminal under -q; `scan --help`
    showed "Ignore  / codelens.toml." (rich ate [tool.codelens]); so did an unknown config key's message."""
    repo = tmp_path / "repo"
    repo.mkdir()
    long_body = "def long(values):\n" + "".join(f"    values.append({i} * {i} + {i})\n" for i in range(900))
    (repo / "long.py").write_text(long_body + "    return values\n")
    result = cli("scan", str(repo), "-q", "--no-cache", *models(tiny_llama, tiny_llama_adapter))
    assert result.returncode in (0, 1) and result.stderr == "", result.stderr
    assert "[tool.codelens]" in cli("scan", "--help").stdout
    (repo / "codelens.toml").write_text("colour = true\n")
    result = cli("scan", str(repo))
    assert result.returncode == 2 and "unknown setting 'colour' in [tool.codelens]" in result.stderr


def test_the_model_load_is_a_labelled_stage(tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 18: the progress bar sat at 0/N with no label while the model loaded."""
    from codelens.config import ScanConfig
    from codelens.scan import run_scan

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    seen = []
    # server off: a background server left by another test would score the functions, and nothing loads here
    config = ScanConfig(model=str(tiny_llama), adapter=str(tiny_llama_adapter), summaries="none", cache=False,
                        server="off")
    run_scan(repo, config, progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = [stage for stage, _, _ in seen]
    assert ("loading model", 0, 1) in seen and ("loading model", 1, 1) in seen
    assert stages.index("loading model") < max(i for i, s in enumerate(stages) if s == "analysing")


@pytest.mark.slow
def test_a_fully_cached_rescan_imports_neither_torch_nor_transformers(tmp_path, tiny_llama, tiny_llama_adapter):
    """Item 19: a warm re-scan imported torch (about 1 s of its 1.9 s on examples/shop)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    args = ["scan", str(repo), *models(tiny_llama, tiny_llama_adapter), "-q"]
    assert cli(*args).returncode in (0, 1)  # fills the cache
    probe = ("import sys; from codelens.cli.main import main\n"
             f"code = main({args!r})\n"
             "print('exit', code, 'torch', 'torch' in sys.modules, 'transformers', 'transformers' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.split()[-4:] == ["torch", "False", "transformers", "False"], result.stdout + result.stderr
