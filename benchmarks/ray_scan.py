"""Ray benchmark: a distributed scan's overhead against the local engine, and what a second worker adds.

    python -m benchmarks.run --only ray            # needs the ray extra: pip install -e '.[test,ray]'

The engine (``analyse``) scores the same distinct functions (stdlib packages; --quick: json) with the
model loaded once on each side: in this process (``LocalScorer``) and in Ray workers (``RayScorer``) on a
Ray instance this benchmark starts on loopback. Every side gets one warm-up on a few functions first (the
workers start and load the model then), and the sides are alternated, the fastest repeat kept. Figures:

- overhead at one worker: one Ray worker with one torch thread against the local engine with one thread,
  seconds for the same functions (target: at most 15 % slower);
- two workers of one thread each (this machine's two cores) against one: the throughput a second
  worker adds (2 on two idle cores), and against the local engine with two threads on the same cores;
- worker start: spawning a worker process, its imports and the model load, against loading the model
  in this process.
"""

from __future__ import annotations

import os
import tempfile

from benchmarks.common import BenchContext, Figure, check, ratio_of, timed

QUICK_PACKAGES = ("json",)
STANDARD_PACKAGES = ("json", "email")
"""About 550 functions: tens of seconds per side on one core with codelens-nano."""
OVERHEAD_TARGET = "<= 1.15"
WARM_UP = 8
"""Functions scored before timing: the workers start and load the model on these."""


LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
"""Ray's settings for this run: addresses on 127.0.0.1 (read when ray is first imported), no usage reports, and
no token authentication, which a new local instance would switch on by writing a token to ~/.ray."""


def _ray_instance(cpus: int):
    """A Ray instance on loopback for this run (or the one this process already joined): (ray, started here)."""
    for name, value in LOOPBACK.items():
        os.environ.setdefault(name, value)
    import ray

    if ray.is_initialized():
        return ray, False
    ray.init(num_cpus=cpus, include_dashboard=False, object_store_memory=100_000_000, logging_level="ERROR",
             log_to_driver=False, _temp_dir=tempfile.mkdtemp(prefix="ray-"))
    return ray, True


def run(ctx: BenchContext) -> list[Figure]:
    from benchmarks.model import distinct_units, quiet
    from codelens.engine import EngineSettings, LocalScorer, analyse
    from codelens.engine.ray_scorer import RayScorer
    from codelens.model.loading import ModelSpec, load_model

    base, adapter, source = ctx.default_pair()
    units = distinct_units(ctx.stdlib(QUICK_PACKAGES if ctx.quick else STANDARD_PACKAGES))
    warm, units = units[:WARM_UP], units[WARM_UP:]
    spec = ModelSpec(model=base, adapter=adapter, device=ctx.device)
    loaded, load_s = timed(load_model, spec)
    one, two = EngineSettings(threads=1), EngineSettings(threads=2)
    # Logical CPUs: both pools stay up (idle workers cost memory, not cores) so the sides can alternate.
    ray, started = _ray_instance(cpus=3)
    pools = {"ray1": RayScorer(spec, loaded, one, workers=1, cpus_per_worker=1),
             "ray2": RayScorer(spec, loaded, one, workers=2, cpus_per_worker=1)}
    sides = {"local1": (one, LocalScorer(loaded, one)), "ray1": (one, pools["ray1"]),
             "ray2": (one, pools["ray2"]), "local2": (two, LocalScorer(loaded, two))}
    best: dict[str, float] = {}
    start_s: dict[str, float] = {}
    try:
        with quiet():
            for name, (settings, scorer) in sides.items():
                _, start_s[name] = timed(analyse, warm, loaded, settings, scorer=scorer)
            for _ in range(1 if ctx.quick else 2):
                for name, (settings, scorer) in sides.items():
                    _, seconds = timed(analyse, units, loaded, settings, scorer=scorer)
                    best[name] = min(best.get(name, float("inf")), seconds)
    finally:
        for pool in pools.values():
            pool.close()
        if started:
            ray.shutdown()
    n = len(units)
    rate = {name: n / seconds for name, seconds in best.items()}
    detail = {"model": source, "functions": n, "seconds": {k: round(v, 3) for k, v in best.items()},
              "warm_up_seconds": {k: round(v, 3) for k, v in start_s.items()}}
    overhead = ratio_of(best["ray1"], best["local1"])
    return [
        Figure("ray", "1 Ray worker (1 thread), engine seconds", best["ray1"], "s", "local engine, 1 thread",
               best["local1"], overhead, OVERHEAD_TARGET, check(overhead, OVERHEAD_TARGET),
               "same functions, model loaded on both sides; ratio = overhead + 1", detail),
        Figure("ray", "2 Ray workers (1 thread each)", rate["ray2"], "functions/s", "1 Ray worker",
               rate["ray1"], ratio_of(rate["ray2"], rate["ray1"]), note="2 on two idle cores", detail=detail),
        Figure("ray", "2 Ray workers (1 thread each) vs threads", rate["ray2"], "functions/s",
               "local engine, 2 threads", rate["local2"], ratio_of(rate["ray2"], rate["local2"]),
               note="processes against threads on the same two cores", detail=detail),
        Figure("ray", "worker start (process, imports, model load)", start_s["ray1"], "s",
               "model load in this process", load_s, ratio_of(start_s["ray1"], load_s),
               note=f"first {len(warm)} functions included on the Ray side", detail=detail),
    ]
