"""Smoke tests of the benchmark suite: every benchmark runs at toy size and returns well-formed rows.

No timing is asserted (these are not performance tests); the FLOP counting and the target check are
asserted exactly, since every ratio the suite reports depends on them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks import (
    baselines,
    cache,
    clones,
    coldscan,
    common,
    defect_likelihood,
    hook,
    memory,
    model,
    parse,
    ray_scan,
    run,
    shapes,
    sites,
    training,
)
from benchmarks.common import BenchContext, Figure, native_dtype_label

UNITS = {"MB/s", "functions/s", "s", "MiB", "GFLOP/s", "tokens/s", "params", "min", "score", "findings", "strings"}


pytestmark = pytest.mark.slow


@pytest.fixture
def ctx(tmp_path, tiny_llama, tiny_llama_adapter) -> BenchContext:
    context = BenchContext(workdir=tmp_path, quick=True, model=str(tiny_llama), adapter=str(tiny_llama_adapter),
                           workers=1, threads=1)
    context._cache["ceilings"] = {"bf16": 100.0, "fp32": 50.0, "native": 50.0}  # the real 2048^3 measurement takes seconds
    return context


def assert_well_formed(rows: list[Figure], benchmark: str) -> None:
    assert rows, "a benchmark returns at least one figure"
    for row in rows:
        assert isinstance(row, Figure)
        assert row.benchmark == benchmark
        assert row.name and row.name != "error", row.note
        assert row.unit in UNITS
        assert row.value is not None and math.isfinite(row.value) and row.value >= 0, (row.name, row.note)
        if row.reference_value is not None:
            assert row.reference
        if row.reference_value:  # rounded to 0 at toy sizes: no ratio
            assert row.ratio == pytest.approx(row.value / row.reference_value)
        if row.target is not None and row.ratio is not None:
            assert row.met in (True, False)
        json.dumps(row.as_dict())


def test_parse(ctx, monkeypatch):
    monkeypatch.setattr(parse, "QUICK_PACKAGES", ("json",))
    rows = parse.run(ctx)
    assert_well_formed(rows, "parse")
    assert rows[0].detail["files"] == 5 and rows[0].detail["functions"] > 20


def test_model_scan_and_prefill(ctx, monkeypatch, tiny_llama):
    monkeypatch.setattr(model, "QUICK_PACKAGES", ("json",))
    rows = model.scan_figures(ctx)
    assert_well_formed(rows, "model")
    assert rows[0].detail["naive"]["functions"] == rows[0].detail["functions"]
    assert rows[1].name == "engine, LoRA merged into the weights" and set(rows[1].detail) == {"merged", "unmerged"}
    results = model.prefill_variants(ctx, "tiny", str(tiny_llama), batches=1, batch=2, length=16)
    native = native_dtype_label(ctx)  # bf16 where the CPU computes it natively, else fp32
    assert [name for name, _ in results] == [f"prefill tiny {native}", "prefill tiny int8", "prefill tiny nf4"]
    assert_well_formed([model.prefill_figure(ctx, name, got) for name, got in results], "model")


def test_cache(ctx, monkeypatch):
    monkeypatch.setattr(cache, "QUICK_PACKAGES", ("json",))
    rows = cache.run(ctx)
    assert_well_formed(rows, "cache")
    assert [r.name for r in rows] == [
        "warm re-scan (in process, model loaded)", "re-scan after a one-file change (in process, model loaded)",
        "warm re-scan (codelens scan, fresh process)", "re-scan after a one-file change (codelens scan, fresh process)",
    ]
    counts = rows[0].detail
    assert counts["warm"]["computed"] == 0 and counts["changed"]["computed"] == 1


def test_hook(ctx, monkeypatch):
    monkeypatch.setattr(hook, "FILES", 3)
    monkeypatch.setattr(hook, "FUNCTIONS_PER_FILE", 4)
    monkeypatch.setattr(hook, "REPEATS", 1)
    rows = hook.run(ctx)
    assert_well_formed(rows, "hook")
    detail = rows[0].detail
    assert rows[0].name == "one-file change, 12 functions, warm cache" and rows[0].target == "<= 3"
    assert detail["changed_file"] == "mod_02.py" and detail["warm_up"]["computed"] == 12
    # The hook scanned the changed file's 4 functions: the edited one computed, the other 3 from the cache.
    assert detail["hook_counts"] == [{"functions": 4, "cache_hits": 3}]
    server = rows[1]
    assert server.name == "same, with the background server (as under pre-commit)" and server.target == "<= 1.5"
    assert server.reference_value == rows[0].value and server.detail["hook_counts"] == detail["hook_counts"]
    assert server.detail["requests_served"] == 1  # the timed hook's function ran in the server


def test_hook_repository_is_deterministic(tmp_path):
    import ast

    sources = [hook.function_source(f, i) for f in range(hook.FILES) for i in range(hook.FUNCTIONS_PER_FILE)]
    assert len(set(sources)) == 500  # no two functions alike: 500 results for the cache to hold
    assert sum(s.startswith("def ") and '"""' in s for s in sources) == 250
    edited = hook.module_source(7, 10, {3: 10})
    assert len(ast.parse(edited).body) == 11 and edited.count("\n") == hook.module_source(7, 10).count("\n")
    repo = hook.build_repo(tmp_path / "repo", files=2, functions=3)
    assert (repo / "mod_01.py").read_text(encoding="utf-8") == hook.module_source(1, 3)
    assert hook.scanned_counts("No findings.\nScanned 10 functions in 1 file; 9 cache hits; 0.53 s.\n") == {
        "functions": 10, "cache_hits": 9}


def test_coldscan(ctx, monkeypatch):
    monkeypatch.setattr(coldscan, "QUICK_PACKAGES", ("json",))
    rows = coldscan.run(ctx)
    assert_well_formed(rows, "coldscan")
    assert rows[0].name == "cold `codelens scan`, json" and rows[0].target == ">= 30"
    detail = rows[0].detail
    assert detail["functions"] > 20 and detail["computed"] == detail["unique"]


def test_clones(ctx, monkeypatch):
    monkeypatch.setattr(clones, "QUICK_SIZES", (50, 120))
    rows = clones.run(ctx)
    assert_well_formed(rows, "clones")
    assert [r.detail["n"] for r in rows] == [50, 50, 120, 120]
    assert rows[0].detail["agreement"] == 1.0


def test_memory(ctx, monkeypatch):
    # Standard sizes (whole Lib/ parse-only, a model-scanned subset, the projection), all on json alone.
    ctx.quick = False
    monkeypatch.setattr(ctx, "stdlib", lambda packages=None: common.copy_stdlib(ctx.workdir / "json-only", ("json",)))
    rows = memory.run(ctx)
    assert_well_formed(rows, "memory")
    assert [r.name for r in rows] == ["peak RSS, parse only, whole Lib/", "peak RSS, model scan, json + email",
                                      "projected cold scan time, whole Lib/"]
    assert [r.detail["functions"] for r in rows] == [rows[0].detail["functions"]] * 3
    assert 0 < rows[0].value < rows[1].value  # the model scan's process holds torch and the model


def test_training(ctx, monkeypatch):
    monkeypatch.setattr(training, "QUICK_SPLITS", {"train": ("json",), "val": ("html",), "test": ("dbm",)})
    monkeypatch.setattr(training, "QUICK_STEPS", (2, 4))
    rows = training.run(ctx)
    assert_well_formed(rows, "training")
    params = rows[-1]
    assert params.ratio == pytest.approx(1 / 3)  # one LoRA + heads against three of the same size


def test_baselines(ctx, monkeypatch):
    from tests.train.data.independent_corpus import build_corpus

    monkeypatch.setattr(baselines, "stage_corpus", lambda dest, files, *args, **kwargs: build_corpus(dest))
    monkeypatch.setattr(baselines, "QUICK_SUMMARIES", 3)
    rows = baselines.run(ctx)
    assert_well_formed(rows, "baselines")
    assert [r.name for r in rows] == [
        "clone MAP@R", "clone pair F1", "clone MAP@R, identifiers renamed", "clone pair F1, identifiers renamed",
        "summary smoothed BLEU-4", "summary ROUGE-L", "CL200 on 1-2 statement literal-only twins",
        "CL300 with a suggestion", "CL300 distinct suggestions", "CL300 suggestions repeating a 3-word phrase"]
    clones_row = rows[0].detail
    assert (clones_row["classes"], clones_row["items"]) == (2, 8)  # the test split of the toy corpus
    assert rows[2].detail["renamed_bodies"] > 0
    assert rows[4].detail["examples"] == 3
    assert rows[6].value == 0 and rows[6].met is True
    counts = rows[7].detail
    assert counts["cl300"] == counts["cl300_with_suggestion"] + counts["cl300_without"] > 0
    assert rows[8].value <= rows[8].reference_value == counts["cl300_with_suggestion"]
    assert rows[9].value == counts["cl300_repeating_a_phrase"]


def test_a_looping_summary_repeats_a_phrase():
    assert baselines.repeats_a_phrase("Return the x of b -> (x, b) -> (x, b) -> (x.")
    assert not baselines.repeats_a_phrase("Return the sum of the positive weights of the items.")
    assert not baselines.repeats_a_phrase("Return the value")


def test_defect_likelihood(ctx, monkeypatch):
    from tests.train.data.independent_corpus import build_corpus

    monkeypatch.setattr(baselines, "stage_corpus", lambda dest, files, *args, **kwargs: build_corpus(dest))
    rows = defect_likelihood.run(ctx)
    assert_well_formed(rows, "defect_likelihood")
    assert [r.name for r in rows] == ["CL100 ROC-AUC", "CL100 localisation", "CL100 joint localisation + repair",
                                      "CL100 false alarms per 1,000 clean"]
    detail = rows[0].detail
    assert detail["heads"]["buggy"] == detail["likelihood"]["buggy"] > 0


def test_likelihood_candidates_are_the_repair_heads_own():
    from codelens.parsing.sites import edit_sites, repair_candidates

    code = "def last(items, value):\n    for i in range(len(items) - 1, 0, -1):\n        if items[i] == value:\n" \
           "            return i\n    return -1\n"
    candidates = defect_likelihood.candidate_repairs(code)
    expected = {((s.start, s.end), r) for s in edit_sites(code) for r in repair_candidates(s) if r != s.text}
    assert {(site, repair) for site, repair, _ in candidates} == expected
    zero = code.index(", 0,") + 2  # an off-by-one literal site: the tables offer its neighbour, as a rewrite made it
    assert ((zero, zero + 1), "1", code[:zero] + "1" + code[zero + 1:]) in candidates


def test_sites(ctx, monkeypatch):
    monkeypatch.setattr(sites, "PACKAGES", ("json",))
    rows = sites.run(ctx)
    assert_well_formed(rows, "sites")
    detail = rows[0].detail
    assert detail["functions"] == detail["parsed"] > 20 and detail["sites"] > detail["functions"]


def test_shapes(ctx, monkeypatch):
    monkeypatch.setattr(shapes, "QUICK_CANDIDATES", ((64, 2, 2),))
    monkeypatch.setattr(shapes, "NANO", (32, 1, 2))
    monkeypatch.setattr(coldscan, "QUICK_PACKAGES", ("json",))
    rows = shapes.run(ctx)
    assert_well_formed(rows, "shapes")
    assert rows[0].name.startswith("cold scan d=64 x 2 layers, 16k vocab")
    assert rows[0].detail["parameters"] > 0


def test_ray(ctx):
    pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[test,ray]'")
    rows = ray_scan.run(ctx)
    assert_well_formed(rows, "ray")
    assert [r.reference for r in rows] == ["local engine, 1 thread", "1 Ray worker", "local engine, 2 threads",
                                           "model load in this process"]
    assert rows[0].detail["functions"] > 0 and rows[0].target == ray_scan.OVERHEAD_TARGET


def test_flop_counts_are_exact():
    from transformers import LlamaConfig

    config = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=600)
    # q, o: 64 x 64; k, v: 64 x 32 (2 kv heads of 16); MLP: 3 x 64 x 128 -> per layer 4096*2 + 2048*2 + 24576.
    assert common.matmul_params(config) == 2 * (8192 + 4096 + 24576)
    assert common.prefill_flops(config, [10]) == 2 * 73728 * 10 + 2 * 2 * 64 * 100
    assert training.train_flops(config, [10]) == 2 * (2 * 73728 * 10) + 3 * (2 * 2 * 64 * 100)


def test_check_targets():
    assert common.check(0.8, ">= 0.8") is True
    assert common.check(0.79, ">= 0.8") is False
    assert common.check(0.05, "<= 0.05") is True
    assert common.check(61.0, "< 60") is False
    assert common.check(None, ">= 5") is None
    assert common.ratio_of(1.0, 0.0) is None


def test_run_writes_table_and_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(clones, "QUICK_SIZES", (40,))
    out = tmp_path / "bench.json"
    assert run.main(["--quick", "--only", "clones", "--json", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["mode"] == "quick"
    assert [f["name"] for f in report["figures"]] == ["blocked top-k, n=40", "blocked top-k peak memory, n=40"]
    assert "blocked top-k, n=40" in capsys.readouterr().out


def test_failing_benchmark_becomes_an_error_row(tmp_path, monkeypatch):
    def broken(ctx):
        raise RuntimeError("no corpus here")

    monkeypatch.setattr(parse, "run", broken)
    rows, seconds = run.run_benchmarks(BenchContext(workdir=tmp_path), ["parse"])
    assert [(r.benchmark, r.name, r.note) for r in rows] == [("parse", "error", "RuntimeError: no corpus here")]
    assert set(seconds) == {"parse"}


def test_unknown_benchmark_is_a_usage_error():
    with pytest.raises(SystemExit):
        run.parse_args(["--only", "parse,nope"])


def test_stdlib_copy_keeps_only_python_files(tmp_path):
    dest = common.copy_stdlib(tmp_path / "lib", ("json", "tomllib", "this"))
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert "this.py" in files and "json/__init__.py" in files and "tomllib/_parser.py" in files
    assert all(name.endswith(".py") for name in files)
    assert not any("__pycache__" in name for name in files)


def test_tests_import_the_repository_benchmarks():
    assert Path(run.__file__).resolve().parent == Path(__file__).resolve().parents[2] / "benchmarks"
