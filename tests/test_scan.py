"""The scan pipeline end to end on a tiny model: what a stage hands the next one survives the trip."""

from __future__ import annotations

import dataclasses
import json

from codelens.config import ScanConfig
from codelens.core import Thresholds
from codelens.report.json import render
from codelens.scan import lazy_model, run_scan

SOURCE = '''def total_price(items):
    total = 0
    for item in items:
        total += item.price * item.quantity
    return total
'''


@dataclasses.dataclass
class Extended(Thresholds):
    """Thresholds with a field a later adapter format might add."""

    boundary: float = 0.0


def test_a_threshold_the_user_does_not_override_keeps_the_adapters_value(tmp_path, tiny_llama, tiny_llama_adapter):
    """Issue #20's bug: the scan rebuilt the thresholds field by field, so a field it did not name took its
    default in every scan. Now only the overridden ones change."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "pricing.py").write_text(SOURCE, encoding="utf-8")
    config = ScanConfig(model=str(tiny_llama), adapter=str(tiny_llama_adapter), device="cpu", clone_threshold=0.5,
                        summaries="none", cache=False, server="off")
    model = lazy_model(config)
    model.meta.thresholds = Extended(defect=0.3, clone=0.8, clone_lexical=0.25, summary=-1.5, boundary=0.7)
    outcome = run_scan(tmp_path / "repo", config, loaded=model)
    assert outcome.report.model.thresholds == Extended(defect=0.3, clone=0.5, clone_lexical=0.25, summary=-1.5,
                                                       boundary=0.7)
    shown = json.loads(render(outcome.report))["model"]["thresholds"]
    assert shown == {"boundary": 0.7, "clone": 0.5, "clone_lexical": 0.25, "defect": 0.3, "summary": -1.5}
