"""The size sweep on a tiny corpus: every cell trained once for its FLOP budget, table and rows."""

import json
from pathlib import Path

import pytest

from tests.training.test_pretrain import STDLIB, tiny_config
from training.corpus import CorpusPackage
from training.sweep import Size, cell_config, rows, run, table
from training.tokens import prepare_data


@pytest.mark.slow
def test_sweep_trains_each_cell_once_for_its_budget(tmp_path):
    packages = [CorpusPackage("stdlib/json", STDLIB, sorted((STDLIB / "json").glob("*.py")), "PSF-2.0", "train"),
                CorpusPackage("stdlib/colorsys", STDLIB, [STDLIB / "colorsys.py"], "PSF-2.0", "val")]
    data = prepare_data(tiny_config(tmp_path, "unused"), packages)
    sizes, budgets = [Size(32, 1), Size(64, 2)], [2e8, 4e8]
    results = run(data, tmp_path / "sweep", sizes, budgets, threads=1, seq_len=32, batch_size=4, compile=False,
                  progress=lambda _: None)
    assert [(r["size"], f"{r['budget_flops']:.0e}") for r in results] == [
        ("32x1", "2e+08"), ("64x2", "2e+08"), ("32x1", "4e+08"), ("64x2", "4e+08")]
    for r in results:  # each cell spent its budget (to within one step of tokens)
        cfg = cell_config(Size.parse(r["size"]), float(f"{r['budget_flops']:.0e}"), data, tmp_path / "sweep", 1, 32, 4,
                          False)
        assert r["tokens"] == cfg.max_tokens // cfg.tokens_per_step * cfg.tokens_per_step
        assert r["val_loss"] > 0 and r["val_bits_per_byte"] > 0 and r["parameters"] > 0
    # the larger model costs more per token, so it sees fewer tokens at one budget
    assert results[1]["tokens"] < results[0]["tokens"]
    stamp = (tmp_path / "sweep" / "32x1-2e+08" / "result.json").stat().st_mtime_ns
    again = run(data, tmp_path / "sweep", sizes, budgets, threads=1, seq_len=32, batch_size=4, compile=False,
                progress=lambda _: None)
    assert again == results and (tmp_path / "sweep" / "32x1-2e+08" / "result.json").stat().st_mtime_ns == stamp
    text = table(rows(tmp_path / "sweep"))
    assert text.count("\n") == 5 and text.count("**") == 8  # header, rule, 4 rows; size and loss of the best per budget
    assert json.loads((Path(tmp_path / "sweep" / "64x2-4e+08" / "config.json")).read_text())["schedule"] == "wsd"
