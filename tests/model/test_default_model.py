"""The shipped codelens-nano model: loads offline with no flags, tells a clone from an unrelated function,
and writes a one-line summary for a function without a docstring."""

from __future__ import annotations

import pytest

from codelens.model.loading import default_model_dir

try:
    default_model_dir()
    SHIPPED = True
except Exception:  # noqa: BLE001 - a checkout without the model skips, the packaging test catches a wheel without it
    SHIPPED = False

pytestmark = pytest.mark.skipif(not SHIPPED, reason="models/codelens-nano is not built")

SOURCE = '''
def total_weight(items):
    total = 0
    for item in items:
        if item.weight > 0:
            total += item.weight
    return total


def total_weight_of(things):
    # add up the positive weights
    acc = 0
    for thing in things:
        if thing.weight > 0:
            acc += thing.weight

    return acc


def total_nonnegative_weight(items):
    total = 0
    for item in items:
        if item.weight >= 0:
            total += item.weight
    return total


def read_config(path):
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\\n") for line in handle if not line.startswith("#")]
'''


@pytest.fixture(scope="module")
def scored(monkeypatch_module):
    from codelens.engine import EngineSettings, analyse
    from codelens.model.loading import load_model
    from codelens.model.options import ModelSpec
    from codelens.parsing import extract_units

    monkeypatch_module.setenv("HF_HUB_OFFLINE", "1")
    loaded = load_model(ModelSpec(device="cpu"))
    units = {u.qualname: u for u in extract_units("weights.py", SOURCE, "python").units}
    results, _ = analyse(list(units.values()), loaded, EngineSettings(summaries="all", threads=1))
    return loaded, {name: results[unit.hash] for name, unit in units.items()}


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def similarity(scored, a: str, b: str) -> float:
    """The scan's clone score: the embedding cosine fused with identifier-set Jaccard by the adapter's weight."""
    from codelens.parsing import extract_units
    from codelens.tasks.clone import fused_similarity, jaccard, token_set

    loaded, results = scored
    units = {u.qualname: u for u in extract_units("weights.py", SOURCE, "python").units}
    cosine = float(results[a].embedding @ results[b].embedding)
    lexical = jaccard(token_set(units[a].body), token_set(units[b].body))
    return fused_similarity(cosine, lexical, loaded.meta.thresholds.clone_lexical)


def test_known_clone_pair_scores_above_the_threshold(scored):
    # A copy with one operator changed: the near-miss clone that only the model can see (the hashes differ).
    loaded, _ = scored
    assert similarity(scored, "total_weight", "total_nonnegative_weight") >= loaded.meta.thresholds.clone


def test_renamed_copy_is_found_by_its_normalised_hash():
    # Renamed identifiers, a comment and a blank line: a type-2 clone, found without the model.
    from codelens.parsing import extract_units
    from codelens.tasks.clone import find_clones

    units = extract_units("weights.py", SOURCE, "python").units
    report = find_clones(units, {}, threshold=1.0)
    assert [(p.a.qualname, p.b.qualname, p.kind) for p in report.pairs] == [
        ("total_weight", "total_weight_of", "type-2")]


def test_unrelated_pair_scores_below_the_threshold(scored):
    loaded, _ = scored
    assert similarity(scored, "total_weight", "read_config") < loaded.meta.thresholds.clone


def test_a_function_without_docstring_gets_a_one_line_summary(scored):
    _, results = scored
    summary = results["read_config"].summary
    assert summary and summary.strip() and "\n" not in summary


def test_default_model_identity_is_recorded():
    from codelens.model.adapter_meta import AdapterMetadata

    meta = AdapterMetadata.load(default_model_dir() / "adapter")
    assert meta.base_model == "codelens-nano"
    assert set(meta.tasks) == {"defect", "clone", "summary"}
    assert {"val", "test"} <= set(meta.metrics)


def _ships_small() -> bool:
    return SHIPPED and default_model_dir().name == "codelens-small"


@pytest.mark.skipif(not _ships_small(), reason="the promise of codelens-small (built on the GPU machine); "
                    "codelens-nano's defect head is near chance, as its model card measures")
def test_default_model_catches_the_cl100_example(tmp_path, monkeypatch):
    """`codelens explain CL100`'s example is reported by the default model, at the right token, with the
    right repair (the documentation and this test read the same text)."""
    import re

    from codelens.config import ScanConfig
    from codelens.rules import RULES, doc_section
    from codelens.scan import run_scan

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    buggy = re.findall(r"```python\n(.*?)```", doc_section(RULES["CL100"].doc, "Example"), re.S)[0]
    (tmp_path / "search.py").write_text(buggy, encoding="utf-8")
    report = run_scan(tmp_path, ScanConfig(cache=False, jobs=1)).report
    found = [f for f in report.findings if f.code == "CL100"]
    assert len(found) == 1 and found[0].replacement == "<="
    line = buggy.splitlines().index("    while lo < hi:") + 1
    assert (found[0].region.start_line, found[0].region.start_column) == (line, len("    while lo ") + 1)
