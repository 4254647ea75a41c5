"""The codelens-nano recipe's tables: scores per adapter (only the tasks it was trained for), defects per bug kind."""

from __future__ import annotations

import pytest

from codelens.errors import ConfigError
from codelens.model.adapter_meta import AdapterMetadata
from training.nano import kind_table, score_table


def test_score_table_shows_trained_tasks_only(tiny_llama, make_adapter, tmp_path):
    folder = make_adapter(tiny_llama, tmp_path / "clone-only")
    meta = AdapterMetadata.load(folder)
    meta.tasks = ["clone"]
    meta.training["steps"] = 2500
    meta.metrics = {"test": {"clone": {"pair_f1": 0.9, "map_at_r": 0.8, "independent_map_at_r": 0.7,
                                       "independent_map_at_r_jaccard": 0.75},
                             "defect": {"accuracy": 0.5, "f1": 0.1, "roc_auc": 0.52}}}  # an untrained head's
    meta.save(folder)
    lines = score_table([folder]).splitlines()
    assert lines[0] == ("| adapter | tasks | steps | defect ROC-AUC | defect localisation | defect joint "
                        "| false alarms / 1,000 | clone F1 | clone MAP@R | independent MAP@R | Jaccard "
                        "| summary BLEU-4 | summary ROUGE-L | summaries shown |")
    assert lines[2] == f"| {folder} | clone | 2500 | - | - | - | - | 0.900 | 0.800 | 0.700 | 0.750 | - | - | - |"


def test_kind_table_refuses_an_adapter_without_the_defect_task(tiny_llama, make_adapter, tmp_path):
    folder = make_adapter(tiny_llama, tmp_path / "clone-only")
    meta = AdapterMetadata.load(folder)
    meta.tasks = ["clone"]
    meta.save(folder)
    with pytest.raises(ConfigError, match="not trained for defects"):
        kind_table(folder, tmp_path / "no-corpus-needed")
