"""Corpus folders -> repositories (split by repository) -> functions, cut by codelens' own extractor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codelens.errors import ConfigError
from codelens.train.data.functions import body_of, collect_functions, load_manifest, repositories, split_of

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"
MANIFEST = CORPUS / "splits.json"


def test_split_of_is_a_deterministic_80_10_10_hash_split():
    names = [f"repo-{i}" for i in range(2000)]
    splits = [split_of(n) for n in names]
    assert splits == [split_of(n) for n in names]
    shares = {s: splits.count(s) / len(splits) for s in ("train", "val", "test")}
    assert 0.76 < shares["train"] < 0.84 and 0.07 < shares["val"] < 0.13 and 0.07 < shares["test"] < 0.13


def test_subdir_mode_with_a_manifest():
    repos = repositories([CORPUS], "subdir", load_manifest(MANIFEST))
    assert [(r.name, r.split) for r in repos] == [
        ("gridlib", "val"), ("ledger", "test"), ("numtools", "train"), ("seqtools", "train"), ("textkit", "train")]


def test_dir_mode_makes_each_folder_one_repository(tmp_path):
    (tmp_path / "alpha").mkdir()
    repos = repositories([tmp_path / "alpha", CORPUS / "ledger"], "dir", {"alpha": "test"})
    assert [(r.name, r.split) for r in repos] == [("alpha", "test"), ("ledger", split_of("ledger"))]


def test_manifest_accepts_aliases_and_rejects_nonsense(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"a": "valid", "b": "TEST", "c": "dev"}))
    assert load_manifest(path) == {"a": "val", "b": "test", "c": "val"}
    path.write_text(json.dumps({"a": "holdout"}))
    with pytest.raises(ConfigError, match="holdout"):
        load_manifest(path)
    path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="not a JSON object"):
        load_manifest(path)
    with pytest.raises(ConfigError, match="does not exist"):
        repositories([tmp_path / "missing"])
    with pytest.raises(ConfigError, match="split-by"):
        repositories([tmp_path], "files")


def test_fixture_functions_carry_repo_split_and_indent():
    functions, skipped = collect_functions(repositories([CORPUS], "subdir", load_manifest(MANIFEST)))
    assert skipped == 0
    assert len(functions) == 112
    by_repo = {}
    for fn in functions:
        by_repo.setdefault((fn.repo, fn.split), 0)
        by_repo[(fn.repo, fn.split)] += 1
    assert by_repo == {("gridlib", "val"): 24, ("ledger", "test"): 23, ("numtools", "train"): 19,
                       ("seqtools", "train"): 29, ("textkit", "train"): 17}
    method = next(f for f in functions if f.qualname == "Account.deposit")
    assert method.indent == "    " and method.origin == "ledger:ledger/accounts.py:Account.deposit"
    assert method.docstring == "Add money to the account and return the new balance."
    assert '"""' not in method.body


def test_body_of_gives_the_scanners_body_for_every_fixture_function():
    functions, _ = collect_functions(repositories([CORPUS], "subdir"))
    for fn in functions:
        assert body_of(fn.source, fn.language, fn.indent) == fn.body, fn.origin


def test_exact_duplicates_are_kept_once(tmp_path):
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "m.py").write_text("def f(a):\n    b = a + 1\n    return b\n")
    functions, _ = collect_functions(repositories([tmp_path], "subdir"))
    assert [(f.repo, f.qualname) for f in functions] == [("one", "f")]


def test_two_repositories_of_one_name_are_refused(tmp_path):
    for parent in ("a", "b"):
        (tmp_path / parent / "utils").mkdir(parents=True)
    with pytest.raises(ConfigError, match="two corpus repositories are both named 'utils'") as err:
        repositories([tmp_path / "a", tmp_path / "b"], split_by="subdir")
    assert "rename one of the folders" in err.value.hint


def test_the_same_folder_given_twice_counts_once(tmp_path):
    (tmp_path / "lib").mkdir()
    assert [r.name for r in repositories([tmp_path / "lib", tmp_path / "lib"], split_by="dir")] == ["lib"]
