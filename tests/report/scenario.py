"""A small hand-built scan: six functions over three files, fixed embeddings, every rule firing."""

from __future__ import annotations

import os
from pathlib import Path

from codelens.core import Thresholds
from codelens.report.model import ModelInfo, ReportOptions, ScanReport
from codelens.tasks import all_findings
from codelens.tasks.clone import find_clones
from tests.tasks.factory import located, result, unit, vector

SNAPSHOTS = Path(__file__).parent / "snapshots"
THRESHOLDS = Thresholds(defect=0.5, clone=0.9)
MODEL = ModelInfo(id="tiny-llama", adapter="models/codelens-nano/adapter", base_fingerprint="3f9a0c1d",
                  adapter_hash="77e1b2c4", quantize="none", device="cpu", dtype="float32", languages=("python",),
                  thresholds=THRESHOLDS)
STATS = {"functions": 6, "unique": 5, "cache_hits": 2, "computed": 3, "summaries_generated": 3,
         "batches": 1, "tokens": 412, "seconds": 1.23456}

TOTAL = """def total_price(items):
    total = 0
    for item in items:
        total += item.price * item.quantity
    return total"""
ORDER = """def order_value(lines):
    value = 0
    for line in lines:
        value = value + line.quantity * line.price
    return value"""
LOAD = """def load(path):
    with open(path) as handle:
        data = handle.read()
    return parse(data)"""
PARSE = """def parse_config(text):
    result = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        result[key] = value
    return result"""
GETTER = "def name(self):\n    return self._name"


def build_report(shift: int = 0, everything: bool = False) -> ScanReport:
    """The scan; ``shift`` moves every function down that many lines (fingerprint tests)."""
    units = [
        unit("parse_config", "pkg/config.py", 10 + shift, PARSE),
        unit("load", "pkg/config.py", 30 + shift, LOAD, docstring="Load a file."),
        unit("load", "pkg/io.py", 4 + shift, LOAD, docstring="Load a file."),
        unit("total_price", "pkg/shop.py", 1 + shift, TOTAL),
        unit("order_value", "pkg/shop.py", 12 + shift, ORDER, docstring="Sum an order."),
        unit("Item.name", "pkg/shop.py", 30 + shift, GETTER),
    ]
    by_name = {(u.path, u.qualname): u for u in units}
    results = {}
    for key, probability, embedding, summary, cached in [
        (("pkg/config.py", "parse_config"), 0.93, vector(0, 0, 1), "parses a config text into a dict", False),
        (("pkg/config.py", "load"), 0.31, vector(0, 1), "Reads and parses a file", True),
        (("pkg/shop.py", "total_price"), 0.72, vector(1, 0.3), "computes the total price of the items", False),
        (("pkg/shop.py", "order_value"), 0.12, vector(1, 0, 0.3), "Sums the order lines", True),
        (("pkg/shop.py", "Item.name"), 0.05, vector(0, 0, 0, 1), "returns the name", False),
    ]:
        u = by_name[key]
        # parse_config's likely bug is located: `key` where `value` was meant (a region and a repair)
        bug = located(u, "key", "value", nth=1) if u.qualname == "parse_config" else None
        results[u.hash] = result(u, probability, embedding, summary, cached, bug)
    clones = find_clones(units, results, THRESHOLDS.clone, neighbours_k=2)
    findings = all_findings(units, results, thresholds=THRESHOLDS, clones=clones)
    return ScanReport(units=units, results=results, findings=findings, clones=clones.pairs,
                      neighbours=clones.neighbours, model=MODEL, stats=dict(STATS),
                      options=ReportOptions(all=everything), tool_version="0.1.0")


def check_snapshot(name: str, text: str) -> None:
    """Compare ``text`` with snapshots/<name> exactly; CODELENS_UPDATE_SNAPSHOTS=1 rewrites it."""
    path = SNAPSHOTS / name
    if os.environ.get("CODELENS_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: run the tests once with CODELENS_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its snapshot"

