"""The codelens-nano tokenizer: byte-level BPE trained on the corpus train split.

Byte-level means every string round-trips exactly (tabs, indentation, blank lines, any unicode): there is
no normaliser, no unknown token and no clean-up of spaces on decode. The result is saved as a transformers
``PreTrainedTokenizerFast`` folder, loadable with ``AutoTokenizer.from_pretrained(folder)``.

    python -m training.tokenizer --out runs/data/tokenizer --vocab-size 8192
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from pathlib import Path

BOS, EOS, PAD = "<|bos|>", "<|eos|>", "<|pad|>"
SPECIAL_TOKENS = [BOS, EOS, PAD]
"""Ids 0, 1, 2 in this order."""


def train_tokenizer(texts: Iterable[str], vocab_size: int = 8192, min_frequency: int = 2):
    """Train a byte-level BPE ``tokenizers.Tokenizer`` on ``texts``; special tokens get ids 0-2."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    # GPT-2 style split: words keep their leading space, whitespace runs (indentation) stay together.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def to_transformers(tok, model_max_length: int = 2048):
    """Wrap a trained ``tokenizers.Tokenizer`` as a ``PreTrainedTokenizerFast`` with the special tokens set."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,  # would turn "a ." into "a." and break the round trip
        padding_side="right",
    )


def save_tokenizer(tok, folder: Path, model_max_length: int = 2048) -> None:
    """Save as a transformers tokenizer folder (tokenizer.json, tokenizer_config.json, special tokens map)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    to_transformers(tok, model_max_length).save_pretrained(str(folder))
    make_portable(folder)


def make_portable(folder: Path) -> None:
    """Name the tokenizer class ``PreTrainedTokenizerFast`` in tokenizer_config.json.

    transformers 5 writes its own class name (``TokenizersBackend``), which transformers 4 cannot load;
    both versions load ``PreTrainedTokenizerFast`` from the same tokenizer.json. Save-time-only keys go too.
    """
    import json

    path = Path(folder) / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    for key in ("is_local", "local_files_only"):
        config.pop(key, None)
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def training_texts(packages, max_package_bytes: int = 2_000_000) -> Iterator[str]:
    """Train-split file texts, at most ``max_package_bytes`` per package so no package dominates the merges."""
    for p in packages:
        if p.split != "train":
            continue
        used = 0
        for f in p.files:
            if used >= max_package_bytes:
                break
            try:
                text = f.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            used += len(text)
            yield text


def build_tokenizer(out: Path, venv_site_packages: Path | None, vocab_size: int = 8192,
                    max_package_bytes: int = 2_000_000) -> Path:
    """Collect the corpus, train the tokenizer on its train split and save it under ``out``."""
    from training.corpus import collect_corpus

    packages = collect_corpus(venv_site_packages)
    tok = train_tokenizer(training_texts(packages, max_package_bytes), vocab_size)
    save_tokenizer(tok, out)
    return Path(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the codelens-nano byte-level BPE tokenizer.")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the tokenizer to")
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--site-packages", type=Path, default=None, help="venv site-packages to add to the stdlib")
    parser.add_argument("--max-package-mb", type=float, default=2.0, help="cap on text taken from one package")
    args = parser.parse_args(argv)
    build_tokenizer(args.out, args.site_packages, args.vocab_size, int(args.max_package_mb * 1e6))


if __name__ == "__main__":
    main()
