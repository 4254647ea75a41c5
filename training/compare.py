"""Several adapters scored on the same held-out examples: whether a new model beats the shipped one.

A model ships only when it beats the shipped one on the test split on every task (issue 16). Rebuilding the
task data for each adapter's own settings would compare them on different examples (the shipped adapter was
trained on other bug kinds, on another corpus); here every adapter is scored on one TaskData, read from a
build's data cache with the settings of the first adapter given (the candidate), each with the thresholds
and calibration it ships with, through the runtime's forward pass (codelens.train.evaluate).

    python -m training.compare --data-from runs/v3/codelens-nano/adapter --corpus runs/v3/corpus \\
        --cache runs/v3/taskdata runs/v3/codelens-nano/adapter models/codelens-nano/adapter --out runs/compare.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROWS = (
    ("defect", "roc_auc"), ("defect", "localisation"), ("defect", "joint"), ("defect", "precision"),
    ("defect", "recall"), ("defect", "false_alarms_per_1000"), ("clone", "map_at_r"), ("clone", "pair_f1"),
    ("clone", "independent_map_at_r"), ("clone", "independent_map_at_r_jaccard"), ("summary", "bleu4"),
    ("summary", "rouge_l"), ("summary", "shown"),
)
"""The metrics the comparison table shows, as (task, key) of ``task_metrics``."""
LOWER_IS_BETTER = frozenset({"false_alarms_per_1000"})


def shared_data(data_from: Path, corpus: Path, cache: Path | None, split: str, max_functions: int | None):
    """The held-out examples every adapter is scored on: built (or read from ``cache``) with the training
    settings of the adapter in ``data_from``."""
    from codelens.model.adapter_meta import AdapterMetadata
    from codelens.train.data.dataset import cached_task_data
    from codelens.train.evaluate import data_config_of

    meta = AdapterMetadata.load(data_from)
    trained = meta.training.get("config") or {}
    cfg = data_config_of(meta, trained.get("split_by"), trained.get("manifest"))
    data = cached_task_data([Path(corpus)], [], cfg, cache)
    limit = max_functions if max_functions is not None else trained.get("max_eval_functions")
    return data.split(split).sample_functions(limit)


def score(adapter: Path, data, max_summaries: int | None, device: str = "auto") -> dict:
    """``task_metrics`` of one adapter (on its own base) on ``data``, with its shipped decisions."""
    from codelens.model.loading import LazyModel, ModelSpec
    from codelens.train.evaluate import score_split, task_metrics

    loaded = LazyModel(ModelSpec(adapter=str(adapter), device=device)).load()
    scored = score_split(loaded, data.for_tasks(loaded.meta.tasks), max_summaries)
    return task_metrics(scored, loaded.meta.thresholds, loaded.meta.calibration)


def table(names: list[str], results: list[dict]) -> str:
    """Markdown: one row per metric, one column per adapter, the best of each row in bold."""
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for task, key in ROWS:
        values = [r.get(task, {}).get(key) for r in results]
        known = [v for v in values if isinstance(v, (int, float))]
        best = (min if key in LOWER_IS_BETTER else max)(known) if known else None
        cells = ["-" if v is None else (f"**{v:.3f}**" if v == best and len(known) > 1 else f"{v:.3f}")
                 for v in values]
        lines.append(f"| {task} {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def beats(candidate: dict, shipped: dict) -> dict[str, bool]:
    """Per task, whether the candidate is at least as good as the shipped adapter on that task's headline
    metric (defect ROC-AUC, clone MAP@R, summary BLEU-4)."""
    heads = {"defect": "roc_auc", "clone": "map_at_r", "summary": "bleu4"}
    out = {}
    for task, key in heads.items():
        new, old = candidate.get(task, {}).get(key), shipped.get(task, {}).get(key)
        if new is not None and old is not None:
            out[task] = new >= old
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.compare", description=__doc__.splitlines()[0])
    parser.add_argument("adapters", nargs="+", type=Path, help="adapter folders; the first is the candidate")
    parser.add_argument("--data-from", type=Path, help="whose training settings build the data (default: the first)")
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None, help="the build's task data cache folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-functions", type=int, default=None)
    parser.add_argument("--max-summaries", type=int, default=400)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    data = shared_data(args.data_from or args.adapters[0], args.corpus, args.cache, args.split, args.max_functions)
    results = [score(a, data, args.max_summaries) for a in args.adapters]
    names = [str(a) for a in args.adapters]
    print(f"{args.split} split: {data.counts()}")
    print(table(names, results))
    verdict = beats(results[0], results[1]) if len(results) > 1 else {}
    if verdict:
        print("candidate at least as good as the shipped adapter: " + ", ".join(f"{t} {'yes' if ok else 'NO'}"
                                                                           for t, ok in verdict.items()))
    if args.out:
        args.out.write_text(json.dumps({"split": args.split, "counts": data.counts(), "adapters": names,
                                        "metrics": results, "beats": verdict}, indent=1) + "\n")


if __name__ == "__main__":
    main()
