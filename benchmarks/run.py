"""codelens benchmark suite: one command, one table, one JSON file.

    python -m benchmarks.run --quick                      # every benchmark at small sizes (minutes)
    python -m benchmarks.run                              # the sizes the issue asks for (an idle machine!)
    python -m benchmarks.run --only parse,clones --json runs/bench.json
    python -m benchmarks.run --full                       # adds the model scan of the whole CPython Lib/
    python -m benchmarks.run --model ./base --adapter ./adapter --device cuda

Every figure is a ratio of two things measured in the same run (see benchmarks/README.md). A benchmark
that fails is reported as a row with its error; the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks.common import BenchContext, Figure

BENCHMARKS = {
    "parse": "benchmarks.parse",
    "model": "benchmarks.model",
    "cache": "benchmarks.cache",
    "hook": "benchmarks.hook",
    "coldscan": "benchmarks.coldscan",
    "clones": "benchmarks.clones",
    "memory": "benchmarks.memory",
    "training": "benchmarks.training",
    "ray": "benchmarks.ray_scan",
    "baselines": "benchmarks.baselines",
    "defect_likelihood": "benchmarks.defect_likelihood",
    "sites": "benchmarks.sites",
    "real_code": "benchmarks.real_code",
    "shapes": "benchmarks.shapes",
}
"""Benchmark name -> module with ``run(ctx) -> list[Figure]``, in the order they run."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks that everything works")
    parser.add_argument("--full", action="store_true", help="also scan the whole CPython Lib/ with the model (long)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", type=Path, default=Path("runs/benchmarks.json"), help="where to write the results")
    parser.add_argument("--model", default=None, help="base model folder (default: codelens-nano or a random stand-in)")
    parser.add_argument("--adapter", default=None, help="adapter folder for --model")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--workers", type=int, default=0, help="parser processes (0: one per core)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: one per core)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (corpora, models) and print it")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    args.chosen = chosen
    return args


def run_benchmarks(ctx: BenchContext, chosen: list[str], on_done=None) -> tuple[list[Figure], dict[str, float]]:
    """Run the chosen benchmarks in order; a failing one becomes an error row. Returns (figures, seconds by name)."""
    figures: list[Figure] = []
    seconds: dict[str, float] = {}
    for name in chosen:
        start = time.perf_counter()
        try:
            rows = importlib.import_module(BENCHMARKS[name]).run(ctx)
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others' figures
            rows = [Figure(name, "error", None, "", note=f"{type(exc).__name__}: {exc}",
                           detail={"traceback": traceback.format_exc(limit=8)})]
        seconds[name] = round(time.perf_counter() - start, 1)
        figures.extend(rows)
        if on_done is not None:
            on_done(name, rows, seconds[name])
    return figures, seconds


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or 0.01 <= abs(value) < 1e6:
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{value:.2e}"


def table_rows(figures: list[Figure]) -> list[list[str]]:
    """Cells of the results table: benchmark, figure, value, reference, ratio, target, note."""
    rows = []
    for f in figures:
        met = "" if f.met is None else (" ok" if f.met else " MISSED")
        reference = f"{_number(f.reference_value)} ({f.reference})" if f.reference else ""
        ratio = f"{f.ratio:.3g}" if f.ratio is not None else ""
        rows.append([f.benchmark, f.name, f"{_number(f.value)} {f.unit}".strip(), reference, ratio,
                     (f.target or "") + met, f.note])
    return rows


HEADERS = ["benchmark", "figure", "value", "reference (same run)", "ratio", "target", "note"]


def render_table(figures: list[Figure]) -> None:
    rows = table_rows(figures)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)] if rows else []
        for line in [HEADERS, *rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))
        return
    table = Table(*HEADERS, show_lines=False)
    for row in rows:
        table.add_row(*row)
    Console(width=max(160, shutil.get_terminal_size().columns)).print(table)


def machine_info(ctx: BenchContext) -> dict:
    import torch

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "torch": torch.__version__, "device": ctx.device, "threads": ctx.n_threads, "workers": ctx.n_workers,
            "load_average_at_start": load}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    workdir = Path(tempfile.mkdtemp(prefix="codelens-bench-"))
    ctx = BenchContext(workdir=workdir, quick=args.quick, full=args.full, model=args.model, adapter=args.adapter,
                       device=args.device, workers=args.workers, threads=args.threads)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    info = machine_info(ctx)
    print(f"codelens benchmarks ({'quick' if args.quick else 'full' if args.full else 'standard'} sizes): "
          f"{', '.join(args.chosen)}; {info['cpu_count']} CPUs, load {info['load_average_at_start']}", file=sys.stderr)

    def done(name, rows, seconds):
        print(f"  {name}: {len(rows)} figure(s) in {seconds:.0f} s", file=sys.stderr, flush=True)

    try:
        figures, seconds = run_benchmarks(ctx, args.chosen, done)
        report = {"started": started, "mode": "quick" if args.quick else "full" if args.full else "standard",
                  "machine": info, "ceilings_gflops": ctx._cache.get("ceilings"),
                  "model": ctx._cache.get("default-pair"), "seconds": seconds,
                  "figures": [f.as_dict() for f in figures]}
    finally:
        if args.keep:
            print(f"scratch folder kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    render_table(figures)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {args.json}", file=sys.stderr)
    return 1 if any(f.name == "error" for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
