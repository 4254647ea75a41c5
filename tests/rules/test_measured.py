"""The measured section `codelens explain` adds from an adapter's own test scores."""

from __future__ import annotations

from codelens.rules import RULES
from codelens.rules.measured import measured_section

METRICS = {"test": {
    "defect": {"precision": 0.85, "recall": 0.31, "false_alarms_per_1000": 4.2, "roc_auc": 0.901,
               "localisation": 0.62, "joint": 0.55, "n": 4000},
    "clone": {"map_at_r": 0.7, "map_at_r_random": 0.0004, "pair_f1": 0.8, "pair_precision": 0.9, "pair_recall": 0.72},
    "summary": {"bleu4": 14.2, "rouge_l": 30.1, "shown": 0.4, "shown_bleu": 31.0, "shown_name_bleu": 12.5, "n": 200},
}}
THRESHOLDS = {"defect": 0.71, "clone": 0.93, "summary": -0.85}


def test_defect_section_quotes_precision_recall_false_alarms_and_localisation():
    text = measured_section(RULES["CL100"], METRICS, THRESHOLDS, "the default model (codelens-small)")
    assert text.startswith("## Measured on the default model (codelens-small)\n")
    assert "4000 examples" in text
    assert "threshold (0.710): precision 85.0 %, recall 31.0 %, 4.2 false alarms per 1,000" in text
    assert "ROC-AUC 0.901" in text and "62.0 % of buggy functions" in text and "right replacement too: 55.0 %" in text
    assert "off by default" not in text


def test_defect_off_by_default_is_said():
    text = measured_section(RULES["CL100"], METRICS, {**THRESHOLDS, "defect": 1.0}, "m")
    assert "CL100 is off by default" in text


def test_clone_and_summary_sections():
    clone = measured_section(RULES["CL200"], METRICS, THRESHOLDS, "m")
    assert "MAP@R 0.700" in clone and "precision 90.0 %, recall 72.0 %" in clone
    summary = measured_section(RULES["CL300"], METRICS, THRESHOLDS, "m")
    assert "40.0 % of summaries are suggested" in summary and "sentence BLEU 31.00 against 12.50" in summary


def test_no_test_scores_no_section():
    assert measured_section(RULES["CL100"], {"val": METRICS["test"]}, THRESHOLDS, "m") == ""
