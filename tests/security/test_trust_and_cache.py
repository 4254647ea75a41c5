"""What the repository cannot choose: the user's trust flags apply to the user's own model only, and the
result cache inside the repository is codelens's own data, bound to this user and machine.

Issue #23's cases 2 (high) and 8 (medium), one test each; each failed before its fix.
"""

from __future__ import annotations

import json
import shutil
import sqlite3

from codelens.cli.main import main
from tests.security.test_repository_trust import CALC, EVIL_MODULE, make_repo, models


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_case02_the_users_remote_code_trust_does_not_cover_the_repositorys_model(capsys, tmp_path, monkeypatch,
                                                                                tiny_llama, tiny_llama_adapter):
    """High: a user who trusts remote code for their own model (their config, or the command line) also
    trusted the model the repository's config names, and its auto_map module ran."""
    from codelens.settings import resolve_config

    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    shutil.copytree(tiny_llama, repo / ".model")
    shutil.copytree(tiny_llama_adapter, repo / ".adapter")
    config = json.loads((repo / ".model" / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig"}
    (repo / ".model" / "config.json").write_text(json.dumps(config))
    (repo / ".model" / "evil.py").write_text(EVIL_MODULE)
    (repo / "pyproject.toml").write_text('[tool.codelens]\nmodel = ".model"\nadapter = ".adapter"\nsummaries = "none"\n')
    user = tmp_path / "user.toml"
    user.write_text("trust-remote-code = true\n")
    monkeypatch.setenv("CODELENS_CONFIG", str(user))
    for extra in ([], ["--trust-remote-code"]):
        code, _, err = run(capsys, "scan", str(repo), "--no-cache", *extra)
        assert not (repo / ".model" / "PWNED").exists(), "the repository's code ran"
        assert code in (0, 1) and "trust-remote-code not applied" in err, err
    assert resolve_config(repo, {}).trust_remote_code is False
    # the user's own model (named on the command line) keeps the user's trust
    assert resolve_config(repo, {"model": str(tiny_llama)}).trust_remote_code is True


def _functions(report: dict) -> list[dict]:
    return [{k: v for k, v in f.items() if k != "cached"} for f in report["functions"]]


def test_case08_committed_or_forged_cache_rows_are_not_trusted(capsys, tmp_path, monkeypatch, tiny_llama,
                                                              tiny_llama_adapter):
    """Medium: a committed `.codelens-cache` with forged rows was trusted (a forged "CL100 precision 1.00",
    a forged summary that `docstring --write` inserts, hidden findings). Rows carry an HMAC under the user's
    own key: forged rows, and rows from another user's or machine's cache, are misses and are recomputed."""
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, "other.py": CALC.replace("scale", "other")})
    args = ["scan", str(repo), "--format", "json", "--all", "--model", str(tiny_llama), "--adapter",
            str(tiny_llama_adapter), "--summaries", "all", "--dtype", "float32"]
    code, out, _ = run(capsys, *args)
    honest = json.loads(out)
    assert code in (0, 1) and honest["stats"]["computed"] == 2

    cache = repo / ".codelens-cache" / "results.sqlite"
    with sqlite3.connect(cache) as conn:  # forged in place: the MACs no longer match the values
        conn.execute("UPDATE results SET defect_logit = 9.0, defect_probability = 0.9999, summary = 'Forged.'")
    code, out, err = run(capsys, *args)
    again = json.loads(out)
    assert again["stats"]["cache_hits"] == 0 and again["stats"]["computed"] == 2
    assert _functions(again) == _functions(honest) and again["findings"] == honest["findings"]
    assert "rows codelens did not write for you on this machine" in err
    code, out, _ = run(capsys, *args)
    assert json.loads(out)["stats"]["cache_hits"] == 2  # the recomputed rows were stored with their MACs: hits

    # the same cache in another user's (or machine's, or a committed) copy: none of its rows is trusted
    monkeypatch.setenv("CODELENS_CACHE_HOME", str(tmp_path / "another-user"))
    code, out, err = run(capsys, *args)
    assert json.loads(out)["stats"]["cache_hits"] == 0 and "did not write for you" in err
