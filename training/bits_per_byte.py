"""Bits per byte of held-out code: how well a base model predicts text it never saw, comparable across
tokenizers (a model with a larger vocabulary needs fewer, harder tokens for the same bytes).

    bits/byte = (sum over the text of -log2 p(token | tokens before)) / (UTF-8 bytes of the text)

Each file is scored on its own, in windows of ``window`` tokens that start where the previous one ended
(the first token of a window sees none of the previous window: a small penalty every model pays alike).
"""

from __future__ import annotations

import json
import math
from pathlib import Path


def held_out_texts(manifest: Path, packages, max_bytes: int = 2_000_000, split: str = "val") -> list[str]:
    """The texts of the ``split`` packages (in manifest order), up to ``max_bytes`` in all."""
    wanted = [row["name"] for row in json.loads(Path(manifest).read_text()) if row["split"] == split]
    by_name = {p.name.replace("/", "."): p for p in packages} | {p.name: p for p in packages}
    texts, used = [], 0
    for name in wanted:
        package = by_name.get(name) or by_name.get(name.replace("/", "."))
        for path in package.files if package is not None else ():
            if used >= max_bytes:
                return texts
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            texts.append(text)
            used += len(text.encode("utf-8"))
    return texts


def measure(model_dir: Path, texts: list[str], device: str = "cpu", window: int = 512) -> dict:
    """{"bits_per_byte", "bytes", "tokens"} of a base model folder (plain or int8-packed) on ``texts``."""
    import torch

    from codelens.model.loading import load_base

    model, tokenizer = load_base(str(model_dir), device=device, dtype="float32" if device == "cpu" else "bfloat16")
    total_bits, total_bytes, total_tokens = 0.0, 0, 0
    with torch.inference_mode():
        for text in texts:
            ids = tokenizer.encode(text, add_special_tokens=False)
            if tokenizer.bos_token_id is not None:
                ids = [tokenizer.bos_token_id] + ids
            for start in range(0, len(ids) - 1, window):
                chunk = torch.tensor([ids[start:start + window + 1]], device=model.device)
                if chunk.shape[1] < 2:
                    continue
                logits = model(input_ids=chunk[:, :-1]).logits.float()
                nll = torch.nn.functional.cross_entropy(logits[0], chunk[0, 1:], reduction="sum")
                total_bits += float(nll) / math.log(2)
                total_tokens += chunk.shape[1] - 1
            total_bytes += len(text.encode("utf-8"))
    return {"bits_per_byte": round(total_bits / total_bytes, 4) if total_bytes else None, "bytes": total_bytes,
            "tokens": total_tokens}
