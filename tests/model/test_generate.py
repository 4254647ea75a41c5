"""Greedy continuation from a prefill's cache must equal transformers' own greedy generate()."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from codelens.model.generate import (
    first_line,
    generate_first_lines,
    greedy_continue,
    output_cache,
    stop_token_ids,
)
from codelens.model.prompt import pad_left

PROMPTS = [
    "def add(a, b):\n    return a + b\n# summary:",
    "x = 1",
    "function clamp(value, low, high) {\n    if (value < low) {\n        return low;\n    }\n}\n# summary:",
]


def _load(folder):
    return AutoModelForCausalLM.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)


def _prefill(model, tokenizer, texts):
    ids, mask, positions = pad_left([tokenizer.encode(t) for t in texts], tokenizer.pad_token_id)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1)
    return ids, mask, out


def _hf_new_tokens(model, tokenizer, ids, mask, stops, max_new_tokens):
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False,
                         eos_token_id=sorted(stops), pad_token_id=tokenizer.pad_token_id)
    rows = []
    for row in out[:, ids.shape[1]:].tolist():
        kept = []
        for token in row:
            kept.append(token)
            if token in stops:
                break  # generate() pads finished rows; only the tokens up to the stop are real
        rows.append(kept)
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["llama", "qwen2", "starcoder2"])
def test_matches_hf_generate_on_left_padded_batch(arch, request):
    model, tokenizer = _load(request.getfixturevalue(f"tiny_{arch}"))
    with torch.inference_mode():
        ids, mask, _ = _prefill(model, tokenizer, PROMPTS)
        free = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=12, do_sample=False,
                              eos_token_id=None, pad_token_id=tokenizer.pad_token_id)[:, ids.shape[1]:]
        # Stop tokens taken from an unconstrained run, so that rows stop at different steps.
        stops = frozenset({int(free[0, 2]), int(free[1, 6])})
        ids, mask, out = _prefill(model, tokenizer, PROMPTS)
        ours = greedy_continue(model, output_cache(out), out.logits[:, -1], mask, stops, 12)
        theirs = _hf_new_tokens(model, tokenizer, ids, mask, stops, 12)
    assert ours == theirs
    assert len(ours[0]) <= 3 and ours[0][-1] in stops
    assert len(ours[1]) <= 7 and ours[1][-1] in stops
    assert all(len(row) <= 12 for row in ours)


def test_zero_tokens(tiny_llama):
    model, tokenizer = _load(tiny_llama)
    with torch.inference_mode():
        _, mask, out = _prefill(model, tokenizer, PROMPTS[:2])
        assert greedy_continue(model, output_cache(out), out.logits[:, -1], mask, frozenset(), 0) == [[], []]


def test_stop_tokens_are_eos_and_every_newline_token(tiny_llama):
    _, tokenizer = _load(tiny_llama)
    stops = stop_token_ids(tokenizer)
    assert tokenizer.eos_token_id in stops
    assert tokenizer.encode("\n")[0] in stops
    for token in stops - {tokenizer.eos_token_id}:
        assert "\n" in tokenizer.decode([token])
    assert tokenizer.encode("def")[0] not in stops


def test_first_line(tiny_llama):
    _, tokenizer = _load(tiny_llama)
    ids = tokenizer.encode(" Return the sum of two numbers.\n    more") + [tokenizer.eos_token_id]
    assert first_line(tokenizer, ids) == "Return the sum of two numbers."
    assert first_line(tokenizer, [tokenizer.eos_token_id]) == ""


def test_generate_first_lines_agrees_with_greedy_continue(tiny_qwen2):
    model, tokenizer = _load(tiny_qwen2)
    stops = stop_token_ids(tokenizer)
    with torch.inference_mode():
        _, mask, out = _prefill(model, tokenizer, PROMPTS)
        expected = [first_line(tokenizer, row)
                    for row in greedy_continue(model, output_cache(out), out.logits[:, -1], mask, stops, 8)]
    assert generate_first_lines(model, tokenizer, [tokenizer.encode(t) for t in PROMPTS], 8) == expected
