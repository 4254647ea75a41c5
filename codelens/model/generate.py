"""Batched greedy decoding of one-line summaries, continuing from a prefill's KV cache.

The engine runs each prompt once (for the pooled state the heads read) and keeps that forward's cache;
summaries continue from it, so the prompt is never run twice. Rows stop independently at a newline
token, at EOS, or after ``max_new_tokens``; the result equals ``model.generate(do_sample=False)`` with
those stop tokens, on a left-padded batch.
"""

from __future__ import annotations

import inspect
from functools import lru_cache


@lru_cache(maxsize=8)
def stop_token_ids(tokenizer) -> frozenset[int]:
    """Ids of EOS and of every token whose text contains a newline (BPE merges newlines with indentation)."""
    size = len(tokenizer)
    texts = tokenizer.batch_decode([[i] for i in range(size)], skip_special_tokens=False)
    ids = {i for i, text in enumerate(texts) if "\n" in text}
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return frozenset(ids)


def decoder_of(model):
    """(causal LM, its transformer body) of a model that may be wrapped by peft.

    Calling the body runs with the adapter active (merged into the weights, or peft's layers injected
    into the wrapped model's modules) while skipping the vocabulary projection over every position.
    """
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    return lm, getattr(lm, lm.base_model_prefix)


def cache_kwarg(model) -> str:
    """Name of the forward argument that takes the KV cache: ``cache`` in transformers >= 5.24, else the old one."""
    # A PeftModel's forward passes **kwargs through: ask the wrapped transformers model.
    inner, _ = decoder_of(model)
    params = inspect.signature(inner.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def output_cache(output):
    """The KV cache a forward returned, under either name."""
    return output["cache"] if "cache" in output else output["past_key_values"]


def greedy_continue(model, cache, next_logits, attention_mask, stop_ids: frozenset[int],
                    max_new_tokens: int, no_repeat_ngram: int = 0, with_scores: bool = False):
    """Greedily extend every row of a prefilled, left-padded batch; the new ids per row, stop token included.

    model:           the causal LM the cache came from (logits over the vocabulary)
    cache:           the KV cache returned by the prefill forward (extended in place)
    next_logits:     (batch, vocab) logits at the last prompt position
    attention_mask:  (batch, prompt_len) mask of the prefill, 1 for real tokens
    no_repeat_ngram: n > 0 bans a token that would repeat an n-gram of the row's own continuation (a
                     summary cannot loop "of the given value of the given value ...")
    with_scores:     also return each row's mean log-probability of the tokens it chose (a confidence)
    """
    import torch

    batch = next_logits.shape[0]
    device = next_logits.device
    name = cache_kwarg(model)
    stops = torch.tensor(sorted(stop_ids), dtype=torch.long, device=device)
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    mask = attention_mask.to(device)
    tokens: list[torch.Tensor] = []
    chosen: list[list[int]] = [[] for _ in range(batch)]
    logprob_sum = torch.zeros(batch, device=device)
    counted = torch.zeros(batch, device=device)
    for step in range(max_new_tokens):
        if no_repeat_ngram > 0 and step >= no_repeat_ngram - 1:
            next_logits = _ban_repeats(next_logits, chosen, no_repeat_ngram)
        logprobs = torch.log_softmax(next_logits.float(), dim=-1)
        token = next_logits.argmax(dim=-1)
        live = (~done).float()
        logprob_sum += logprobs.gather(1, token[:, None]).squeeze(1) * live
        counted += live
        tokens.append(torch.where(done, torch.full_like(token, -1), token))
        for row, t in enumerate(token.tolist()):
            chosen[row].append(t)
        done = done | torch.isin(token, stops)
        if bool(done.all()) or step == max_new_tokens - 1:
            break
        mask = torch.cat([mask, torch.ones((batch, 1), dtype=mask.dtype, device=device)], dim=1)
        # Position of the new token = number of real tokens before it, as in generate() with left padding.
        positions = (mask.sum(dim=1, keepdim=True) - 1).long()
        out = model(input_ids=token[:, None], attention_mask=mask, position_ids=positions, use_cache=True,
                    **{name: cache})
        cache = output_cache(out)
        next_logits = out.logits[:, -1, :]
    if not tokens:
        ids: list[list[int]] = [[] for _ in range(batch)]
    else:
        grid = torch.stack(tokens, dim=1).tolist()
        ids = [[t for t in row if t >= 0] for row in grid]
    if not with_scores:
        return ids
    return ids, (logprob_sum / counted.clamp(min=1)).tolist()


def _ban_repeats(logits, histories: list[list[int]], n: int):
    """``logits`` with -inf on every token that would end an n-gram its row has produced already."""
    banned = []
    for row, history in enumerate(histories):
        if len(history) < n - 1:
            continue
        prefix = tuple(history[len(history) - n + 1:])
        for i in range(len(history) - n + 1):
            if tuple(history[i:i + n - 1]) == prefix:
                banned.append((row, history[i + n - 1]))
    if not banned:
        return logits
    logits = logits.clone()
    rows, cols = zip(*banned)
    logits[list(rows), list(cols)] = float("-inf")
    return logits


def first_line(tokenizer, ids: list[int]) -> str:
    """The generated text up to its first newline, without special tokens, stripped."""
    text = tokenizer.decode(ids, skip_special_tokens=True)
    return text.split("\n", 1)[0].strip()


def generate_first_lines(model, tokenizer, prompts: list[list[int]], max_new_tokens: int) -> list[str]:
    """Prefill ``prompts`` (token ids) as one left-padded batch and greedily generate each one's first line.

    For callers with no prefill of their own (evaluation); the engine uses greedy_continue directly.
    """
    import torch

    from codelens.model.prompt import pad_left

    device = next(model.parameters()).device
    input_ids, mask, positions = (t.to(device) for t in pad_left(prompts, tokenizer.pad_token_id))
    with torch.inference_mode():
        out = model(input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1)
        ids = greedy_continue(model, output_cache(out), out.logits[:, -1, :], mask, stop_token_ids(tokenizer),
                              max_new_tokens)
    return [first_line(tokenizer, row) for row in ids]
