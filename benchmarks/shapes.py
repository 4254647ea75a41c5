"""Which codelens-small shape keeps the speed budget on CPU (issue 10): the cold-scan benchmark on
random-weight models of each candidate shape, side by side with one of codelens-nano's shape.

The weights' values do not change a forward's cost, but they do change a summary's length (generation
stops at a newline or EOS): a random model seldom stops before ``prompt.max_summary_tokens``, so its
summaries are about as long as they can be, a worst case. Each candidate is built
exactly as training/pretrain.py builds the model (``build_model``: Llama, SwiGLU, tied embeddings) with
the committed 16k tokenizer (training/assets/tokenizer-16k); nano's shape keeps its own 8k tokenizer.

The row's ratio is candidate / nano-shape functions per second in this run; the issue's budget (25
functions/s on 2 cores, json + email, summaries where docstrings are missing) is reached when the ratio
times nano's idle rate is at least 25: the ratio is what carries across a loaded machine.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import BenchContext, Figure, build_random_adapter, ratio_of

CANDIDATES = ((384, 6, 6), (512, 6, 8), (512, 8, 8))
"""(d_model, layers, heads) of codelens-small candidates."""
QUICK_CANDIDATES = ((384, 6, 6),)
NANO = (256, 4, 4)


def build_shape(folder: Path, d_model: int, layers: int, heads: int, tokenizer: Path, vocab: int) -> tuple[str, str, int]:
    """(base folder, adapter folder, parameters) of a random-weight model of one shape."""
    from transformers import AutoTokenizer

    from training.pretrain import PretrainConfig, build_model

    base = folder / "base"
    if not (base / "config.json").is_file():
        cfg = PretrainConfig(vocab_size=vocab, d_model=d_model, n_layers=layers, n_heads=heads)
        model = build_model(cfg)
        tok = AutoTokenizer.from_pretrained(str(tokenizer))
        model.config.bos_token_id, model.config.eos_token_id = tok.bos_token_id, tok.eos_token_id
        model.config.pad_token_id = tok.pad_token_id
        model.save_pretrained(str(base), safe_serialization=True)
        tok.save_pretrained(str(base))
        params = sum(p.numel() for p in model.parameters())
    else:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(str(base))
        params = config.num_parameters() if hasattr(config, "num_parameters") else 0
    adapter = folder / "adapter"
    if not (adapter / "codelens.json").is_file():
        build_random_adapter(base, adapter)
    return str(base), str(adapter), params


def run(ctx: BenchContext) -> list[Figure]:
    import dataclasses

    from benchmarks import coldscan
    from benchmarks.common import tokenizer_for

    repo_root = Path(__file__).resolve().parent.parent
    small_tok = repo_root / "training" / "assets" / "tokenizer-16k"
    nano = build_shape(ctx.workdir / "shape-nano", *NANO, tokenizer_for(ctx, 8192), 8192)
    rows = []
    for d_model, layers, heads in QUICK_CANDIDATES if ctx.quick else CANDIDATES:
        shape = build_shape(ctx.workdir / f"shape-{d_model}x{layers}", d_model, layers, heads, small_tok, 16384)
        # Alternate nano and the candidate, so both see the same machine load.
        measured = {}
        for name, (base, adapter, _) in (("nano", nano), ("candidate", shape)):
            # quick: the scan of the budget, json + email, whatever the run's size.
            sub = dataclasses.replace(ctx, model=base, adapter=adapter, quick=True, _cache=dict(ctx._cache))
            sub._cache.pop("default-pair", None)
            measured[name] = coldscan.run(sub)[0]
        rate, nano_rate = measured["candidate"].value, measured["nano"].value
        rows.append(Figure("shapes", f"cold scan d={d_model} x {layers} layers, 16k vocab ({shape[2] / 1e6:.1f} M)",
                           rate, "functions/s", "same scan, codelens-nano shape (8k vocab)", nano_rate,
                           ratio_of(rate, nano_rate),
                           note="random weights, summaries near full length (a worst case); "
                                "budget: ratio x nano's idle rate >= 25 functions/s",
                           detail={"candidate": measured["candidate"].detail, "nano": measured["nano"].detail,
                                   "parameters": shape[2]}))
    return rows
