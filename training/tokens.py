"""Pretraining data: the tokenizer and the uint16 token files, and the batches read from them.

``prepare_data`` turns the corpus into ``train.bin`` / ``val.bin`` / ``test.bin`` once (every file one document,
``<|bos|> text <|eos|>``, documents back to back, so every window is full: no padding). ``TokenBatches`` cuts
random windows from a token file; batch ``i`` depends only on (seed, i), so a run can prepare batches ahead in
a worker thread and still resume exactly: its state is the index of the next batch the step will take.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from pathlib import Path


def prepare_data(cfg, packages=None) -> Path:
    """Train the tokenizer and write train.bin / val.bin / test.bin (uint16) under cfg.data_dir, once.

    ``cfg`` is a PretrainConfig; ``packages`` (CorpusPackage list) replaces the machine's corpus, e.g. in tests.
    """
    import numpy as np

    from training.corpus import collect_corpus, write_manifest
    from training.tokenizer import save_tokenizer, train_tokenizer, training_texts

    data = Path(cfg.data_dir)
    meta_path = data / "meta.json"
    want = {"vocab_size": cfg.vocab_size, "max_package_mb": cfg.max_package_mb, "site_packages": cfg.site_packages,
            "tokenizer": cfg.tokenizer}
    if meta_path.exists() and {k: v for k, v in json.loads(meta_path.read_text()).items() if k in want} == want:
        return data
    data.mkdir(parents=True, exist_ok=True)
    if packages is None:
        packages = collect_corpus([Path(p) for p in cfg.site_packages.split(os.pathsep) if p])
    if cfg.tokenizer:
        from transformers import AutoTokenizer

        from training.tokenizer import make_portable

        AutoTokenizer.from_pretrained(cfg.tokenizer).save_pretrained(str(data / "tokenizer"))
        make_portable(data / "tokenizer")
    else:
        save_tokenizer(train_tokenizer(training_texts(packages), cfg.vocab_size), data / "tokenizer")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(data / "tokenizer"))
    counts, sizes, per_package = {}, {}, {}
    cap = int(cfg.max_package_mb * 1e6) if cfg.max_package_mb > 0 else None
    for split in ("train", "val", "test"):
        tmp = data / f"{split}.bin.tmp"
        size, n_tokens = 0, 0
        with tmp.open("wb") as sink:  # package by package: the corpus need not fit in memory as tokens
            for p in packages:
                if p.split != split:
                    continue
                texts, used = [], 0
                for f in p.files:
                    if cap is not None and used >= cap:
                        break
                    try:
                        texts.append(f.read_text(encoding="utf-8"))
                    except (OSError, UnicodeDecodeError):
                        continue
                    used += len(texts[-1].encode("utf-8"))
                size += used
                encoded = tok(texts, add_special_tokens=False, verbose=False)["input_ids"] if texts else []
                per_package[p.name] = sum(len(ids) for ids in encoded)
                for ids in encoded:
                    row = np.asarray([tok.bos_token_id, *ids, tok.eos_token_id], dtype=np.uint16)
                    row.tofile(sink)
                    n_tokens += row.size
        os.replace(tmp, data / f"{split}.bin")
        counts[split], sizes[split] = n_tokens, size
    # The manifest records each package's tokens too (the card's data table); bytes per token of the held-out
    # text turn a validation loss into bits per byte, comparable across tokenizers.
    write_manifest(packages, data / "manifest.json", tokens=per_package)
    meta_path.write_text(json.dumps({**want, "tokens": counts, "bytes": sizes}, indent=1) + "\n")
    return data


class TokenBatches:
    """Random ``seq_len + 1`` windows of a uint16 token file, ``batch_size`` per batch.

    Batch ``i`` is drawn from ``default_rng([seed, i])``: the stream is the same whether batches are made one
    by one or ahead in a thread, and ``next_index`` is all a checkpoint needs to continue it exactly.
    """

    def __init__(self, path: Path, seq_len: int, batch_size: int, seed: int, next_index: int = 0,
                 ahead: int = 0) -> None:
        import numpy as np

        self.tokens = np.memmap(path, dtype=np.uint16, mode="r")
        if len(self.tokens) <= seq_len + 1:
            from codelens.errors import ConfigError

            raise ConfigError(f"{path} holds {len(self.tokens)} tokens, fewer than one window of {seq_len + 1}",
                              hint="add code to the corpus or use a smaller --seq-len")
        self.seq_len, self.batch_size, self.seed = seq_len, batch_size, seed
        self.next_index = next_index
        self._queue: queue.Queue | None = None
        if ahead > 0:
            self._queue = queue.Queue(maxsize=ahead)
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._fill, args=(next_index,), daemon=True)
            self._thread.start()

    def make(self, index: int):
        """Batch ``index``: (inputs, targets), int64 tensors of shape (batch_size, seq_len)."""
        import numpy as np
        import torch

        rng = np.random.default_rng([self.seed, index])
        starts = rng.integers(0, len(self.tokens) - self.seq_len - 1, size=self.batch_size)
        rows = np.stack([self.tokens[s : s + self.seq_len + 1] for s in starts]).astype(np.int64)
        t = torch.from_numpy(rows)
        return t[:, :-1], t[:, 1:]

    def _fill(self, index: int) -> None:
        while not self._stop.is_set():
            batch = self.make(index)
            while not self._stop.is_set():
                try:
                    self._queue.put((index, batch), timeout=0.2)
                    break
                except queue.Full:
                    continue
            index += 1

    def next(self):
        """The next batch of the stream (from the worker thread when one runs)."""
        if self._queue is None:
            batch = self.make(self.next_index)
        else:
            index, batch = self._queue.get()
            assert index == self.next_index  # one consumer: the stream cannot skip
        self.next_index += 1
        return batch

    def close(self) -> None:
        if self._queue is not None:
            self._stop.set()
            self._thread.join(timeout=5)
