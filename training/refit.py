"""Fit a trained adapter's decisions again on validation, after a change of policy (a new precision floor,
a new summary gate), without training it again: thresholds and calibration refitted, val and test measured,
both written into its codelens.json.

    python -m training.nano refit --adapter models/codelens-nano/adapter --corpus runs/corpus

A recipe, not part of `codelens`: the data is rebuilt with the adapter's own settings
(``codelens.train.evaluate.data_config_of``) and scored through the scan's forward pass
(``codelens.train.evaluate.fit_and_measure``, what training does at its end).
"""

from __future__ import annotations

from pathlib import Path


def refit_decisions(adapter: str, data: list[str], max_summaries: int | None = 200, device: str = "auto",
                    progress=None) -> dict:
    """Fit thresholds and calibration of a trained adapter again on validation, recompute val and test
    metrics, and write them into its codelens.json. Returns the notes and metrics."""
    from codelens.model.adapter_meta import AdapterMetadata
    from codelens.model.loading import LazyModel
    from codelens.model.options import ModelSpec
    from codelens.train.data.dataset import load_task_data
    from codelens.train.evaluate import data_config_of, fit_and_measure, split_inputs

    # The data first (it needs only the adapter's metadata): bad input fails before the weights load.
    lazy = LazyModel(ModelSpec(adapter=adapter, device=device))
    corpus, files = split_inputs(data)
    task_data = load_task_data(corpus, files, data_config_of(lazy.meta))
    def scoring(stage: str, done: int, total: int) -> None:
        if progress is not None and stage.startswith("scoring"):
            progress(done, total)

    thresholds, calibration, notes, metrics = fit_and_measure(lazy.load(), task_data, max_summaries, progress=scoring)
    meta = AdapterMetadata.load(Path(adapter))
    meta.thresholds, meta.calibration, meta.metrics = thresholds, calibration, metrics
    meta.training["calibration"] = notes
    meta.save(Path(adapter))
    return {"notes": notes, "metrics": metrics}
