"""Benchmark: blocked top-k clone-neighbour search against the all-pairs matrix.

    python benchmarks/clone_search.py                       # 1k, 10k, 100k x 128-d, k=10
    python benchmarks/clone_search.py --sizes 1000 10000 --out runs/clone_search.json

Random unit vectors are the hard case for the blocked search: nothing is clustered, so admission bars
rise slowly and pruning helps least. All-pairs (the full n x n float32 matrix, then a sort per row)
runs only where that matrix fits under --all-pairs-max-gib. Peak memory is the largest traced
allocation during each call (numpy reports its buffers to tracemalloc), plus the process peak RSS.
It is a benchmark, not a test: run the 100k size on purpose, once.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codelens.tasks.clone import DEFAULT_BLOCK, all_pairs_top_k, top_k_similar  # noqa: E402


def random_unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def measure(fn, *args, **kwargs) -> tuple[object, float, float, int]:
    """(result, wall seconds, CPU seconds of all threads, peak traced bytes) of one call.

    CPU seconds are reported too because on a shared machine wall time mostly measures the load.
    """
    tracemalloc.start()
    tracemalloc.reset_peak()
    start, start_cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, cpu, peak


def run(sizes: list[int], dim: int, k: int, block_size: int, all_pairs_max_gib: float, seed: int) -> list[dict]:
    rows = []
    for n in sizes:
        emb = random_unit_rows(n, dim, seed)
        load = os.getloadavg()[0]
        (idx, _), blocked_s, blocked_cpu, blocked_peak = measure(top_k_similar, emb, k, block_size=block_size)
        row = {"n": n, "dim": dim, "k": k, "block_size": block_size, "load_before": round(load, 2),
               "blocked_s": round(blocked_s, 3), "blocked_cpu_s": round(blocked_cpu, 3),
               "blocked_peak_mib": round(blocked_peak / 2**20, 1), "all_pairs_s": None,
               "all_pairs_peak_mib": None, "agreement": None}
        if n * n * 4 / 2**30 <= all_pairs_max_gib:
            (ref_idx, _), pairs_s, _, pairs_peak = measure(all_pairs_top_k, emb, k)
            row.update(all_pairs_s=round(pairs_s, 3), all_pairs_peak_mib=round(pairs_peak / 2**20, 1),
                       agreement=float((idx == ref_idx).mean()))
        rows.append(row)
        print(_format_row(row), flush=True)
    return rows


def _format_row(row: dict) -> str:
    def cell(value, fmt):
        return format(value, fmt) if value is not None else "-"

    return (f"{row['n']:>8} {row['load_before']:>6.2f} {row['blocked_s']:>10.2f} {row['blocked_cpu_s']:>8.2f} "
            f"{row['blocked_peak_mib']:>10.1f} "
            f"{cell(row['all_pairs_s'], '>10.2f'):>10} {cell(row['all_pairs_peak_mib'], '>10.1f'):>10} "
            f"{cell(row['agreement'], '>9.4f'):>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--dim", type=int, default=128, help="embedding size (the clone head's clone_dim)")
    parser.add_argument("-k", type=int, default=10, help="neighbours per function")
    parser.add_argument("--block-size", type=int, default=DEFAULT_BLOCK)
    parser.add_argument("--all-pairs-max-gib", type=float, default=2.0,
                        help="run all-pairs only when its n x n float32 matrix is at most this big")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/clone_search.json"))
    args = parser.parse_args()

    print(f"{'n':>8} {'load':>6} {'blocked s':>10} {'cpu s':>8} {'peak MiB':>10} {'pairs s':>10} {'peak MiB':>10} "
          f"{'agree':>9}")
    rows = run(args.sizes, args.dim, args.k, args.block_size, args.all_pairs_max_gib, args.seed)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss is KiB on Linux
    print(f"process peak RSS: {peak_rss_mib:.0f} MiB")
    report = {"benchmark": "clone_search", "numpy": np.__version__, "python": platform.python_version(),
              "machine": platform.machine(), "cpus": os.cpu_count(), "peak_rss_mib": round(peak_rss_mib, 1), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
