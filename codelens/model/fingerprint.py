"""A base model's fingerprint: architecture, tokenizer and a sample of its weights.

An adapter records the fingerprint of the base it was trained on; loading it onto a base with another
fingerprint is refused. The weight sample is the first rows of the input embedding, rounded to bf16,
so the same weights give the same fingerprint whether they were loaded in fp32, bf16, int8 or NF4
(bitsandbytes leaves embeddings unquantised).
"""

from __future__ import annotations

import hashlib
import json

_CONFIG_KEYS = (
    "model_type",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "intermediate_size",
    "vocab_size",
)


def base_fingerprint(model, tokenizer) -> str:
    """sha256 (first 16 hex digits) over config essentials, the tokenizer vocabulary and a weight sample."""
    import torch

    config = model.config.to_dict()
    h = hashlib.sha256()
    h.update(json.dumps({k: config.get(k) for k in _CONFIG_KEYS}, sort_keys=True).encode())
    vocab = tokenizer.get_vocab()
    h.update(json.dumps(sorted(vocab.items()), ensure_ascii=False).encode("utf-8"))
    emb = model.get_input_embeddings().weight
    sample = emb[:64, :64].detach().float().cpu().to(torch.bfloat16).view(torch.int16)
    h.update(sample.numpy().tobytes())
    return h.hexdigest()[:16]
