"""training/plots.py: the model card's plots from stored numbers, or from the split scored again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from codelens.errors import ConfigError
from codelens.model.adapter_meta import AdapterMetadata

pytest.importorskip("matplotlib", reason="the plots extra is not installed: pip install -e '.[plots]'")

from training.plots import PlotConfig, make_plots, parse_args, plot_thresholds, read_log, split_metrics  # noqa: E402

NANO = Path(__file__).resolve().parents[2] / "models" / "codelens-nano" / "adapter"
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
CURVES = {
    "defect": {"reliability": [[0.0, 0.1, 40, 0.05, 0.1], [0.5, 0.6, 10, 0.55, 0.5], [0.9, 1.0, 5, 0.95, 0.8]],
               "threshold_curve": [[0.1, 0.3, 1.0], [0.5, 0.6, 0.7], [0.9, 0.9, 0.2]]},
    "clone": {"reliability": [[0.2, 0.3, 30, 0.25, 0.2], [0.8, 0.9, 30, 0.85, 0.9]],
              "threshold_curve": [[0.5, 0.5, 1.0], [0.8, 0.8, 0.6], [0.95, 1.0, 0.1]]},
    "summary": {"reliability": [[0.1, 0.2, 50, 0.15, 0.3], [0.4, 0.5, 10, 0.45, 0.6]],
                "threshold_curve": [[-3.0, 0.4, 1.0], [-1.5, 0.6, 0.4], [-0.5, 0.8, 0.1]]},
}


def adapter_with(tmp_path: Path, curves: dict | None, history: dict | None) -> Path:
    """The shipped nano adapter's metadata, with the given stored curves (val split) and loss history."""
    meta = AdapterMetadata.load(NANO)
    if curves is not None:
        for task, data in curves.items():
            meta.metrics.setdefault("val", {}).setdefault(task, {}).update(data)
    else:
        meta.metrics = {}
    meta.training.pop("loss_history", None)
    if history is not None:
        meta.training["loss_history"] = history
    folder = tmp_path / "adapter"
    folder.mkdir()
    meta.save(folder)
    return folder


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.slow
def test_every_plot_is_drawn_from_the_stored_numbers(tmp_path):
    history = {"step": [10, 20, 30], "defect": [0.7, 0.5, 0.4], "clone": [3.0, 2.0, None], "summary": [5.0, 4.0, 3.5]}
    adapter = adapter_with(tmp_path, CURVES, history)
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(json.dumps(r) for r in [
        {"step": 20, "tokens": 40960, "train_loss": 7.1, "lr": 0.001},
        {"step": 40, "tokens": 81920, "train_loss": 6.2, "val_loss": 6.4},
        {"step": 60, "tokens": 122880, "train_loss": 5.8, "val_loss": 6.0}]) + "\n\n", encoding="utf-8")
    out = tmp_path / "plots"
    result = make_plots(PlotConfig(adapter=adapter, out=out, pretrain_log=log, split="val"))
    assert [p.name for p in result.written] == ["loss-pretraining.png", "loss-adapter.png", "reliability.png",
                                                "threshold.png"]
    assert result.skipped == [] and result.rescored is False
    assert png_size(out / "loss-pretraining.png") == (400, 330)
    assert png_size(out / "reliability.png") == (1120, 330)  # one panel per task
    # The same numbers give the same file, other numbers another.
    shipped = AdapterMetadata.load(adapter).thresholds
    thresholds = {"defect": shipped.defect, "clone": shipped.clone, "summary": shipped.summary}
    again = plot_thresholds(CURVES, thresholds, list(CURVES), "val", tmp_path / "again.png")
    assert again.read_bytes() == (out / "threshold.png").read_bytes()
    other = json.loads(json.dumps(CURVES))
    other["defect"]["threshold_curve"][1][1] = 0.9
    assert plot_thresholds(other, thresholds, list(CURVES), "val", tmp_path / "other.png").read_bytes() != \
        again.read_bytes()


@pytest.mark.slow
def test_plots_without_their_data_are_left_out_with_the_reason(tmp_path):
    adapter = adapter_with(tmp_path, CURVES, None)
    result = make_plots(PlotConfig(adapter=adapter, out=tmp_path / "plots", split="val"))
    assert [p.name for p in result.written] == ["reliability.png", "threshold.png"]
    assert result.skipped == ["loss-pretraining.png: no --pretrain-log given",
                              f"loss-adapter.png: {adapter} stores no loss history (trained before it was kept)"]


def test_an_adapter_without_curves_needs_its_corpus(tmp_path):
    adapter = adapter_with(tmp_path, None, None)
    with pytest.raises(ConfigError, match="stores no test curves, and its corpus is not here") as caught:
        make_plots(PlotConfig(adapter=adapter, out=tmp_path / "plots", data=[tmp_path / "nowhere"]))
    assert "python -m training.nano stage" in caught.value.hint
    with pytest.raises(ConfigError, match="unknown split 'train'"):
        make_plots(PlotConfig(adapter=adapter, out=tmp_path / "plots", split="train"))


def test_command_line_comes_from_the_config_fields(tmp_path):
    cfg = parse_args(["--adapter", "a", "--out", str(tmp_path), "--data", "c1", "c2", "--split", "val",
                      "--dpi", "80"])
    assert cfg == PlotConfig(adapter=Path("a"), out=tmp_path, data=[Path("c1"), Path("c2")], split="val", dpi=80)


@pytest.mark.slow
def test_a_trained_adapter_stores_what_the_plots_need_and_scoring_again_gives_it_back(tiny_llama, tmp_path):
    """The trainer keeps the loss history and the curves; an adapter stripped of the curves gets the same ones
    back by scoring its split again through codelens.train.evaluate (the nano adapter's case)."""
    from codelens.train.trainer import train
    from codelens.train_config import TrainConfig

    corpus = tmp_path / "corpus"
    for name in ("numtools", "ledger"):
        shutil.copytree(CORPUS / name, corpus / name)
    manifest = tmp_path / "splits.json"
    manifest.write_text(json.dumps({"numtools": "train", "ledger": "val"}))
    out = tmp_path / "adapter"
    train(TrainConfig(model=str(tiny_llama), corpus=[str(corpus)], split_by="subdir", manifest=str(manifest),
                      out=str(out), max_steps=3, batch_size=4, lora_r=4, lora_alpha=8, head_hidden=16, clone_dim=8,
                      device="cpu", dtype="float32", bugs_per_function=1, clone_variants=1, max_code_tokens=96,
                      max_eval_summaries=2, threads=1))
    meta = AdapterMetadata.load(out)
    history = meta.training["loss_history"]
    assert history["step"] == [1, 2, 3] and set(history) == {"step", "defect", "clone", "summary"}
    stored = meta.metrics["val"]
    assert {task for task in stored if "reliability" in stored[task]} >= {"defect", "clone"}

    curves = {task: {key: stored[task].pop(key) for key in ("reliability", "threshold_curve") if key in stored[task]}
              for task in stored}
    meta.save(out)
    cfg = PlotConfig(adapter=out, out=tmp_path / "plots", split="val", data=[corpus], max_summaries=2)
    metrics, rescored = split_metrics(cfg, AdapterMetadata.load(out))
    assert rescored
    # The same examples and counts; scores agree to float noise (the saved LoRA is merged into the weights).
    for task, stored_curves in curves.items():
        for key, values in stored_curves.items():
            assert metrics[task][key] == [pytest.approx(row, abs=1e-4) for row in values], (task, key)
    fresh = AdapterMetadata.load(out).metrics["val"]
    assert all("reliability" not in fresh[t] for t in fresh)  # scoring again writes nothing into the adapter
    result = make_plots(cfg)
    assert result.rescored and [p.name for p in result.written] == ["loss-adapter.png", "reliability.png",
                                                                    "threshold.png"]


def test_a_loss_table_recorded_in_markdown_reads_as_log_rows(tmp_path):
    page = tmp_path / "PRETRAINING.md"
    page.write_text("Loss curve:\n\n| step | tokens | train loss | val loss | tok/s |\n|---|---|---|---|---|\n"
                    "| 100 | 204,800 | 6.614 | 6.689 | 1,008 |\n| 200 | 409,600 | 5.861 | 6.077 | 935 |\n\n"
                    "| step | wall-clock |\n|---|---|\n| 5 | 1 |\n", encoding="utf-8")
    assert read_log(page) == [{"step": 100, "tokens": 204800, "train_loss": 6.614, "val_loss": 6.689},
                              {"step": 200, "tokens": 409600, "train_loss": 5.861, "val_loss": 6.077}]
    # codelens-nano kept this table of its pretraining log, not the log: its card's curve is drawn from it.
    rows = read_log(NANO.parent / "PRETRAINING.md")
    assert len(rows) == 16 and rows[-1] == {"step": 1579, "tokens": 3233792, "train_loss": 4.235, "val_loss": 4.77}
    (tmp_path / "empty.md").write_text("no table\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="holds no table"):
        read_log(tmp_path / "empty.md")
