"""`codelens scan --ray ADDRESS`: the local scan's report from a Ray cluster, and no Ray without the flag.

The slow tests run on a 2-CPU Ray cluster on loopback (the session fixture ``ray_address``).
"""

from __future__ import annotations

import faulthandler
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codelens.cli.main import main
from codelens.config import ScanConfig
from codelens.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"
CALC = ("def scale(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor)\n"
        "    return out\n")
RUN_SPECIFIC = ("elapsed_s", "model_seconds")
"""Stats that are wall times: the one part of a report that may differ between two runs."""
TEST_TIMEOUT_S = 300


@pytest.fixture()
def repo(tmp_path) -> Path:
    """The example shop plus near-copies of one function (clone pairs) in a second package."""
    target = tmp_path / "repo"
    shutil.copytree(EXAMPLE, target)
    (target / "calc").mkdir()
    for f in range(4):
        (target / "calc" / f"m{f}.py").write_text("".join(
            CALC.replace("scale", f"scale_{f}_{i}").replace("v * factor", f"v * {i} + {f}") for i in range(6)))
    return target


def scan(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["scan", *args])
    out, err = capsys.readouterr()
    return code, out, err


def without_wall_times(text: str) -> dict:
    report = json.loads(text)
    for key in RUN_SPECIFIC:
        report["stats"].pop(key)
    return report


# ---------------------------------------------------------------- without Ray running


@pytest.mark.parametrize("address", ["auto", "127.0.0.1:6379", "head.example.org:6379", "ray://10.0.0.5:10001",
                                     "[::1]:6379"])
def test_ray_addresses_that_are_accepted(address):
    assert ScanConfig(ray=address).ray == address


@pytest.mark.parametrize("address", ["", "yes", "127.0.0.1", "host:0", "host:70000", "http://host:6379", "a b:1"])
def test_ray_addresses_that_are_refused(address):
    with pytest.raises(ConfigError, match="is not a Ray cluster address"):
        ScanConfig(ray=address)


def test_the_flag_is_documented(capsys):
    main(["scan", "--help"])
    help_text = capsys.readouterr().out
    assert "--ray" in help_text and "ADDRESS" in help_text


def test_a_bad_address_is_a_usage_error(capsys, tmp_path):
    (tmp_path / "a.py").write_text(CALC)
    code, _, err = scan(capsys, str(tmp_path), "--ray", "somewhere")
    assert code == 2 and "is not a Ray cluster address" in err and "--ray auto" in err


def test_a_repository_cannot_send_its_code_to_a_cluster(tmp_path):
    """`ray` in the scanned repository's config is dropped with a note; the user's own config may set it."""
    from codelens.settings import resolve_config

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".git").mkdir()
    (repo / "codelens.toml").write_text('ray = "10.0.0.5:6379"\nneighbours = 2\n')
    config = resolve_config(repo, {})
    assert config.ray is None and config.neighbours == 2
    assert any("ray ignored" in note and "command line" in note for note in config.notes)
    assert resolve_config(repo, {"ray": "auto"}).ray == "auto"


def test_the_users_own_config_may_name_a_cluster(tmp_path, monkeypatch):
    from codelens.settings import resolve_config

    user = tmp_path / "user.toml"
    user.write_text('ray = "auto"\n')
    monkeypatch.setenv("CODELENS_CONFIG", str(user))
    repo = tmp_path / "repo"
    repo.mkdir()
    assert resolve_config(repo, {}).ray == "auto"


@pytest.mark.slow
def test_a_scan_without_the_flag_never_imports_ray(tmp_path, tiny_llama, tiny_llama_adapter):
    (tmp_path / "a.py").write_text(CALC)
    program = ("import sys\nfrom codelens.cli.main import main\n"
               f"code = main(['scan', {str(tmp_path)!r}, '--model', {str(tiny_llama)!r}, '--adapter', "
               f"{str(tiny_llama_adapter)!r}, '--quiet', '--no-cache', '--format', 'json'])\n"
               "assert code in (0, 1), code\n"
               "assert not [m for m in sys.modules if m == 'ray' or m.startswith('ray.')], 'ray was imported'\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


# ---------------------------------------------------------------- on a Ray cluster


@pytest.fixture
def bounded():
    faulthandler.dump_traceback_later(TEST_TIMEOUT_S, exit=True, file=sys.__stderr__)  # capsys swaps sys.stderr
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.mark.slow
def test_a_ray_scan_reports_exactly_what_a_local_scan_does(capsys, repo, tiny_llama, tiny_llama_adapter,
                                                            ray_address, monkeypatch, bounded):
    """The same batches, precision and thread count on both sides. One thread: with two, CPU kernels do not
    reduce in a fixed order, and even two local scans can differ in a last printed digit."""
    args = [str(repo), "--model", str(tiny_llama), "--adapter", str(tiny_llama_adapter), "--dtype", "float32",
            "--format", "json", "--all", "--neighbours", "3", "--fail-on", "never", "--no-cache", "--no-config",
            "--jobs", "1"]
    local_code, local, _ = scan(capsys, *args)

    def refuse(*a, **k):
        raise AssertionError("a --ray scan loaded the model's weights in the scanning process")

    monkeypatch.setattr("codelens.model.loading._load_resolved", refuse)
    ray_code, remote, err = scan(capsys, *args, "--ray", ray_address)
    assert ray_code == local_code == 0, err
    assert without_wall_times(remote) == without_wall_times(local)
    report = json.loads(remote)
    assert report["stats"]["computed"] == report["stats"]["unique"] > 30 and report["clones"]
    assert report["stats"]["summaries_generated"] > 0
    assert "Traceback" not in err


@pytest.mark.slow
def test_results_a_cluster_stored_serve_a_local_scan_and_a_warm_scan_needs_no_cluster(
        capsys, repo, tiny_llama, tiny_llama_adapter, ray_address, bounded):
    args = [str(repo), "--model", str(tiny_llama), "--adapter", str(tiny_llama_adapter), "--dtype", "float32",
            "--format", "json", "--all", "--fail-on", "never", "--no-config"]
    code, cold, err = scan(capsys, *args, "--ray", ray_address)
    assert code == 0, err
    # Nothing listens on the discard port: a scan answered by the cache never reaches for the cluster.
    code, warm, err = scan(capsys, *args, "--ray", "127.0.0.1:9")
    assert code == 0, err
    assert json.loads(warm)["stats"]["computed"] == 0
    code, local, err = scan(capsys, *args)
    assert code == 0, err
    stats = json.loads(local)["stats"]
    assert stats["computed"] == 0 and stats["cache_hits"] == json.loads(cold)["stats"]["unique"]
    assert without_wall_times(local)["functions"] == without_wall_times(cold)["functions"]
