"""The study's numbers: per (method, setting) means and spreads, the table, and each claim checked in words.

Every comparison is paired by seed: a seed builds its own data (bug rewrites, clone transforms, splits'
examples), and every cell of that seed trains and is scored on it, so "MFT - SFT" is taken seed by seed
and its spread is the spread of that difference. A difference is called real when its mean is more than
twice its standard error (sd / sqrt(seeds)); with three seeds that is a rough screen, and the text says so.
"""

from __future__ import annotations

import math
import statistics

from training.study_cell import SETTINGS

METRICS = (("defect", "roc_auc", "defect ROC-AUC"), ("defect", "joint", "defect joint"),
           ("clone", "map_at_r", "clone MAP@R"), ("clone", "pair_f1", "clone F1"),
           ("summary", "bleu4", "summary BLEU-4"), ("summary", "rouge_l", "summary ROUGE-L"))
"""(task, metric key in the cell's test scores, heading): the task metrics of the table and the claims."""
PRIMARY = {"defect": "roc_auc", "clone": "map_at_r", "summary": "bleu4"}
"""The metric that decides whether a pair helps or hurts a task."""
PERCENT_SCALE = {"bleu4", "rouge_l"}
"""Metrics already on 0-100; the others are on 0-1 and shown x 100 as points."""
CLOSE_POINTS = 3.0
"""The published claim: MFT within about 1-3 points of SFT."""


def points(key: str, value: float) -> float:
    return value if key in PERCENT_SCALE else 100 * value


def spread(values: list[float]) -> tuple[float | None, float | None]:
    """(mean, sample standard deviation; None with fewer than two values)."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def real(diffs: list[float]) -> bool:
    """The mean difference exceeds twice its standard error."""
    mean, sd = spread(diffs)
    return mean is not None and sd is not None and abs(mean) > 2 * sd / math.sqrt(len(diffs))


def _score(cell: dict, task: str, key: str) -> float | None:
    return cell["test"].get(task, {}).get(key)


def by_cell(results: list[dict]) -> dict[tuple[str, str, int], dict]:
    return {(r["method"], r["setting"], r["seed"]): r for r in results}


def aggregate(results: list[dict]) -> dict[str, dict]:
    """"method/setting" -> seeds, each metric's (mean, sd) and the costs' means."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for cell in results:
        groups.setdefault((cell["method"], cell["setting"]), []).append(cell)
    out = {}
    for (method, setting), cells in groups.items():
        row = {"method": method, "setting": setting, "tasks": list(SETTINGS[setting]), "seeds": sorted(c["seed"] for c in cells)}
        for task, key, _ in METRICS:
            if task in SETTINGS[setting]:
                row[f"{task}.{key}"] = spread([_score(c, task, key) for c in cells])
        for key in ("module_params", "module_bytes", "head_params", "head_bytes", "trainable_params", "train_flops",
                    "train_seconds", "seconds", "scan_functions_per_second"):
            row[key] = spread([c.get(key) for c in cells])
        out[f"{method}/{setting}"] = row
    return out


def paired(cells: dict, method: str, setting: str, reference: str, task: str, key: str) -> list[float]:
    """Per seed, ``setting``'s score minus ``reference``'s (in points), where both cells exist."""
    seeds = sorted({s for (m, g, s) in cells if m == method and g == setting}
                   & {s for (m, g, s) in cells if m == method and g == reference})
    out = []
    for seed in seeds:
        a, b = _score(cells[method, setting, seed], task, key), _score(cells[method, reference, seed], task, key)
        if a is not None and b is not None:
            out.append(points(key, a) - points(key, b))
    return out


def _pm(mean: float | None, sd: float | None, digits: int = 1) -> str:
    if mean is None:
        return "-"
    return f"{mean:.{digits}f}" + ("" if sd is None else f" ± {sd:.{digits}f}")


def mft_vs_sft(results: list[dict]) -> list[dict]:
    """Claim 1: MFT against the single-task module of each task, per method and metric."""
    cells, out = by_cell(results), []
    for method in dict.fromkeys(r["method"] for r in results):
        for task, key, label in METRICS:
            diffs = paired(cells, method, "mft", task, task, key)
            if not diffs:
                continue
            mft = spread([points(key, _score(c, task, key)) for (m, g, _), c in cells.items() if m == method and g == "mft"
                          and _score(c, task, key) is not None])
            sft = spread([points(key, _score(c, task, key)) for (m, g, _), c in cells.items() if m == method and g == task
                          and _score(c, task, key) is not None])
            mean, sd = spread(diffs)
            verdict = ("MFT is better" if mean > 0 else f"within {CLOSE_POINTS:g} points" if mean >= -CLOSE_POINTS
                       else f"more than {CLOSE_POINTS:g} points behind")
            out.append({"method": method, "task": task, "metric": key, "mft": mft, "sft": sft, "diff": (mean, sd),
                        "seeds": len(diffs), "real": real(diffs), "holds": mean >= -CLOSE_POINTS,
                        "text": f"{method}, {label}: MFT {_pm(*mft)} vs SFT {_pm(*sft)}; MFT - SFT = {_pm(mean, sd)} "
                                f"points over {len(diffs)} seeds ({verdict}; "
                                f"{'a real difference' if real(diffs) else 'within the seed spread'})."})
    return out


def storage(results: list[dict]) -> list[dict]:
    """Claim 2: one MFT module against three single-task ones: trainable parameters and bytes."""
    agg, out = aggregate(results), []
    for method in dict.fromkeys(r["method"] for r in results):
        mft = agg.get(f"{method}/mft")
        singles = [agg.get(f"{method}/{task}") for task in SETTINGS["mft"]]
        if mft is None or None in singles:
            continue
        cell = next(r for r in results if r["method"] == method and r["setting"] == "mft")
        base = cell["total_params"] - cell["module_params"] - cell["head_params"] + (cell["module_params"] if method == "full" else 0)
        params, size = mft["module_params"][0], mft["module_bytes"][0]
        three = sum(s["module_params"][0] for s in singles), sum(s["module_bytes"][0] for s in singles)
        heads = mft["head_bytes"][0]
        out.append({"method": method, "module_params": params, "module_bytes": size, "share_of_base": params / base,
                    "three_sft_params": three[0], "three_sft_bytes": three[1], "ratio": size / three[1],
                    "per_task_bytes": size / 3, "head_bytes": heads,
                    "text": f"{method}: one MFT module trains {params:,.0f} parameters ({params / base:.2%} of the base's "
                            f"{base:,}) and stores {size / 1e6:.2f} MB for three tasks ({size / 3e6:.2f} MB a task); "
                            f"three SFT modules store {three[1] / 1e6:.2f} MB ({size / three[1]:.2f} of it: the task count "
                            f"divides storage). The heads add {heads / 1e6:.2f} MB to every module either way."})
    return out


def compute(results: list[dict]) -> list[dict]:
    """Claim 3: training one MFT module against three SFT ones (FLOPs, wall-clock), and scanning with it."""
    cells, out = by_cell(results), []
    for method in dict.fromkeys(r["method"] for r in results):
        flops, seconds, scan = [], [], []
        for seed in sorted({s for (m, g, s) in cells if m == method and g == "mft"}):
            mft, singles = cells[method, "mft", seed], [cells.get((method, t, seed)) for t in SETTINGS["mft"]]
            if None in singles:
                continue
            flops.append(mft["train_flops"] / sum(s["train_flops"] for s in singles))
            if mft.get("train_seconds") and all(s.get("train_seconds") for s in singles):
                seconds.append(mft["train_seconds"] / sum(s["train_seconds"] for s in singles))
            # Three single-task modules mean three forwards per function; one MFT module, one.
            scan.append(sum(1 / s["scan_functions_per_second"] for s in singles) * mft["scan_functions_per_second"])
        if not flops:
            continue
        f, s, c = spread(flops), spread(seconds), spread(scan)
        out.append({"method": method, "flops_ratio": f, "seconds_ratio": s, "scan_speedup": c,
                    "text": f"{method}: training one MFT module costs {_pm(*f, 2)} of the FLOPs of three SFT modules "
                            f"({_pm(*s, 2)} of their training wall-clock) with the same steps, so it saves "
                            f"{_pm(100 * (1 - f[0]), None, 0)} % of the compute; scanning with it is {_pm(*c, 2)} x "
                            f"as fast as running three single-task modules (one forward per function, not three)."})
    return out


def pairs(results: list[dict]) -> list[dict]:
    """Claim 4: which pairs help and which hurt each task (against that task alone), and the asymmetries."""
    cells, out = by_cell(results), []
    for method in dict.fromkeys(r["method"] for r in results):
        for setting, tasks in SETTINGS.items():
            if len(tasks) != 2:
                continue
            effects = {}
            for task in tasks:
                key = PRIMARY[task]
                diffs = paired(cells, method, setting, task, task, key)
                if diffs:
                    mean, sd = spread(diffs)
                    effects[task] = {"metric": key, "diff": (mean, sd), "seeds": len(diffs), "real": real(diffs),
                                     "effect": ("helps" if mean > 0 else "hurts") if real(diffs) else "no real difference"}
            if len(effects) < 2:
                continue
            a, b = tasks
            asymmetric = {effects[a]["effect"], effects[b]["effect"]} == {"helps", "hurts"}
            words = "; ".join(f"{t} {e['effect']} ({PRIMARY[t]} {_pm(*e['diff'])} points)" for t, e in effects.items())
            out.append({"method": method, "pair": setting, "effects": effects, "asymmetric": asymmetric,
                        "text": f"{method}, {a} with {b}: {words}" + (" - asymmetric: it helps one task and hurts the "
                                                                      "other." if asymmetric else ".")})
    return out


def zero_shot_claims(results: list[dict], zeroshot: dict[str, dict]) -> list[dict]:
    """Claim 5: the base model's own scores against the fine-tuned MFT modules, task by task."""
    if not zeroshot:
        return []
    out = []
    seeds = sorted(zeroshot)
    defect = [zeroshot[s].get("defect", {}) for s in seeds]
    names = [k for k in (defect[0] if defect else {}) if k not in ("zero-shot", "examples", "functions")]
    for key in ("roc_auc", "joint"):
        base = spread([d["zero-shot"][key] for d in defect if d and d["zero-shot"].get(key) is not None])
        if base[0] is None:
            continue
        modules = {n: spread([d[n][key] for d in defect if d.get(n) and d[n].get(key) is not None]) for n in names}
        out.append({"task": "defect", "metric": key, "zero_shot": base, "modules": modules,
                    "text": f"defect {key} on {defect[0].get('examples', 0)} test examples a seed: base likelihood of the "
                            f"repair {_pm(*base, 3)}; " + ", ".join(f"{n} heads {_pm(*v, 3)}" for n, v in modules.items()) + "."})
    cells = by_cell(results)
    for task, key in (("clone", "map_at_r"), ("clone", "map_at_r_embedding"), ("clone", "pair_f1"),
                      ("summary", "bleu4"), ("summary", "rouge_l")):
        base = spread([points(key, zeroshot[s][task][key]) for s in seeds
                       if zeroshot[s].get(task, {}).get(key) is not None])
        if base[0] is None:
            continue
        modules = {}
        for method in dict.fromkeys(r["method"] for r in results):
            values = [points(key, _score(c, task, key)) for (m, g, s), c in cells.items()
                      if m == method and g == "mft" and str(s) in zeroshot and _score(c, task, key) is not None]
            if values:
                modules[method] = spread(values)
        what = {"clone": "raw hidden states (with Jaccard, as a scan fuses them)", "summary": "greedy summary"}[task]
        if key == "map_at_r_embedding":
            what = "raw hidden states alone (embedding without Jaccard on both sides)"
        out.append({"task": task, "metric": key, "zero_shot": base, "modules": modules,
                    "text": f"{task} {key} (points): base {what} {_pm(*base)}; "
                            + ", ".join(f"{m} MFT {_pm(*v)}" for m, v in modules.items()) + "."})
    return out


def claims(results: list[dict], zeroshot: dict[str, dict]) -> dict[str, list[dict]]:
    return {"mft_vs_sft": mft_vs_sft(results), "storage": storage(results), "compute": compute(results),
            "pairs": pairs(results), "zero_shot": zero_shot_claims(results, zeroshot)}


def _size(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {suffix}{unit}".rstrip()
    return f"{value:.0f} {unit}".rstrip()


def table(results: list[dict], methods: list[str], settings: list[str]) -> str:
    """The Markdown table: one row per (method, setting) in grid order, mean ± sd over the seeds."""
    agg = aggregate(results)
    head = (["method", "setting", "seeds"] + [label for _, _, label in METRICS]
            + ["trainable params", "module bytes", "train FLOPs", "train s", "scan functions/s"])
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for method in methods:
        for setting in settings:
            row = agg.get(f"{method}/{setting}")
            if row is None:
                continue
            cells = [method, setting, str(len(row["seeds"]))]
            for task, key, _ in METRICS:
                value = row.get(f"{task}.{key}")
                scale = 1 if key in PERCENT_SCALE else 100
                cells.append("-" if value is None or value[0] is None
                             else _pm(scale * value[0], None if value[1] is None else scale * value[1]))
            cells += [_size(row["trainable_params"][0]), _size(row["module_bytes"][0], "B"),
                      _size(row["train_flops"][0]), _pm(*row["train_seconds"], 0), _pm(*row["scan_functions_per_second"], 0)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
