"""Task-balanced sampling, batch encoding with the runtime's prompt ids, and the learning-rate schedule."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

from codelens.model.adapter_meta import PromptFormat
from codelens.model.prompt import build_prompt_ids, summary_target_ids
from codelens.train.batches import Encoder, TaskSampler, clone_groups, lr_at
from codelens.train.data import ClonePair
from codelens.train.data.dataset import DataConfig, corpus_task_data
from codelens.train.data.functions import load_manifest
from tests.tinymodels import build_tiny_tokenizer

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


@lru_cache(maxsize=1)
def _train():
    cfg = DataConfig(split_by="subdir", manifest=load_manifest(CORPUS / "splits.json"), bugs_per_function=2)
    return corpus_task_data([CORPUS], cfg).split("train")


def test_round_robin_takes_every_task_each_step_and_is_seeded():
    sampler = TaskSampler(_train(), ["defect", "clone", "summary"], 8, seed=0)
    steps = [sampler.next() for _ in range(3)]
    assert [[t for t, _ in step] for step in steps] == [["defect", "clone", "summary"]] * 3
    again = TaskSampler(_train(), ["defect", "clone", "summary"], 8, seed=0)
    assert [again.next() for _ in range(3)] == steps
    assert TaskSampler(_train(), ["defect", "clone", "summary"], 8, seed=1).next() != steps[0]


def test_sampler_state_round_trips():
    sampler = TaskSampler(_train(), ["defect", "clone"], 8, seed=0)
    sampler.next()
    state = sampler.state()
    expected = sampler.next()
    other = TaskSampler(_train(), ["defect", "clone"], 8, seed=5)
    other.set_state([list(x) if isinstance(x, tuple) else x for x in state])  # as read back from a checkpoint
    assert other.next() == expected


def test_temperature_sampling_weights_tasks_by_size():
    sampler = TaskSampler(_train(), ["defect", "clone", "summary"], 4, seed=0, sampling="temperature", temperature=1.0)
    counts = Counter(task for _ in range(300) for task, _ in sampler.next())
    assert sum(counts.values()) == 900
    # Proportional to size at temperature 1: defect examples outnumber clone classes and summaries.
    assert counts["defect"] > counts["clone"] and counts["defect"] > counts["summary"]


def test_defect_batches_pair_a_function_with_its_bug():
    sampler = TaskSampler(_train(), ["defect"], 8, seed=0)
    for _ in range(20):
        batch = dict(sampler.next())["defect"]
        assert len(batch) == 8
        for clean, buggy in zip(batch[::2], batch[1::2]):
            assert (clean.label, buggy.label) == (0, 1) and clean.origin == buggy.origin


def test_clone_batches_are_distinct_classes_with_neighbours_from_the_same_file():
    import dataclasses

    # Classes of data.clone only (a copy: _train() is shared).
    data = dataclasses.replace(_train(), clone_pairs=[p for p in _train().clone_pairs if p.kind != "docstring"])
    sampler = TaskSampler(data, ["clone"], 8, seed=0)
    group_of = {e.code: e.group for e in data.clone}
    path_of = {e.group: e.path for e in data.clone}
    for _ in range(20):
        pairs = dict(sampler.next())["clone"]
        assert len(pairs) == 4
        groups = [group_of[a] for a, _ in pairs]
        assert [group_of[b] for _, b in pairs] == groups and len(set(groups)) == 4
        assert all(a != b for a, b in pairs)
        assert path_of[groups[1]] == path_of[groups[0]]  # the anchor's file-mate: a hard negative


def test_clone_groups_take_positive_benchmark_pairs():
    import dataclasses

    data = dataclasses.replace(_train())  # a copy: _train() is shared
    data.clone_pairs = [ClonePair("x", "y", 1, "bigclonebench", "bigclonebench", "train"),
                        ClonePair("x", "z", 0, "bigclonebench", "bigclonebench", "train")]
    groups = clone_groups(data)
    assert groups["bigclonebench:0"] == ["x", "y"] and "bigclonebench:1" not in groups


def test_clone_groups_hold_independent_classes_and_function_docstring_pairs():
    """Mined independent classes come in once (as classes of data.clone, not again from their pairs), and
    each function <-> docstring pair is a class of two."""
    import dataclasses

    from codelens.train.data import CloneExample, ClonePair
    from codelens.train.data.independent import INDEPENDENT_KINDS

    data = dataclasses.replace(_train(), clone=list(_train().clone), clone_pairs=list(_train().clone_pairs))
    a, b = data.clone[0].code + "\n# a", data.clone[1].code + "\n# b"
    data.clone += [CloneExample(a, "override:train:0", "override", "r", "train", "x.py", "run"),
                   CloneExample(b, "override:train:0", "override", "r", "train", "y.py", "run")]
    data.clone_pairs.append(ClonePair(a, b, 1, "override", "r", "train"))
    groups = clone_groups(data)
    independent = {e.group for e in data.clone if e.kind in INDEPENDENT_KINDS}
    docstring = [p for p in data.clone_pairs if p.kind == "docstring"]
    assert independent == {"override:train:0"} and groups["override:train:0"] == [a, b]
    assert not any(name.startswith(INDEPENDENT_KINDS) for name in groups if name not in independent)
    assert docstring and all(groups[f"docstring:{data.clone_pairs.index(p)}"] == [p.a, p.b] for p in docstring)
    assert all(p.b.startswith('"""') for p in docstring)


def test_encoding_matches_the_runtime_prompt_and_masks_the_prompt(tmp_path):
    tokenizer = build_tiny_tokenizer(tmp_path)
    fmt = PromptFormat(max_code_tokens=64, max_summary_tokens=24)
    data = _train()
    encoder = Encoder(tokenizer, fmt)
    inputs = encoder.encode([("defect", data.defect[:2]), ("summary", data.summary[:1])])
    width = inputs.input_ids.shape[1]
    assert [r.row for r in inputs.defect] == [0, 1]
    assert [r.buggy for r in inputs.defect] == [bool(e.label) for e in data.defect[:2]]
    for row, example in zip(inputs.defect, data.defect[:2]):
        # a buggy row's site tokens cover the injected edit; a clean row has none (the no-bug slot)
        assert bool(row.sites) == bool(example.label)
        if example.label:
            spans = [row.prompt.offsets[i] for i in row.sites]
            assert min(a for a, _ in spans) <= example.site[0] and max(b for _, b in spans) >= example.site[1]
    prompt = build_prompt_ids(tokenizer, data.defect[0].code, fmt)
    assert inputs.input_ids[0, width - len(prompt):].tolist() == prompt
    assert inputs.attention_mask[0].sum() == len(prompt) and (inputs.labels[0] == -100).all()
    target = summary_target_ids(tokenizer, data.summary[0].summary)
    row = inputs.labels[2].tolist()
    assert row[-len(target):] == target and set(row[:-len(target)]) == {-100}
    assert inputs.position_ids[2, -1].item() == inputs.attention_mask[2].sum().item() - 1


def test_learning_rate_schedule():
    assert lr_at(0, 100, 10, 1.0) == pytest.approx(0.1)
    assert lr_at(9, 100, 10, 1.0) == pytest.approx(1.0)
    assert lr_at(10, 100, 10, 1.0) == pytest.approx(1.0)
    assert lr_at(55, 100, 10, 1.0) == pytest.approx(0.55)
    assert lr_at(100, 100, 10, 1.0) == pytest.approx(0.1)


def test_length_chunks_group_similar_rows_and_cover_each_once():
    from codelens.train.batches import length_chunks

    lengths = [300, 40, 290, 35, 50, 310, 45, 120]
    runs = length_chunks(lengths, max_chunks=4, overhead=100)
    assert sorted(r for run in runs for r in run) == list(range(len(lengths)))
    assert runs[0] == [5, 0, 2]  # the three long rows together, longest first
    assert len(runs) <= 4
    # one run when rows are alike: another call would cost more than the padding it saves
    assert length_chunks([100, 99, 98, 100], overhead=2048) == [[0, 3, 1, 2]]
    assert length_chunks([]) == []


def test_decoding_by_length_matches_one_padded_call():
    """Runs of similar length give the states one left-padded call gives, at every real token."""
    import contextlib

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from codelens.model.prompt import pad_left
    from codelens.train.batches import decode_by_length

    torch.manual_seed(0)
    lm = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=2)).eval()
    rows = [list(range(3, 3 + n)) for n in (40, 5, 38, 6, 7, 39)]
    ids, mask, pos = pad_left(rows, 0)
    with torch.no_grad():
        whole = lm.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False).last_hidden_state
        chunked = decode_by_length(lm.model, ids, mask, pos, contextlib.nullcontext())
    real = mask.bool()
    assert chunked.shape == whole.shape
    assert torch.allclose(chunked[real], whole[real], atol=1e-5)
