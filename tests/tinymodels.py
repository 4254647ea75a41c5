"""Tiny local models for tests: a byte-level BPE tokenizer and ~100k-parameter causal LMs.

The architectures are the real targets' (Llama = DeepSeek-Coder, Qwen2 = Qwen2.5-Coder, Starcoder2),
shrunk to two layers, so loading, adapters, batching and generation run through the same code paths
as a real model, in well under a second each. Nothing here touches the network.

    from tests.tinymodels import build_tiny_model
    path = build_tiny_model(tmp_path / "llama", arch="llama")
    AutoModelForCausalLM.from_pretrained(path); AutoTokenizer.from_pretrained(path)
"""

from __future__ import annotations

from pathlib import Path

BOS, EOS, PAD = "<|bos|>", "<|eos|>", "<|pad|>"
VOCAB_SIZE = 600
ARCHES = ("llama", "qwen2", "starcoder2")

# A few KB of ordinary code (Python, JavaScript, Go, C), so the BPE merges look like a code tokenizer's:
# indentation runs, keywords, operators.
SAMPLE_CODE = '''\
def add(a, b):
    """Return the sum of two numbers."""
    return a + b


def mean(values):
    """Return the arithmetic mean of a list."""
    if not values:
        raise ValueError("mean of empty list")
    total = 0
    for value in values:
        total += value
    return total / len(values)


def find_index(items, target):
    for i in range(len(items)):
        if items[i] == target:
            return i
    return -1


class Stack:
    """A last-in first-out stack."""

    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        if not self.items:
            return None
        return self.items.pop()

    def __len__(self):
        return len(self.items)


def read_lines(path):
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\\n") for line in handle]


def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


function clamp(value, low, high) {
    if (value < low) {
        return low;
    }
    return value > high ? high : value;
}

const unique = (items) => [...new Set(items)];

function debounce(fn, wait) {
    let timer = null;
    return function (...args) {
        clearTimeout(timer);
        timer = setTimeout(() => fn.apply(this, args), wait);
    };
}

func Max(a, b int) int {
    if a > b {
        return a
    }
    return b
}

func Reverse(s string) string {
    runes := []rune(s)
    for i, j := 0, len(runes)-1; i < j; i, j = i+1, j-1 {
        runes[i], runes[j] = runes[j], runes[i]
    }
    return string(runes)
}

int count_char(const char *s, char c) {
    int n = 0;
    while (*s) {
        if (*s++ == c) {
            n++;
        }
    }
    return n;
}

static void swap(int *a, int *b) {
    int tmp = *a;
    *a = *b;
    *b = tmp;
}
'''


def build_tiny_tokenizer(folder: Path):
    """Train a byte-level BPE (vocab ~600, specials <|bos|> <|eos|> <|pad|>) and save it to ``folder``.

    Returns the PreTrainedTokenizerFast; ``AutoTokenizer.from_pretrained(folder)`` loads the same one.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[BOS, EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(SAMPLE_CODE.splitlines(keepends=True), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD)
    fast.save_pretrained(folder)
    return fast


def _config(arch: str, tokenizer):
    from transformers import LlamaConfig, Qwen2Config, Starcoder2Config

    common = dict(
        vocab_size=len(tokenizer),
        # bitsandbytes' CPU NF4 kernels need output sizes divisible by 32 and input sizes by 64.
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        # Larger than the usual 0.02 so a random tiny model's logits are not all alike: greedy decoding
        # then wanders through the vocabulary instead of repeating one token.
        initializer_range=0.2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    if arch == "llama":
        return LlamaConfig(**common, tie_word_embeddings=False)
    if arch == "qwen2":
        return Qwen2Config(**common, tie_word_embeddings=True)
    if arch == "starcoder2":
        return Starcoder2Config(**common, tie_word_embeddings=True, use_bias=True, sliding_window=None)
    raise ValueError(f"unknown tiny architecture {arch!r}; choose one of {ARCHES}")


def build_tiny_model(folder: Path, arch: str = "llama", seed: int = 0) -> Path:
    """Write config, safetensors weights and tokenizer of a ~100k-parameter (hidden 64, 2 layers) ``arch`` model to ``folder``.

    The same (arch, seed) always gives the same weights, hence the same base fingerprint.
    """
    import torch
    from transformers import AutoModelForCausalLM

    folder = Path(folder)
    tokenizer = build_tiny_tokenizer(folder)
    config = _config(arch, tokenizer)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    finally:
        torch.random.set_rng_state(state)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def build_tiny_adapter(base_dir: Path, out_dir: Path, seed: int = 0, rank: int = 4) -> Path:
    """Wrap the base in an untrained LoRA (all linear projections) + TaskHeads and save an adapter folder.

    The LoRA B matrices are random rather than zero (peft's default), so the adapter visibly changes the
    model's outputs: tests can tell whether it is active. The folder is what the runtime loads:
    adapter_config.json + adapter_model.safetensors, heads.safetensors and codelens.json.
    """
    import warnings

    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from codelens.model.adapter_meta import AdapterMetadata
    from codelens.model.loading import base_fingerprint
    from codelens.model.heads import BugHeadConfig, TaskHeads

    base_dir, out_dir = Path(base_dir), Path(out_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    fingerprint = base_fingerprint(model, tokenizer)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        config = LoraConfig(
            r=rank, lora_alpha=2 * rank, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # peft vs transformers 5 deprecations
            peft_model = get_peft_model(model, config)
        pooled_dim = 2 * model.config.hidden_size
        heads = TaskHeads(model.config.hidden_size, head_hidden=32, clone_dim=16, bug=BugHeadConfig(width=32, heads=2))
    finally:
        torch.random.set_rng_state(state)
    out_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(out_dir)
    save_file({k: v.contiguous() for k, v in heads.state_dict().items()}, str(out_dir / "heads.safetensors"))
    AdapterMetadata(
        base_model=str(base_dir),
        base_fingerprint=fingerprint,
        pooled_dim=pooled_dim,
        clone_dim=16,
        head_hidden=32,
        bug_head=BugHeadConfig(width=32, heads=2).to_dict(),
    ).save(out_dir)
    return out_dir


def make_unit(body: str, docstring: str | None = None, path: str = "sample.py", qualname: str = "f"):
    """A CodeUnit for ``body`` whose hash is the sha256 of the body (no parser needed)."""
    import hashlib

    from codelens.core import CodeUnit, Span

    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    lines = body.count("\n") + 1
    return CodeUnit(
        path=path, language="python", qualname=qualname, span=Span(1, lines, 0, len(body.encode("utf-8"))),
        source=body, docstring=docstring, body=body, hash=digest, normalized_hash=digest,
    )


def sample_bodies() -> list[str]:
    """The top-level functions / classes of SAMPLE_CODE, one string each, of varied lengths (13 of them)."""
    import re

    return [chunk.strip("\n") for chunk in re.split(r"\n\n+(?=\S)", SAMPLE_CODE) if chunk.strip()]
