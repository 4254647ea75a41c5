"""What every benchmark shares: the Figure row, the run context, timing, RSS, FLOP counts, test corpora.

A benchmark module exposes ``run(ctx: BenchContext) -> list[Figure]``. Each Figure pairs a measured
value with a reference measured in the same run (a baseline or the machine's own ceiling) and their
ratio: absolute times drift on a shared machine, ratios measured side by side hold.
"""

from __future__ import annotations

import os
import resource
import shutil
import sysconfig
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

STDLIB_SKIP_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__"})
"""Folders of the standard library that are not the standard library (installed packages, bytecode)."""

NANO_SHAPE = dict(vocab_size=8192, hidden_size=256, intermediate_size=704, num_hidden_layers=4,
                  num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=True)
"""codelens-nano's architecture (the pretraining run's --d-model 256 --n-layers 4 --n-heads 4, SwiGLU 8/3
rounded to 64), used for a random-weight stand-in while the trained model is not shipped."""

DEEPSEEK_1B_SHAPE = dict(vocab_size=32256, hidden_size=2048, intermediate_size=5504, num_hidden_layers=24,
                         num_attention_heads=16, num_key_value_heads=16, tie_word_embeddings=False,
                         max_position_embeddings=4096, rope_theta=100000.0)
"""DeepSeek-Coder-1.3B's configuration (speed does not depend on the weights' values)."""


@dataclass
class Figure:
    """One row of the results table: a measured value, the reference it is compared with, their ratio."""

    benchmark: str
    """Which benchmark produced it: parse, model, cache, clones, memory, training."""
    name: str
    """What was measured, e.g. "discover+extract" or "prefill nano bf16"."""
    value: float | None
    """The measurement (None when it could not be made; ``note`` says why)."""
    unit: str
    """Unit of ``value`` and ``reference_value``: MB/s, functions/s, s, MiB, GFLOP/s, tokens/s, params."""
    reference: str | None = None
    """What ``value`` is compared with: a baseline or a machine ceiling measured in the same run."""
    reference_value: float | None = None
    ratio: float | None = None
    """value / reference_value (or the ratio the note defines); the figure that carries across machines."""
    target: str | None = None
    """The issue's target for the ratio or value, e.g. ">= 0.8"."""
    met: bool | None = None
    """Whether the target is reached (None: no target, or nothing to compare)."""
    note: str = ""
    """How it was measured, or why it is missing."""
    detail: dict = field(default_factory=dict)
    """Extra numbers (sizes, counts, per-repeat times) for the JSON output."""

    def as_dict(self) -> dict:
        return asdict(self)


def ratio_of(value: float | None, reference: float | None) -> float | None:
    """value / reference, or None when either is missing or the reference is zero."""
    if value is None or reference is None or reference == 0:
        return None
    return value / reference


def check(ratio_or_value: float | None, target: str | None) -> bool | None:
    """Whether a number meets a target written as ">= x", "<= x", "> x" or "< x"."""
    if ratio_or_value is None or not target:
        return None
    op, _, number = target.partition(" ")
    bound = float(number)
    return {">=": ratio_or_value >= bound, "<=": ratio_or_value <= bound,
            ">": ratio_or_value > bound, "<": ratio_or_value < bound}[op]


@dataclass
class BenchContext:
    """Settings of one benchmark run and the resources benchmarks share (built once, on demand)."""

    workdir: Path
    """Scratch folder for corpora, models and caches; removed after the run."""
    quick: bool = False
    """Small sizes: checks that everything runs, in a few minutes."""
    full: bool = False
    """Also the long measurements (the model scan of the whole standard library)."""
    model: str | None = None
    """Base model folder; None = the shipped codelens-nano, else a random-weight stand-in of its shape."""
    adapter: str | None = None
    """Adapter folder for ``model``."""
    device: str = "cpu"
    """Where models run: cpu, cuda or cuda:N."""
    workers: int = 0
    """Parser processes; 0 = one per CPU core."""
    threads: int = 0
    """torch threads; 0 = one per CPU core."""
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    @property
    def n_threads(self) -> int:
        return self.threads or os.cpu_count() or 1

    def shared(self, key: str, build: Callable[[], object]):
        """``build()`` once per run, then the same object."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def stdlib(self, packages: tuple[str, ...] | None = None) -> Path:
        """A copy of the standard library's Python files (all of Lib/, or only ``packages``) in the workdir.

        A copy, because the installed Lib/ may sit inside a git work tree that ignores it (pyenv does),
        and codelens honours .gitignore: scanning it in place finds nothing.
        """
        name = "Lib" if packages is None else "Lib-" + "-".join(packages)
        return self.shared(f"stdlib:{name}", lambda: copy_stdlib(self.workdir / name, packages))

    def default_pair(self) -> tuple[str, str, str]:
        """(base folder, adapter folder, where they come from) of the model the scan benchmarks use."""
        return self.shared("default-pair", lambda: resolve_default_pair(self))


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def copy_stdlib(dest: Path, packages: tuple[str, ...] | None = None) -> Path:
    """Copy the *.py files of the standard library (or of some of its packages / modules) to ``dest``."""
    root = stdlib_root()
    sources = [root] if packages is None else [root / p if (root / p).is_dir() else root / f"{p}.py" for p in packages]
    for source in sources:
        if source.is_file():
            (dest / source.parent.relative_to(root)).mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / source.relative_to(root))
            continue
        for folder, dirs, files in os.walk(source):
            dirs[:] = sorted(d for d in dirs if d not in STDLIB_SKIP_DIRS)
            target = dest / Path(folder).relative_to(root)
            for name in files:
                if name.endswith(".py"):
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(os.path.join(folder, name), target / name)
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def timed(fn: Callable, *args, **kwargs) -> tuple[object, float]:
    """(fn's result, wall seconds)."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def best_of(fn: Callable, repeat: int) -> tuple[object, float, list[float]]:
    """(last result, fastest wall seconds, every repeat's seconds): the fastest is the least disturbed."""
    times, out = [], None
    for _ in range(max(1, repeat)):
        out, seconds = timed(fn)
        times.append(seconds)
    return out, min(times), times


def peak_rss_mib() -> float:
    """This process's peak resident set size since it started its current program, in MiB.

    VmHWM where Linux has it, not ru_maxrss: Linux carries the high-water mark of the address space a
    process had before exec into ru_maxrss, so a child spawned by a large (model-holding) benchmark
    process would report its parent's peak. VmHWM belongs to the address space exec replaced it with.
    """
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def sync(device) -> None:
    """Wait for queued GPU work so wall time covers it."""
    import torch

    if getattr(device, "type", str(device)).startswith("cuda"):
        torch.cuda.synchronize()


def matmul_gflops(dtype, device="cpu", n: int = 2048, repeat: int = 5) -> float:
    """The machine's matmul ceiling: best GFLOP/s of an n x n x n product (2 n^3 FLOPs) in ``dtype``."""
    import torch

    device = torch.device(device)
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    torch.matmul(a, b)  # warm-up: thread pool start, kernel selection
    sync(device)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        torch.matmul(a, b)
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def ceilings(ctx: BenchContext, remeasure: bool = False) -> dict[str, float]:
    """Matmul ceilings (GFLOP/s) with the run's thread count, the best seen in this run: ``fp32``, ``bf16``
    and ``native``, the dtype the runtime computes in on this device (``auto``: bf16 only where the hardware
    runs it natively). Without AVX512-BF16 / AMX a CPU emulates bf16 matmuls many times slower than fp32
    (0.3 against 116 GFLOP/s seen on an AVX2 machine), so bf16 is then measured on a smaller product, and
    ratios of work done in fp32 are taken against the fp32 ceiling.

    ``remeasure`` measures again and keeps the higher values: on a busy machine one measurement can
    land in a slow moment, and a ceiling read too low would flatter every ratio against it.
    """
    import torch

    from codelens.model.options import dtype_name

    native = dtype_name("auto", "cuda:0" if str(ctx.device).startswith("cuda") else "cpu")

    def measure() -> dict[str, float]:
        with torch_threads(ctx.n_threads):
            repeat = 3 if ctx.quick else 5
            fp32 = matmul_gflops(torch.float32, ctx.device, repeat=repeat)
            bf16 = matmul_gflops(torch.bfloat16, ctx.device, n=2048 if native == "bfloat16" else 256,
                                 repeat=repeat)
            return {"bf16": bf16, "fp32": fp32, "native": bf16 if native == "bfloat16" else fp32}

    if "ceilings" not in ctx._cache:
        ctx._cache["ceilings"] = measure()
        return ctx._cache["ceilings"]
    best = ctx._cache["ceilings"]
    if remeasure:
        again = measure()
        for key, value in again.items():
            best[key] = max(best[key], value)
    return best


def native_dtype_label(ctx: BenchContext) -> str:
    """"bf16" or "fp32": what the runtime computes in on this run's device."""
    from codelens.model.options import dtype_name

    name = dtype_name("auto", "cuda:0" if str(ctx.device).startswith("cuda") else "cpu")
    return "bf16" if name == "bfloat16" else "fp32"


class torch_threads:
    """Context manager: torch intra-op threads set to ``n`` inside, restored after."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self):
        import torch

        self.previous = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc) -> None:
        import torch

        torch.set_num_threads(self.previous)


def matmul_params(config) -> int:
    """Weights a decoder multiplies every token by: attention + MLP projections of every layer.

    Embedding lookups cost no FLOPs and the LM head is not run by a prefill (the engine reads hidden
    states), so neither counts. Read from the config, since quantised layers pack their weights.
    """
    d = config.hidden_size
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or d // heads
    kv = getattr(config, "num_key_value_heads", None) or heads
    attention = d * heads * head_dim * 2 + d * kv * head_dim * 2  # q, o and k, v
    mlp = 3 * d * config.intermediate_size  # SwiGLU: gate, up, down
    return config.num_hidden_layers * (attention + mlp)


def prefill_flops(config, lengths: list[int]) -> float:
    """FLOPs of a causal prefill over sequences of these lengths (padding excluded: only useful work counts).

    2 * matmul_params per token, plus attention: per layer, QK^T and AV each take T^2 * d / 2
    multiply-adds under the causal mask, i.e. 2 * d * T^2 FLOPs together.
    """
    d = config.hidden_size
    layers = config.num_hidden_layers
    return sum(2 * matmul_params(config) * t + 2 * layers * d * t * t for t in lengths)


# ---------------------------------------------------------------- models


def build_tokenizer(folder: Path, vocab_size: int, sample_bytes: int = 3_000_000) -> Path:
    """A byte-level BPE trained on the first ``sample_bytes`` of the standard library (codelens-nano's recipe)."""
    from training.tokenizer import save_tokenizer, train_tokenizer

    def texts():
        used = 0
        for path in sorted(stdlib_root().glob("*.py")):
            if used >= sample_bytes:
                return
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            used += len(text)
            yield text

    save_tokenizer(train_tokenizer(texts(), vocab_size), folder)
    return folder


def build_random_base(folder: Path, shape: dict, tokenizer_dir: Path, dtype: str = "float32", seed: int = 0) -> Path:
    """Save a random-weight LlamaForCausalLM of ``shape`` (safetensors) with the tokenizer to ``folder``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    config = LlamaConfig(**{"max_position_embeddings": 2048, **shape}, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    model.save_pretrained(str(folder), safe_serialization=True)
    tokenizer.save_pretrained(str(folder))
    del model
    return folder


def build_random_adapter(base_dir: Path, out_dir: Path, rank: int = 16, head_hidden: int = 256,
                         clone_dim: int = 128, seed: int = 0) -> Path:
    """An untrained adapter folder for ``base_dir`` with the default training settings' sizes.

    LoRA on every attention and MLP projection (what `codelens train` picks), random B matrices so the
    adapter does work in the forward, TaskHeads, codelens.json with the base's fingerprint.
    """
    import warnings

    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from codelens.model.adapter_meta import AdapterMetadata
    from codelens.model.loading import base_fingerprint
    from codelens.model.heads import TaskHeads
    from codelens.train.methods import resolve_targets

    model = AutoModelForCausalLM.from_pretrained(str(base_dir), use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    fingerprint = base_fingerprint(model, tokenizer)
    torch.manual_seed(seed)
    config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=resolve_targets(model, None),
                        init_lora_weights=False, task_type="CAUSAL_LM")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # peft vs transformers 5 deprecations
        peft_model = get_peft_model(model, config)
    pooled_dim = 2 * model.config.hidden_size
    heads = TaskHeads(model.config.hidden_size, head_hidden=head_hidden, clone_dim=clone_dim)
    out_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(out_dir))
    save_file({k: v.contiguous() for k, v in heads.state_dict().items()}, str(out_dir / "heads.safetensors"))
    AdapterMetadata(base_model=str(base_dir), base_fingerprint=fingerprint, pooled_dim=pooled_dim,
                    clone_dim=clone_dim, head_hidden=head_hidden).save(out_dir)
    return out_dir


def tokenizer_for(ctx: BenchContext, vocab_size: int) -> Path:
    return ctx.shared(f"tokenizer:{vocab_size}", lambda: build_tokenizer(ctx.workdir / f"tokenizer-{vocab_size}", vocab_size))


def resolve_default_pair(ctx: BenchContext) -> tuple[str, str, str]:
    """--model / --adapter when given, else the shipped codelens-nano, else a random stand-in of its shape."""
    from codelens.errors import ModelError
    from codelens.model.loading import default_model_dir

    if ctx.model or ctx.adapter:
        if not (ctx.model and ctx.adapter):
            raise ModelError("--model and --adapter go together in the benchmarks",
                             hint="pass both, or neither to use codelens-nano")
        return ctx.model, ctx.adapter, "given"
    try:
        folder = default_model_dir()
        return str(folder / "base"), str(folder / "adapter"), "codelens-nano (shipped)"
    except ModelError:
        pass
    base = ctx.workdir / "nano-random" / "base"
    build_random_base(base, NANO_SHAPE, tokenizer_for(ctx, NANO_SHAPE["vocab_size"]))
    adapter = build_random_adapter(base, ctx.workdir / "nano-random" / "adapter")
    return str(base), str(adapter), "random weights, codelens-nano shape (not shipped yet)"


def load_default(ctx: BenchContext, quantize: str = "none", dtype: str = "auto"):
    """The default pair loaded through the runtime's own loader (LoadedModel)."""
    from codelens.model.loading import ModelSpec, load_model

    base, adapter, _ = ctx.default_pair()
    return load_model(ModelSpec(model=base, adapter=adapter, device=ctx.device, quantize=quantize, dtype=dtype))
