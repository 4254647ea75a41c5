"""Independently written clone positives: the three kinds, copies left out, negatives, split discipline."""

from __future__ import annotations

from collections import Counter

import pytest

from codelens.train.data.functions import collect_functions, load_manifest, repositories
from codelens.train.data.independent import class_bases, mine_independent, normalised_sentence
from tests.train.data.independent_corpus import build_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = build_corpus(tmp_path_factory.mktemp("independent"))
    repos = repositories([root], "subdir", load_manifest(root / "manifest.json"))
    functions, skipped = collect_functions(repos)
    assert skipped == 0
    return repos, functions


def members(data, split: str) -> dict[str, list[tuple[str, str]]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for c in data.clones:
        if c.split == split:
            groups.setdefault(c.kind, []).append((c.repo, c.name))
    return groups


def test_overrides_of_one_method_form_a_class_without_the_abstract_stub(corpus):
    repos, functions = corpus
    data = mine_independent(functions, repos)
    assert members(data, "test")["override"] == [
        ("shapes-t", "Circle.area"), ("shapes-t", "Square.area"), ("shapes-t", "Ring.area")]
    assert ("shapes-t", "Shape.area") not in {(c.repo, c.name) for c in data.clones + data.distractors}


def test_same_name_and_description_across_repositories_copies_left_out(corpus):
    repos, functions = corpus
    data = mine_independent(functions, repos)
    # clock-copy-t's parse_duration is clock-t's renamed: one of the two stands for both, and the other is
    # never used as a negative either.
    assert members(data, "test")["same-name-docstring"] == [
        ("clock-copy-t", "parse_duration"), ("timing-t", "parse_duration")]
    assert ("clock-t", "parse_duration") not in {(c.repo, c.name) for c in data.distractors}


def test_cross_modal_pairs_are_bodies_and_first_sentences(corpus):
    repos, functions = corpus
    data = mine_independent(functions, repos)
    by_origin = {d.origin: d for d in data.docstrings}
    circle = by_origin["shapes-t:shapes.py:Circle.area"]
    assert circle.summary == "Return the area of the circle." and '"""' not in circle.code
    assert circle.code.startswith("def area(self):") and circle.split == "test"
    assert {d.split for d in data.docstrings} == {"train", "val", "test"}


def test_pairs_and_distractors(corpus):
    repos, functions = corpus
    data = mine_independent(functions, repos)
    test_pairs = [p for p in data.pairs if p.split == "test"]
    assert Counter((p.kind, p.label) for p in test_pairs) == {
        ("override", 1): 2, ("same-name-docstring", 1): 1, ("hard-negative", 0): 2, ("random-negative", 0): 1}
    hard = next(p for p in test_pairs if p.kind == "hard-negative" and p.a.startswith("def parse_duration"))
    assert hard.b.startswith("def parse_date(value)")  # same file, the most similar name
    clone_codes = {c.code for c in data.clones}
    assert all(d.code not in clone_codes for d in data.distractors)
    assert {d.group for d in data.distractors}.isdisjoint({c.group for c in data.clones})


def test_nothing_crosses_a_split_and_test_repositories_stay_apart(corpus):
    repos, functions = corpus
    data = mine_independent(functions, repos)
    split_of = {r.name: r.split for r in repos}
    for item in data.clones + data.distractors:
        assert split_of[item.repo] == item.split
    by_group: dict[str, set[str]] = {}
    for c in data.clones:
        by_group.setdefault(c.group, set()).add(split_of[c.repo])
    assert all(len(splits) == 1 for splits in by_group.values())
    # The train repository's parse_duration has the same name and description, but another split.
    assert "timing-train" not in {c.repo for c in data.clones}
    codes = {"test": set(), "val": set(), "train": set()}
    for p in data.pairs:
        codes[p.split].update((p.a, p.b))
    assert not codes["test"] & (codes["val"] | codes["train"])


def test_mining_is_deterministic_and_needs_repositories_only_for_overrides(corpus):
    repos, functions = corpus
    assert mine_independent(functions, repos, seed=3) == mine_independent(list(functions), repos, seed=3)
    without = mine_independent(functions)
    assert {c.kind for c in without.clones} == {"same-name-docstring"}


def test_class_bases_and_normalised_sentences():
    text = ("class A(base.Thing, Generic[T], metaclass=Meta):\n    class Inner(A):\n        pass\n"
            "if True:\n    class B(A):\n        pass\n")
    assert class_bases(text) == {"A": ("Thing", "Generic"), "A.Inner": ("A",), "B": ("A",)}
    assert normalised_sentence("Parse the `value` into seconds.\n\nMore.") == "parse the value into seconds"
    assert normalised_sentence("Return it.") is None  # too few words to describe anything
