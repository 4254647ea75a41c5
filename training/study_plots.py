"""The study's plots (PNG, matplotlib: the ``plots`` extra), drawn from its results, never by hand.

    mft-vs-sft.png   per task, each method's single-task and multi-task score (mean, error bar = sd)
    pairs.png        per task, the change each other task brings when trained with it (pair - SFT, MFT -
                     SFT, paired by seed; error bar = sd of the difference)
    cost.png         per method: module storage (one MFT module against three SFT), training FLOPs (the
                     same), scan functions/s (one MFT module against three SFT modules run in turn)
    zero-shot.png    per task, the base model on its own against each method's MFT module
"""

from __future__ import annotations

from pathlib import Path

from codelens.errors import ConfigError
from training.study_cell import SETTINGS
from training.study_report import PRIMARY, aggregate, by_cell, paired, points, spread

COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _figure(columns: int):
    try:
        import matplotlib
    except ImportError as exc:
        raise ConfigError("the study's plots need matplotlib, which is not installed",
                          hint="pip install -c constraints.txt -e '.[plots]'") from exc

    matplotlib.use("Agg")  # files only: no display, whatever the environment says
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False, "axes.spines.right": False})
    return plt, *plt.subplots(1, columns, figsize=(3.6 * columns + 0.4, 3.3), squeeze=False)


def _save(plt, fig, path: Path, dpi: int) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi, metadata={"Software": None})  # no version stamp: same numbers, same file
    plt.close(fig)
    return path


def _bars(ax, groups: list[str], series: dict[str, list[tuple[float | None, float | None]]]) -> None:
    """Grouped bars: one group per entry of ``groups``, one bar per series, error bars where there is an sd."""
    width = 0.8 / max(1, len(series))
    for index, (name, values) in enumerate(series.items()):
        xs = [g + (index - (len(series) - 1) / 2) * width for g in range(len(groups))]
        heights = [v[0] if v[0] is not None else 0.0 for v in values]
        errors = [v[1] if v[1] is not None else 0.0 for v in values]
        ax.bar(xs, heights, width, yerr=errors, capsize=2, label=name, color=COLOURS[index % len(COLOURS)])
    ax.set_xticks(range(len(groups)), groups)
    ax.grid(axis="y", alpha=0.3)


def plot_mft_vs_sft(results: list[dict], methods: list[str], path: Path, dpi: int = 100) -> Path:
    agg = aggregate(results)
    plt, fig, axes = _figure(3)
    for ax, (task, key) in zip(axes[0], PRIMARY.items()):
        series = {}
        for label, setting in (("SFT", task), ("MFT", "mft")):
            values = []
            for method in methods:
                mean, sd = agg.get(f"{method}/{setting}", {}).get(f"{task}.{key}", (None, None))
                values.append((None if mean is None else points(key, mean), None if sd is None else points(key, sd)))
            series[label] = values
        _bars(ax, methods, series)
        ax.set(title=f"{task}: {key} (points)", ylabel="test score")
        ax.legend(frameon=False)
    return _save(plt, fig, path, dpi)


def plot_pairs(results: list[dict], methods: list[str], path: Path, dpi: int = 100) -> Path:
    cells = by_cell(results)
    plt, fig, axes = _figure(3)
    for ax, (task, key) in zip(axes[0], PRIMARY.items()):
        partners = [s for s, tasks in SETTINGS.items() if task in tasks and len(tasks) > 1]
        series = {s.replace(task, "").strip("+").replace("+", " + ") or s: [spread(paired(cells, m, s, task, task, key))
                                                                          for m in methods] for s in partners}
        _bars(ax, methods, series)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set(title=f"{task}: {key}, with - alone", ylabel="points (paired by seed)")
        ax.legend(frameon=False, title="trained with")
    return _save(plt, fig, path, dpi)


def plot_cost(results: list[dict], methods: list[str], path: Path, dpi: int = 100) -> Path:
    agg = aggregate(results)
    plt, fig, axes = _figure(3)
    panels = (("module_bytes", "module size (MB)", 1e6), ("train_flops", "training FLOPs (TFLOP)", 1e12),
              ("scan_functions_per_second", "scan functions / s", 1.0))
    for ax, (key, label, scale) in zip(axes[0], panels):
        mft, three = [], []
        for method in methods:
            row = agg.get(f"{method}/mft", {}).get(key, (None, None))
            singles = [agg.get(f"{method}/{t}", {}).get(key, (None, None))[0] for t in SETTINGS["mft"]]
            mft.append((None if row[0] is None else row[0] / scale, None if row[1] is None else row[1] / scale))
            if None in singles:
                three.append((None, None))
            elif key == "scan_functions_per_second":  # three modules run one after another
                three.append((1 / sum(1 / s for s in singles), None))
            else:
                three.append((sum(singles) / scale, None))
        _bars(ax, methods, {"one MFT module": mft, "three SFT modules": three})
        if key == "module_bytes":
            ax.set_yscale("log")
        ax.set(title=label)
        ax.legend(frameon=False)
    return _save(plt, fig, path, dpi)


def plot_zero_shot(claims: list[dict], path: Path, dpi: int = 100) -> Path | None:
    chosen = {c["task"]: c for c in claims if c["metric"] in ("roc_auc", "map_at_r", "bleu4")}
    if not chosen:
        return None
    plt, fig, axes = _figure(len(chosen))
    for ax, (task, claim) in zip(axes[0], chosen.items()):
        names = ["base alone"] + list(claim["modules"])
        values = [claim["zero_shot"]] + list(claim["modules"].values())
        scale = 100 if task == "defect" else 1  # defect ROC-AUC is stored on 0-1, the others already in points
        heights = [(None if m is None else scale * m, None if s is None else scale * s) for m, s in values]
        _bars(ax, names, {claim["metric"]: heights})
        ax.set(title=f"{task}: {claim['metric']} (points)")
        ax.tick_params(axis="x", labelrotation=30)
    return _save(plt, fig, path, dpi)


def make_plots(results: list[dict], claims: dict, methods: list[str], folder: Path, dpi: int = 100) -> list[Path]:
    """Every plot the results allow, into ``folder``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [plot_mft_vs_sft(results, methods, folder / "mft-vs-sft.png", dpi),
               plot_pairs(results, methods, folder / "pairs.png", dpi),
               plot_cost(results, methods, folder / "cost.png", dpi)]
    zero = plot_zero_shot(claims.get("zero_shot", []), folder / "zero-shot.png", dpi)
    return written + ([zero] if zero else [])
