"""Memory benchmark: peak RSS of scanning CPython's Lib/, each measurement in a fresh subprocess.

By default: parse-only (discover + extract, no model) over the whole Lib/, and a model scan of a
subset (json + email; --quick: json) whose rate also projects the time of a whole-Lib/ cold scan.
--full scans the whole Lib/ with the model (long: run it on an idle machine). The child process
reports its own peak RSS (VmHWM) and, separately, the largest of its parser worker processes'
(getrusage RUSAGE_CHILDREN), so earlier benchmarks of this run cannot inflate it.

    python -m benchmarks.memory --root DIR --mode parse|scan [--model M --adapter A]   # the child
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import BenchContext, Figure, check, peak_rss_mib, ratio_of

QUICK_SCAN_PACKAGES = ("json",)
STANDARD_SCAN_PACKAGES = ("json", "email")
QUICK_PARSE_PACKAGES = ("json", "email", "http", "logging", "urllib", "concurrent", "collections", "wsgiref")
BUDGET_MIB = 4096
"""The issue's bound for a cold scan of Lib/: 4 GiB."""
MINUTES_TARGET = "< 15"
RSS_TARGET = "<= 1"
_REPO = Path(__file__).resolve().parent.parent


def child(argv: list[str] | None = None) -> dict:
    """Run one parse-only or model scan of --root and return its counts, time and peak RSS figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--mode", choices=("parse", "scan"), required=True)
    parser.add_argument("--model")
    parser.add_argument("--adapter")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.mode == "parse":
        from codelens.discovery import discover
        from codelens.parsing import parse_files

        files = discover(args.root).files
        units = parse_files(files, workers=args.workers).units
        counts = {"files": len(files), "functions": len(units)}
    else:
        from codelens.config import ScanConfig
        from codelens.scan import run_scan

        config = ScanConfig(model=args.model, adapter=args.adapter, device=args.device, cache=False,
                            jobs=args.threads, fail_on="never")
        stats = run_scan(args.root, config).report.stats
        counts = {"files": stats["files"], "functions": stats["functions"], "unique": stats["unique"],
                  "model_s": stats.get("model_seconds")}
    return {**counts, "seconds": time.perf_counter() - start, "main_rss_mib": peak_rss_mib(),
            "worker_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def measure(ctx: BenchContext, root: Path, mode: str) -> dict:
    """``child`` in a fresh interpreter; its JSON result."""
    command = [sys.executable, "-m", "benchmarks.memory", "--root", str(root), "--mode", mode,
               "--device", ctx.device, "--workers", str(ctx.workers), "--threads", str(ctx.threads)]
    if mode == "scan":
        base, adapter, _ = ctx.default_pair()
        command += ["--model", base, "--adapter", adapter]
    result = subprocess.run(command, capture_output=True, text=True, cwd=_REPO, timeout=4 * 3600)
    if result.returncode != 0:
        raise RuntimeError(f"memory child ({mode}) exited {result.returncode}: {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _rss_figure(label: str, got: dict) -> Figure:
    ratio = ratio_of(got["main_rss_mib"], BUDGET_MIB)
    return Figure("memory", f"peak RSS, {label}", got["main_rss_mib"], "MiB", "4 GiB budget", BUDGET_MIB, ratio,
                  RSS_TARGET, check(ratio, RSS_TARGET),
                  f"{got['functions']:,} functions in {got['seconds']:.0f} s; largest parser worker "
                  f"{got['worker_rss_mib']:.0f} MiB", got)


def run(ctx: BenchContext) -> list[Figure]:
    parsed = measure(ctx, ctx.stdlib(QUICK_PARSE_PACKAGES) if ctx.quick else ctx.stdlib(), "parse")
    figures = [_rss_figure(f"parse only, {'Lib/ subset' if ctx.quick else 'whole Lib/'}", parsed)]
    if ctx.full:
        scanned = measure(ctx, ctx.stdlib(), "scan")
        minutes = scanned["seconds"] / 60
        figures.append(_rss_figure("model scan, whole Lib/", scanned))
        figures.append(Figure("memory", "cold scan time, whole Lib/", minutes, "min", note=f"{scanned['functions']:,} functions",
                              target=MINUTES_TARGET, met=check(minutes, MINUTES_TARGET), detail=scanned))
        return figures
    packages = QUICK_SCAN_PACKAGES if ctx.quick else STANDARD_SCAN_PACKAGES
    scanned = measure(ctx, ctx.stdlib(packages), "scan")
    figures.append(_rss_figure(f"model scan, {' + '.join(packages)}", scanned))
    if not ctx.quick:
        # Projection from the subset's rate; model loading is paid once, so this overestimates slightly.
        minutes = parsed["functions"] / (scanned["functions"] / scanned["seconds"]) / 60
        figures.append(Figure("memory", "projected cold scan time, whole Lib/", minutes, "min",
                              note=f"{parsed['functions']:,} functions at the subset's rate (run --full to measure)",
                              target=MINUTES_TARGET, met=check(minutes, MINUTES_TARGET), detail=scanned))
    return figures


if __name__ == "__main__":
    print(json.dumps(child()))
