"""Model benchmark: scan throughput against a naive baseline, and prefill FLOP/s against the matmul ceiling.

1. Scan: ``run_scan`` (discover, parse, batched engine, clone search, findings; model already loaded,
   cache off) against the naive way of doing the same three tasks with plain transformers, one
   function at a time: a full causal-LM forward for the defect / clone features, then
   ``model.generate`` (which runs the prompt again) for the summary of the same functions the engine
   summarises, stopping at the same tokens. Both over the same distinct functions, same threads.
   The naive side runs on the same loaded model, LoRA already folded into the weights, so the ratio
   is what batching and reusing the prefill buy, not the merge; the merge's own gain is a row of its
   own: the engine over the same functions with peft's unmerged LoRA layers against merged weights.
2. Prefill: the decoder (no LM head, as the engine runs it) over random token batches, FLOPs counted
   (see common.prefill_flops), against the bf16 matmul ceiling of the same run; for the default model
   and a DeepSeek-Coder-1.3B-shaped Llama with random weights, in bf16, int8 and nf4 (bitsandbytes,
   loaded through the runtime's load_base). --quick builds the 1.3B shape with 2 of its 24 layers:
   the per-layer matrices, hence the kernels' efficiency, are the same.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
import warnings
from pathlib import Path

from benchmarks.common import (
    DEEPSEEK_1B_SHAPE,
    BenchContext,
    Figure,
    build_random_base,
    ceilings,
    check,
    load_default,
    native_dtype_label,
    prefill_flops,
    ratio_of,
    sync,
    tokenizer_for,
    torch_threads,
)
from codelens.model.forward import quiet_int8

QUICK_PACKAGES = ("json", "concurrent")
"""About 130 functions."""
STANDARD_PACKAGES = ("json", "email")
"""About 550 functions."""
SCAN_TARGET = ">= 5"
PREFILL_TARGET = ">= 0.6"
QUANTISATIONS = ("none", "int8", "nf4")


@contextlib.contextmanager
def quiet():
    """The runtime's int8 log silencing, plus transformers' warnings about generation defaults."""
    with quiet_int8(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def distinct_units(root: Path) -> list:
    """The functions a scan of ``root`` would analyse, one per content hash."""
    from codelens.discovery import discover
    from codelens.parsing import parse_files

    units = parse_files(discover(root).files).units
    seen: dict[str, object] = {}
    for unit in units:
        seen.setdefault(unit.hash, unit)
    return list(seen.values())


def naive_baseline(units: list, loaded, summaries: str = "missing") -> dict:
    """Plain transformers, one function at a time: forward for the heads, generate() for the summary."""
    import torch

    from codelens.engine import EngineSettings
    from codelens.model.forward import prompt_for
    from codelens.model.generate import first_line, stop_token_ids
    from codelens.model.heads import defect_inputs, pool_hidden

    settings = EngineSettings(summaries=summaries)
    tokenizer, fmt, device = loaded.tokenizer, loaded.meta.prompt, loaded.device
    stops = sorted(stop_token_ids(tokenizer))
    summarising = "summary" in loaded.meta.tasks
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=loaded.dtype == torch.bfloat16)
    tokens = summaries_made = 0
    start = time.perf_counter()
    with torch.inference_mode(), autocast, quiet():
        for unit in units:
            prompt = prompt_for(tokenizer, unit.body, fmt)
            ids = prompt.ids
            x = torch.tensor([ids], device=device)
            mask = torch.ones_like(x)
            out = loaded.model(input_ids=x, attention_mask=mask, output_hidden_states=True)
            hidden = out.hidden_states[-1]
            # The same heads as a scan: the clone embedding, and the bug block over the code's tokens.
            inputs = defect_inputs([unit.body], [prompt], len(ids), device)
            loaded.heads.embed(pool_hidden(hidden, mask))
            loaded.heads.bug(hidden, inputs.code_mask, inputs.relations)
            tokens += len(ids)
            if summarising and settings.wants_summary(unit):
                generated = loaded.model.generate(input_ids=x, attention_mask=mask, do_sample=False,
                                                  max_new_tokens=fmt.max_summary_tokens, eos_token_id=stops,
                                                  pad_token_id=tokenizer.pad_token_id)
                first_line(tokenizer, generated[0, x.shape[1]:].tolist())
                summaries_made += 1
    sync(device)
    return {"seconds": time.perf_counter() - start, "functions": len(units), "tokens": tokens,
            "summaries": summaries_made}


def scan_figures(ctx: BenchContext) -> list[Figure]:
    """run_scan functions/s against the naive baseline's, over the same distinct functions."""
    from codelens.config import ScanConfig
    from codelens.engine import EngineSettings, analyse
    from codelens.model.generate import stop_token_ids
    from codelens.scan import run_scan

    root = ctx.stdlib(QUICK_PACKAGES if ctx.quick else STANDARD_PACKAGES)
    base, adapter, source = ctx.default_pair()
    loaded = load_default(ctx)
    units = distinct_units(root)
    stop_token_ids(loaded.tokenizer)  # cached per tokenizer: neither side should pay for it
    with quiet():
        analyse(units[:8], loaded, EngineSettings(threads=ctx.threads))  # warm-up: threads, kernels
    config = ScanConfig(model=base, adapter=adapter, device=ctx.device, cache=False, jobs=ctx.threads,
                        fail_on="never")
    start = time.perf_counter()
    with quiet():
        outcome = run_scan(root, config, loaded=loaded)
    scan_s = time.perf_counter() - start
    stats = outcome.report.stats
    # The naive side is slow: time an even sample of the functions (every k-th keeps the length mix).
    limit = len(units) if ctx.quick else 200
    step = max(1, len(units) // limit)
    sample = units[::step][:limit]
    with torch_threads(ctx.n_threads):
        naive = naive_baseline(sample, loaded)
    ours = stats["unique"] / scan_s
    theirs = naive["functions"] / naive["seconds"]
    ratio = ratio_of(ours, theirs)
    detail = {"model": source, "functions": stats["unique"], "scan_s": round(scan_s, 2),
              "model_s": stats.get("model_seconds"), "tokens": stats.get("tokens"),
              "summaries": stats.get("summaries_generated"), "naive": {k: round(v, 2) for k, v in naive.items()}}
    return [Figure("model", "scan (run_scan, model loaded)", ours, "functions/s",
                   "naive transformers, one function at a time", theirs, ratio, SCAN_TARGET, check(ratio, SCAN_TARGET),
                   f"{stats['unique']} functions, {stats.get('summaries_generated')} summaries; naive on "
                   f"{naive['functions']} of them; {source}", detail),
            merge_figure(ctx, loaded, units)]


def merge_figure(ctx: BenchContext, merged, units: list) -> Figure:
    """The engine over the same functions with the LoRA folded into the weights vs peft's LoRA layers."""
    from codelens.engine import EngineSettings, analyse
    from codelens.model.loading import ModelSpec, load_model

    base, adapter, _ = ctx.default_pair()
    unmerged = load_model(ModelSpec(model=base, adapter=adapter, device=ctx.device, merge=False))
    settings = EngineSettings(threads=ctx.threads)
    times: dict[str, list[float]] = {"merged": [], "unmerged": []}
    with quiet():
        analyse(units[:8], unmerged, settings)  # warm-up
        for _ in range(1 if ctx.quick else 2):  # alternated, so drift hits both sides alike
            for name, loaded in (("merged", merged), ("unmerged", unmerged)):
                start = time.perf_counter()
                analyse(units, loaded, settings)
                times[name].append(time.perf_counter() - start)
    ours, theirs = len(units) / min(times["merged"]), len(units) / min(times["unmerged"])
    return Figure("model", "engine, LoRA merged into the weights", ours, "functions/s",
                  "same engine, peft LoRA layers", theirs, ratio_of(ours, theirs), None, None,
                  f"{len(units)} functions, best of {len(times['merged'])}",
                  {k: [round(t, 2) for t in v] for k, v in times.items()})


def prefill(lm, batch: int, length: int, batches: int, device) -> dict:
    """Time ``batches`` decoder prefills of (batch, length) random tokens after one warm-up batch."""
    import torch

    decoder = getattr(lm, lm.base_model_prefix)
    config = lm.config
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(3, config.vocab_size, (batch, length), generator=generator).to(device)
    mask = torch.ones_like(ids)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=lm.dtype == torch.bfloat16)
    with torch.inference_mode(), autocast, quiet():
        decoder(input_ids=ids, attention_mask=mask, use_cache=False)
        sync(device)
        start = time.perf_counter()
        for _ in range(batches):
            decoder(input_ids=ids, attention_mask=mask, use_cache=False)
        sync(device)
        seconds = time.perf_counter() - start
    flops = prefill_flops(config, [length] * batch) * batches
    return {"seconds": seconds, "gflops": flops / seconds / 1e9, "tokens_per_s": batch * length * batches / seconds,
            "shape": f"{batches} x ({batch} x {length})"}


def prefill_variants(ctx: BenchContext, label: str, base_dir: str, batches: int, batch: int = 4,
                     length: int = 256) -> list[tuple[str, dict | str]]:
    """(figure name, prefill result or error text) per quantisation, loaded through the runtime's load_base.

    The matmul ceiling is measured again before each one, so the best ceiling of the run is the reference.
    """
    import torch

    from codelens.model.loading import load_base

    out: list[tuple[str, dict | str]] = []
    for quantize in QUANTISATIONS:
        name = f"prefill {label} {native_dtype_label(ctx) if quantize == 'none' else quantize}"
        ceilings(ctx, remeasure=True)
        lm = None
        try:
            with quiet():
                lm, _ = load_base(base_dir, device=ctx.device, dtype="auto", quantize=quantize)
            with torch_threads(ctx.n_threads):
                out.append((name, prefill(lm, batch, length, batches, torch.device(ctx.device))))
        except Exception as exc:  # noqa: BLE001 - a quantisation the platform lacks is a row, not a crash
            out.append((name, f"{type(exc).__name__}: {exc}"))
        finally:
            del lm
    return out


def prefill_figure(ctx: BenchContext, name: str, got: dict | str, target: str | None = None) -> Figure:
    """A prefill result as achieved GFLOP/s against the best bf16 matmul ceiling of the run."""
    if isinstance(got, str):
        return Figure("model", name, None, "GFLOP/s", note=got)
    ceiling = ceilings(ctx)["native"]
    ratio = ratio_of(got["gflops"], ceiling)
    return Figure("model", name, got["gflops"], "GFLOP/s", f"{native_dtype_label(ctx)} matmul ceiling", ceiling, ratio,
                  target,
                  check(ratio, target), f"{got['tokens_per_s']:,.0f} tokens/s, {got['shape']}",
                  {k: round(v, 3) if isinstance(v, float) else v for k, v in got.items()})


def deepseek_shaped(ctx: BenchContext) -> tuple[str, str]:
    """A random DeepSeek-Coder-1.3B-shaped base saved in bf16 (2.7 GB; --quick: 2 of its 24 layers)."""
    shape = dict(DEEPSEEK_1B_SHAPE)
    label = "1.3B-shaped"
    if ctx.quick:
        shape["num_hidden_layers"] = 2
        label = "1.3B-shaped (2 of 24 layers)"
    folder = Path(tempfile.mkdtemp(dir=ctx.workdir, prefix="deepseek-shaped-"))
    build_random_base(folder, shape, tokenizer_for(ctx, 8192), dtype="bfloat16")
    return str(folder), label


def run(ctx: BenchContext) -> list[Figure]:
    figures = scan_figures(ctx)
    base, _, _ = ctx.default_pair()
    results = [(name, got, None) for name, got in prefill_variants(ctx, "default", base, batches=3 if ctx.quick else 5)]
    big, label = deepseek_shaped(ctx)
    try:
        results += [(name, got, PREFILL_TARGET if name.endswith(native_dtype_label(ctx)) else None)
                    for name, got in prefill_variants(ctx, label, big, batches=2 if ctx.quick else 3)]
    finally:
        shutil.rmtree(big, ignore_errors=True)
    c = ceilings(ctx, remeasure=True)
    figures.append(Figure("model", "matmul ceiling bf16", c["bf16"], "GFLOP/s", "fp32 matmul 2048^3", c["fp32"],
                          ratio_of(c["bf16"], c["fp32"]),
                          note=f"torch.matmul, best over the run; this device computes in {native_dtype_label(ctx)}"))
    figures += [prefill_figure(ctx, name, got, target) for name, got, target in results]
    return figures
