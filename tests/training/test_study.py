"""The study recipe (training/study.py): the claims and the table from known results, the grid and its
settings file, and the --quick grid end to end on a tiny model (table shape, counts against the saved modules)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors import safe_open

from codelens.errors import ConfigError
from training.study import QUICK, Study, StudyConfig, grid, main, parse_args
from training.study_cell import SETTINGS, Cell
from training.study_report import claims, mft_vs_sft, pairs, spread, storage, table

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
SFT_DEFECT = (0.70, 0.72, 0.74)


def _cell(method: str, setting: str, seed: int, scores: dict, **costs) -> dict:
    cell = {"method": method, "setting": setting, "seed": seed, "tasks": list(SETTINGS[setting]),
            "test": {t: scores.get(t, {"roc_auc": 0.6, "joint": 0.2, "map_at_r": 0.6, "pair_f1": 0.8, "bleu4": 10.0,
                                       "rouge_l": 20.0}) for t in SETTINGS[setting]},
            "module_params": 1000, "module_bytes": 4000, "head_params": 500, "head_bytes": 2000,
            "trainable_params": 1500, "total_params": 101500, "train_flops": 1e9 * len(SETTINGS[setting]),
            "train_seconds": 10.0 * len(SETTINGS[setting]), "seconds": 30.0, "scan_functions_per_second": 60.0}
    cell.update(costs)
    return cell


def _results() -> list[dict]:
    """LoRA on every setting and 3 seeds: MFT 1-3 points behind SFT on defects (a real difference); the
    defect + clone pair helps defects by 3-5 points and hurts clones by 10-12: asymmetric."""
    out = []
    for seed in range(3):
        sft_defect = {"roc_auc": SFT_DEFECT[seed], "joint": 0.2}
        sft_clone = {"map_at_r": 0.60 + seed / 100, "pair_f1": 0.8}
        for setting in SETTINGS:
            scores = {}
            if setting == "defect":
                scores["defect"] = sft_defect
            if setting == "clone":
                scores["clone"] = sft_clone
            if setting == "mft":
                scores["defect"] = {"roc_auc": 0.69 + seed / 100, "joint": 0.2}
            if setting == "defect+clone":
                scores["defect"] = {"roc_auc": 0.75 + seed / 100, "joint": 0.2}
                scores["clone"] = {"map_at_r": 0.50, "pair_f1": 0.8}
            out.append(_cell("lora", setting, seed, scores))
    return out


def test_mft_against_sft_is_paired_by_seed():
    found = {(f["method"], f["task"], f["metric"]): f for f in mft_vs_sft(_results())}
    defect = found["lora", "defect", "roc_auc"]
    assert defect["diff"] == pytest.approx((-2.0, 1.0)) and defect["real"] and defect["holds"]
    assert defect["text"] == ("lora, defect ROC-AUC: MFT 70.0 ± 1.0 vs SFT 72.0 ± 2.0; MFT - SFT = -2.0 ± 1.0 points "
                              "over 3 seeds (within 3 points; a real difference).")
    bleu = found["lora", "summary", "bleu4"]
    assert bleu["diff"] == (0.0, 0.0) and not bleu["real"] and "MFT is better" not in bleu["text"]
    assert len(found) == 6  # every task metric of the table


def test_pairs_find_the_asymmetry():
    found = {f["pair"]: f for f in pairs(_results())}
    assert set(found) == {"defect+clone", "defect+summary", "clone+summary"}
    both = found["defect+clone"]
    assert both["effects"]["defect"]["effect"] == "helps" and both["effects"]["clone"]["effect"] == "hurts"
    assert both["asymmetric"] and both["effects"]["clone"]["diff"] == pytest.approx((-11.0, 1.0))
    assert both["text"] == ("lora, defect with clone: defect helps (roc_auc 4.0 ± 1.0 points); clone hurts (map_at_r "
                            "-11.0 ± 1.0 points) - asymmetric: it helps one task and hurts the other.")
    assert found["clone+summary"]["effects"]["clone"]["effect"] == "no real difference"


def test_storage_and_compute_against_three_single_task_modules():
    found = claims(_results(), {})
    store = found["storage"][0]
    assert store["ratio"] == pytest.approx(1 / 3) and store["share_of_base"] == pytest.approx(0.01)
    assert store["text"].startswith("lora: one MFT module trains 1,000 parameters (1.00% of the base's 100,000)")
    compute = found["compute"][0]
    assert compute["flops_ratio"] == (1.0, 0.0) and compute["scan_speedup"] == (3.0, 0.0)
    assert found["zero_shot"] == []


def test_table_has_a_row_per_method_and_setting():
    lines = table(_results(), ["lora"], list(SETTINGS)).splitlines()
    assert lines[0] == ("| method | setting | seeds | defect ROC-AUC | defect joint | clone MAP@R | clone F1 | summary BLEU-4 "
                        "| summary ROUGE-L | trainable params | module bytes | train FLOPs | train s | scan functions/s |")
    assert len(lines) == 2 + len(SETTINGS)
    assert lines[2] == "| lora | defect | 3 | 72.0 ± 2.0 | 20.0 ± 0.0 | - | - | - | - | 1.50 k | 4.00 kB | 1.00 G | 10 ± 0 | 60 ± 0 |"


def test_spread_of_one_value_has_no_sd():
    assert spread([0.5]) == (0.5, None) and spread([None]) == (None, None)


def test_grid_and_its_settings():
    cfg = StudyConfig(methods=["lora", "full"], settings=["defect", "mft"], seeds=[0, 1])
    assert [c.name for c in grid(cfg)][:4] == ["lora-defect-s0", "full-defect-s0", "lora-mft-s0", "full-mft-s0"]
    assert len(grid(StudyConfig())) == 4 * 7 * 3
    with pytest.raises(ConfigError, match="unknown or empty grid"):
        grid(StudyConfig(methods=["prefix"]))
    command, quick = parse_args(["run", "--quick", "--seeds", "3", "--methods", "ia3"])
    assert command == "run" and quick.seeds == [3] and quick.methods == ["ia3"] and quick.steps == QUICK["steps"]
    assert Cell("ia3", "mft", 3).tasks == ("defect", "clone", "summary")


def test_a_study_folder_refuses_other_settings(tmp_path):
    cfg = StudyConfig(out=str(tmp_path), steps=5)
    (tmp_path / "study.json").write_text(json.dumps({"shape": {"batch_size": 16}, "steps": 5}))
    with pytest.raises(ConfigError, match="holds a study with other corpus, manifest, base") as err:
        Study(cfg).settings_file()
    assert "another --out" in err.value.hint


def test_a_rerun_after_a_budget_that_did_not_fit_sizes_from_the_probes_as_measured(tmp_path, monkeypatch):
    """The hint says "raise --hours": the rerun must not take the probes' cached results for free cells."""
    import training.study as study

    ran = []

    def probe(plan, cell, folder, data, codes):
        ran.append(cell.method)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "result.json").write_text("{}")
        return {"seconds_per_step": 10.0}

    clock = iter(range(0, 10**6, 100))  # every perf_counter call 100 s later: a probe costs 100 s besides its steps
    monkeypatch.setattr(study, "run_cell", probe)
    monkeypatch.setattr(study.time, "perf_counter", lambda: float(next(clock)))
    monkeypatch.setattr(study.Study, "data", lambda self, seed: self.data_seconds.append(0.0) or object())
    monkeypatch.setattr(study.Study, "scan_codes", lambda self: [])
    cfg = StudyConfig(out=str(tmp_path), methods=["lora", "ia3"], hours=0.5)
    with pytest.raises(ConfigError, match="steps per cell fit in 0.5 hours"):
        Study(cfg).size()
    assert ran == ["lora", "ia3"]
    first = json.loads((tmp_path / "sizing" / "lora" / "probe.json").read_text())
    cfg.hours = 20.0
    sized = Study(cfg).size()
    assert ran == ["lora", "ia3"]  # measured once
    assert sized["probes"]["lora"] == {k: first[k] for k in ("seconds_per_step", "cell_seconds")}
    assert sized["probes"]["lora"]["cell_seconds"] > 0 and sized["steps"] >= study.MIN_STEPS
    cfg.max_eval_summaries = 7  # another shape: the probes measured something else
    Study(cfg).size()
    assert ran == ["lora", "ia3", "lora", "ia3"]


def _numel(path: Path) -> int:
    with safe_open(str(path), framework="pt") as weights:
        total = 0
        for key in weights.keys():
            count = 1
            for size in weights.get_slice(key).get_shape():
                count *= size
            total += count
    return total


@pytest.mark.slow
def test_the_quick_grid_end_to_end(tiny_llama, tmp_path, capsys):
    corpus = tmp_path / "corpus"
    for name in ("numtools", "ledger", "gridlib"):
        shutil.copytree(CORPUS / name, corpus / name)
    (corpus / "manifest.json").write_text(json.dumps({"numtools": "train", "ledger": "val", "gridlib": "test"}))
    out = tmp_path / "study"
    args = ["--quick", "--out", str(out), "--corpus", str(corpus), "--base", str(tiny_llama), "--device", "cpu"]
    main(["run", *args])
    printed = capsys.readouterr().out
    assert "[56/56] loha-mft-s1: done; ETA 0 min 00 s" in printed

    summary = json.loads((out / "results.json").read_text())
    cells = summary["cells"]
    assert len(cells) == 4 * 7 * 2 and summary["study"]["steps"] == QUICK["steps"]
    rows = (out / "table.md").read_text().splitlines()
    assert len(rows) == 2 + 4 * 7 and all(row.count("|") == 15 for row in rows)  # 14 columns
    assert [row.split(" | ")[:3] for row in rows[2:4]] == [["| full", "defect", "2"], ["| full", "clone", "2"]]
    lm_params = sum(p.numel() for p in __import__("transformers").AutoModelForCausalLM.from_pretrained(
        tiny_llama).parameters())
    for cell in cells:
        module = out / "cells" / Cell(cell["method"], cell["setting"], cell["seed"]).name / "module"
        weights = module / ("full_model.safetensors" if cell["method"] == "full" else "adapter_model.safetensors")
        assert cell["module_params"] == _numel(weights) and cell["module_bytes"] == weights.stat().st_size
        assert cell["head_params"] == _numel(module / "heads.safetensors")
        assert cell["trainable_params"] == cell["module_params"] + cell["head_params"]
        if cell["method"] == "full":
            assert cell["module_params"] == lm_params
        assert set(cell["test"]) == set(cell["tasks"]) and cell["train_flops"] > 0 and cell["steps"] == 3
    assert {c["method"]: c["module_params"] for c in cells if c["setting"] == "mft" and c["seed"] == 0}["ia3"] == 384
    found = summary["claims"]
    assert len(found["mft_vs_sft"]) == 4 * 6 and len(found["storage"]) == 4 and len(found["pairs"]) == 4 * 3
    assert {c["task"] for c in found["zero_shot"]} == {"defect", "clone", "summary"}
    report = (out / "README.md").read_text()
    for title in ("1. MFT against SFT", "2. Storage", "3. Compute", "4. Pairs", "5. The base on its own"):
        assert f"### {title}" in report
    for name in ("mft-vs-sft", "pairs", "cost", "zero-shot"):
        assert (out / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Finished cells are never run again, and the report is redrawn from them as it was.
    before = {p: p.stat().st_mtime_ns for p in out.glob("cells/*/result.json")}
    main(["run", *args])
    assert capsys.readouterr().out.count("done before") == 56
    assert {p: p.stat().st_mtime_ns for p in out.glob("cells/*/result.json")} == before
    saved = (out / "results.json").read_text()
    main(["report", *args])
    assert (out / "results.json").read_text() == saved


def test_every_cell_of_a_seed_is_scored_on_the_same_functions(tiny_llama, tmp_path):
    """With evaluation bounded to a sample of functions, a clone-only cell and a multi-task one are scored on
    the same clone items (the sample is drawn before the tasks are picked)."""
    from codelens.train.trainer import train
    from codelens.train_config import TrainConfig

    corpus = tmp_path / "corpus"
    for name in ("numtools", "ledger"):
        shutil.copytree(CORPUS / name, corpus / name)
    manifest = tmp_path / "splits.json"
    manifest.write_text(json.dumps({"numtools": "train", "ledger": "val"}))
    counts = {}
    for tasks in (["clone"], ["defect", "clone"]):
        result = train(TrainConfig(model=str(tiny_llama), corpus=[str(corpus)], split_by="subdir", manifest=str(manifest),
                                   out=str(tmp_path / "-".join(tasks)), tasks=tasks, max_steps=1, batch_size=4,
                                   head_hidden=16, clone_dim=8, bug_width=32, device="cpu", dtype="float32",
                                   max_code_tokens=96, threads=1, max_eval_functions=3))
        counts[len(tasks)] = (result.metrics["val"]["clone"]["n"], result.metrics["val"]["clone"]["pairs"])
    assert counts[1] == counts[2] and counts[1][0] < 80  # a sample, not the 80 clone items of the whole split
