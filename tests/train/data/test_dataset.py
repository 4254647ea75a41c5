"""Task data from the fixture corpus: seeded, split by repository, balanced, hashable."""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

from codelens.train.data import SPLITS, CloneExample, data_hash
from codelens.train.data.dataset import DataConfig, TaskData, clone_pairs, corpus_task_data, load_task_data
from codelens.train.data.functions import load_manifest

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"
MANIFEST = load_manifest(CORPUS / "splits.json")


@lru_cache(maxsize=None)
def _data(**kw):
    return corpus_task_data([CORPUS], DataConfig(split_by="subdir", manifest=MANIFEST, **kw))


@pytest.mark.slow
def test_same_seed_same_data_other_seed_other_data():
    first, again, other = _data(seed=0), _data(seed=0), _data(seed=1)
    assert first.hash() == again.hash() and first.defect == again.defect
    assert other.hash() != first.hash()
    assert first.hash() == data_hash([*first.defect, *first.clone, *first.clone_pairs, *first.summary])


def test_every_example_stays_in_its_repositorys_split():
    data = _data()
    expected = {"gridlib": "val", "ledger": "test", "numtools": "train", "seqtools": "train", "textkit": "train"}
    for example in [*data.defect, *data.clone, *data.summary]:
        assert example.split == expected[example.repo]
    for pair in data.clone_pairs:
        assert pair.split == expected[pair.repo]
    for split in SPLITS:
        part = data.split(split)
        assert part.defect and part.clone and part.clone_pairs and part.summary
        assert {e.split for e in part.defect} == {split}


def test_defects_are_balanced_per_function_and_point_at_the_bug():
    data = _data(bugs_per_function=3)
    per_origin: dict[str, Counter] = {}
    for example in data.defect:
        per_origin.setdefault(example.origin, Counter())[example.label] += 1
    assert all(c[0] == max(1, c[1]) for c in per_origin.values())
    kinds = Counter(e.kind for e in data.defect if e.label == 1)
    assert len(kinds) >= 7
    clean_by_origin = {e.origin: e.code for e in data.defect if e.kind == "original"}
    for example in data.defect:
        if example.label == 1:
            assert example.code not in clean_by_origin.values()
            assert 1 <= example.line <= example.code.count("\n") + 1
    # A bug made on the original function changes exactly the line it reports.
    for example in (e for e in data.defect if e.label == 1):
        original = clean_by_origin[example.origin].split("\n")
        buggy = example.code.split("\n")
        if len(original) == len(buggy):
            changed = [i + 1 for i, (a, b) in enumerate(zip(original, buggy)) if a != b]
            if len(changed) == 1:
                assert changed == [example.line]


def test_bug_kinds_can_be_restricted():
    data = _data(bug_kinds=("off-by-one",))
    assert {e.kind for e in data.defect if e.label == 1} == {"off-by-one"}


def test_clone_classes_and_pairs():
    data = _data(clone_variants=2, independent=False)
    sizes = Counter(e.group for e in data.clone)
    assert set(sizes.values()) <= {2, 3} and len(sizes) >= 100
    kinds = Counter(p.kind for p in data.clone_pairs)
    assert kinds["hard-negative"] == kinds["random-negative"] == len(sizes)
    assert kinds["transform"] == sum(n - 1 for n in sizes.values())
    members = {}
    for e in data.clone:
        members.setdefault(e.group, set()).add(e.code)
    for pair in data.clone_pairs:
        group_a = next(g for g, m in members.items() if pair.a in m)
        assert (pair.b in members[group_a]) == (pair.label == 1)


def test_clone_pair_negatives_come_from_the_same_file_then_repository_and_are_pinned():
    classes = [("g0", "a", "x.py", "parse_header"), ("g1", "a", "x.py", "parse_body"), ("g2", "a", "y.py", "render"),
               ("g3", "b", "z.py", "other")]
    clones = [CloneExample(f"{g}.{m}", g, "k", repo, "train", path, name)
              for g, repo, path, name in classes for m in range(2)]
    # Pinned draws: the data hash of a corpus, hence resuming and comparing runs, depends on them.
    assert [(p.a, p.b, p.label, p.kind) for p in clone_pairs(clones, 0)] == [
        ("g0.0", "g0.1", 1, "transform"), ("g0.0", "g1.0", 0, "hard-negative"), ("g0.0", "g1.0", 0, "random-negative"),
        ("g1.0", "g1.1", 1, "transform"), ("g1.0", "g0.1", 0, "hard-negative"), ("g1.0", "g3.1", 0, "random-negative"),
        ("g2.0", "g2.1", 1, "transform"), ("g2.0", "g0.1", 0, "hard-negative"), ("g2.0", "g0.1", 0, "random-negative"),
        ("g3.0", "g3.1", 1, "transform"), ("g3.0", "g2.1", 0, "random-negative"),
    ]
    assert [p.kind for p in clone_pairs(clones[:2], 0)] == ["transform"]  # a lone class has no negatives


def test_summaries_are_first_sentences_of_fixture_docstrings():
    data = _data()
    by_origin = {e.origin: e for e in data.summary}
    example = by_origin["numtools:numtools/integers.py:gcd"]
    assert example.summary == "Return the greatest common divisor of two integers."
    assert example.code.startswith("def gcd(a, b):\n    while b != 0:")
    assert "Account.__init__" not in " ".join(by_origin)  # no docstring, no summary


def test_adding_a_repository_leaves_the_others_examples_unchanged(tmp_path):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    extra = tmp_path / "corpus" / "extra"
    extra.mkdir()
    (extra / "m.py").write_text('def double(x):\n    """Double a number."""\n    y = x * 2\n    return y\n')
    cfg = DataConfig(split_by="subdir", manifest=MANIFEST)
    grown = load_task_data([tmp_path / "corpus"], [], cfg)
    base = _data()
    assert [e for e in grown.defect if e.repo != "extra"] == base.defect
    assert grown.provenance["functions"] == base.provenance["functions"] + 1


def test_cached_task_data_builds_once_and_round_trips(tmp_path, monkeypatch):
    from pathlib import Path

    import codelens.train.data.dataset as dataset

    corpus = [Path(__file__).resolve().parents[2] / "fixtures" / "corpus"]
    cfg = dataset.DataConfig(split_by="subdir")
    first = dataset.cached_task_data(corpus, [], cfg, tmp_path)
    calls = []
    monkeypatch.setattr(dataset, "load_task_data", lambda *a: calls.append(a))
    second = dataset.cached_task_data(corpus, [], cfg, tmp_path)
    assert calls == []
    assert second.hash() == first.hash() and second.counts() == first.counts()
    assert second.provenance == first.provenance
    (next(tmp_path.glob("taskdata-*.json.gz"))).write_bytes(b"damaged")
    monkeypatch.setattr(dataset, "load_task_data", lambda *a: first)
    assert dataset.cached_task_data(corpus, [], cfg, tmp_path).hash() == first.hash()


def test_for_tasks_keeps_only_those_tasks_examples():
    data = TaskData(defect=["d"], clone=["c"], clone_pairs=["p"], summary=["s"], provenance={"x": 1})
    only_clone = data.for_tasks(["clone"])
    assert (only_clone.defect, only_clone.clone, only_clone.clone_pairs, only_clone.summary) == ([], ["c"], ["p"], [])
    assert only_clone.provenance == {"x": 1}
    assert data.for_tasks(["defect", "summary"]).counts() == {"defect": 1, "clone": 0, "clone_pairs": 0, "summary": 1}


def test_independent_classes_join_every_split_and_docstring_pairs_only_training(tmp_path):
    from codelens.train.data.functions import load_manifest
    from codelens.train.data.independent import INDEPENDENT_KINDS
    from tests.train.data.independent_corpus import build_corpus

    root = build_corpus(tmp_path)
    cfg = DataConfig(split_by="subdir", manifest=load_manifest(root / "manifest.json"))
    data = corpus_task_data([root], cfg)
    mined = [e for e in data.clone if e.kind in INDEPENDENT_KINDS]
    assert {e.split for e in mined} == {"val", "test"}  # the fixture's train split has one function of each
    assert {e.split for e in data.clone_pairs if e.kind in INDEPENDENT_KINDS} == {"val", "test"}
    docstring = [p for p in data.clone_pairs if p.kind == "docstring"]
    assert docstring and {p.split for p in docstring} == {"train"}
    plain = corpus_task_data([root], dataclasses.replace(cfg, independent=False))
    assert not [e for e in plain.clone if e.kind in INDEPENDENT_KINDS]
    assert not [p for p in plain.clone_pairs if p.kind == "docstring"]


def test_templated_docstrings_make_no_summary_examples():
    from codelens.train.data import SummaryExample
    from codelens.train.data.dataset import drop_templates

    examples = [SummaryExample(f"def f{i}(): pass", "Initialize self." if i < 5 else f"Do thing {i}.", "r",
                               "train", f"r:m:f{i}") for i in range(8)]
    examples.append(SummaryExample("def g(): pass", "initialize SELF", "r", "val", "r:m:g"))
    kept = drop_templates(examples, 5)
    assert [e.summary for e in kept] == ["Do thing 5.", "Do thing 6.", "Do thing 7.", "initialize SELF"]
    assert drop_templates(examples, 6) == examples


def test_rewrites_from_a_capped_share_of_functions_summaries_from_all(tmp_path):
    """rewrite_functions_per_repository bounds the costly bug and clone rewrites; every function with a
    docstring still gives its summary example, and the chosen functions' examples are what they would be
    without the cap."""
    import shutil
    import sysconfig
    from pathlib import Path

    from codelens.train.data.dataset import DataConfig, corpus_task_data

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    corpus = tmp_path / "corpus"
    (corpus / "json").mkdir(parents=True)
    for name in ("__init__.py", "decoder.py", "encoder.py"):
        shutil.copy(stdlib / "json" / name, corpus / "json" / name)
    full = corpus_task_data([corpus], DataConfig(split_by="subdir", manifest={"json": "train"}, independent=False))
    capped = corpus_task_data([corpus], DataConfig(split_by="subdir", manifest={"json": "train"}, independent=False,
                                                   rewrite_functions_per_repository=3))
    assert {e.origin for e in capped.defect} < {e.origin for e in full.defect}
    assert len({e.origin for e in capped.defect}) == 3
    assert [(s.code, s.summary) for s in capped.summary] == [(s.code, s.summary) for s in full.summary]
    chosen = {e.origin for e in capped.defect}
    assert [e for e in full.defect if e.origin in chosen] == capped.defect
    # validation and test repositories have a cap of their own
    held = corpus_task_data([corpus], DataConfig(split_by="subdir", manifest={"json": "val"}, independent=False,
                                                 rewrite_functions_per_repository=3,
                                                 held_out_rewrites_per_repository=1))
    assert len({e.origin for e in held.defect}) == 1


def test_an_evaluation_sample_keeps_whole_functions_and_every_independent_class():
    from codelens.train.data import CloneExample, ClonePair, DefectExample, SummaryExample
    from codelens.train.data.dataset import TaskData

    def fn(origin):
        return ([DefectExample(f"{origin}-clean", 0, "original", None, "r", "val", origin),
                 DefectExample(f"{origin}-bug", 1, "off-by-one", 1, "r", "val", origin, (0, 1), "0")],
                [CloneExample(f"{origin}-clean", origin, "original", "r", "val"),
                 CloneExample(f"{origin}-renamed", origin, "rename", "r", "val")])

    defect, clone = [], []
    for origin in ("a", "b", "c", "d"):
        d, c = fn(origin)
        defect += d
        clone += c
    clone.append(CloneExample("x1", "override:1", "override", "r", "val"))
    pairs = [ClonePair("a-clean", "a-renamed", 1, "transform", "r", "val"),
             ClonePair("b-clean", "c-clean", 0, "random-negative", "r", "val"),
             ClonePair("x1", "d-clean", 0, "hard-negative", "r", "val")]
    data = TaskData(defect, clone, pairs, [SummaryExample("s", "Do it.", "r", "val", "a")])
    assert data.sample_functions(None) is data and data.sample_functions(4) is data
    two = data.sample_functions(2)
    kept = {e.origin for e in two.defect}
    assert len(kept) == 2 and len(two.defect) == 4
    assert {c.group for c in two.clone} == kept | {"override:1"}
    codes = {c.code for c in two.clone}
    assert all(p.a in codes and p.b in codes for p in two.clone_pairs if p.kind != "hard-negative")
    assert two.summary == data.summary
    assert two.sample_functions(2).defect == two.defect  # the same choice every time
