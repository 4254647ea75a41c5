"""The study (issue 21): single-task against multi-task training, full fine-tuning against PEFT methods, each
pair of tasks, several seeds, on one base and corpus; the table, the plots and each claim checked, in one folder.

    python -m training.nano stage --out runs/study-corpus              # the corpus, split by package
    python -m training.study run --out runs/study --corpus runs/study-corpus --base models/codelens-nano/base
    python -m training.study run --quick --out runs/study-quick --corpus ... --base ...  # minutes (tests, CI)
    python -m training.study report --out runs/study                   # table, claims and plots again

``run`` trains and measures every cell (method x setting x seed, training/study_cell.py), asks the base
the zero-shot question on each seed's data (training/study_zeroshot.py), and writes into ``--out``:

    study.json          the settings, the steps per cell and how they were sized
    cells/<cell>/       each cell's module (an adapter folder) and result.json
    zero-shot/seed-N.json
    results.json        every cell, the aggregates and the claims; table.md; README.md (the report); plots/

A finished cell (its result.json) is never run again and an interrupted one resumes from its checkpoint,
so the same command continues a study where it stopped. With --steps 0 the steps per cell are sized to
--hours: a short probe cell per method measures the seconds per step and per cell, and the steps that fit
are stored in study.json, so every cell of the study trains the same number of steps. See docs/study.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from codelens.errors import ConfigError
from codelens.field_docs import field_docs
from training.study_cell import METHOD_LR, SETTINGS, Cell, CellPlan, run_cell, train_config, write_json

DEFAULT_BASE = Path(__file__).resolve().parent.parent / "models" / "codelens-nano" / "base"
PROBE_STEPS = 8
"""Steps of each sizing probe (the seconds per step are taken between its first and last step)."""
MIN_STEPS = 20
"""Fewest steps per cell a sized study accepts: below them a cell measures its initialisation."""


@dataclass
class StudyConfig:
    """The grid, the base and corpus, and the budget of one study."""

    out: str = "runs/study"
    """Folder of the study: cells, results, table, report and plots (a rerun continues it)."""
    corpus: str = "runs/study-corpus"
    """Corpus folder, one sub-folder per repository (``python -m training.nano stage``)."""
    manifest: str = ""
    """Repository -> split JSON (default: the corpus's manifest.json)."""
    base: str = str(DEFAULT_BASE)
    """Base model folder every cell starts from."""
    methods: list[str] = field(default_factory=lambda: list(METHOD_LR))
    """Tuning methods (codelens.choices.Method): full, lora, ia3, loha."""
    settings: list[str] = field(default_factory=lambda: list(SETTINGS))
    """Task settings: defect, clone, summary (SFT), the pairs (defect+clone, ...) and mft (all three)."""
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    """Seeds of every cell (each seed builds its own data, so every comparison is paired by seed)."""
    steps: int = 0
    """Optimiser steps of every cell (the same for all: SFT and MFT see as many batches of each task); 0:
    as many as fit in --hours, measured by a probe cell per method."""
    hours: float = 2.0
    """Wall-clock budget of the whole grid when --steps is 0 (data, probes and zero-shot included)."""
    batch_size: int = 16
    """Rows per task per step."""
    max_code_tokens: int = 256
    """Code tokens per function (as codelens-nano's adapter)."""
    max_functions_per_repository: int = 8
    """Functions of one repository that make examples (0: all): keeps data building and evaluation cheap."""
    max_eval_functions: int = 64
    """Functions per split a cell is scored on (their rewrites and clone classes; every independent clone
    class and summary kept): evaluation costs a cell more than its steps otherwise (0: all)."""
    max_eval_summaries: int = 40
    """Summaries generated per split when a cell is scored (the slow part of evaluation)."""
    head_hidden: int = 256
    """Hidden size of the clone head."""
    clone_dim: int = 128
    """Size of the clone embedding."""
    bug_width: int = 256
    """Width of the defect head's block."""
    scan_functions: int = 64
    """Test-split functions whose scan speed is timed for every cell."""
    zeroshot_functions: int = 12
    """Functions per split whose defect examples the base's likelihood baseline scores (a few hundred
    forwards each)."""
    threads: int = 1
    """CPU threads for torch."""
    device: str = "auto"
    """auto, cpu, cuda or cuda:N."""
    quick: bool = False
    """The quick grid (every method and setting, 2 seeds, a few steps, tiny heads): minutes on a tiny base."""


QUICK = dict(seeds=[0, 1], steps=3, batch_size=4, max_code_tokens=96, max_functions_per_repository=8,
             max_eval_functions=0, max_eval_summaries=3, head_hidden=16, clone_dim=8, bug_width=32, scan_functions=8, zeroshot_functions=2)
"""What --quick sets, unless given on the command line."""
SHAPE_KEYS = ("corpus", "manifest", "base", "batch_size", "max_code_tokens", "max_functions_per_repository",
              "max_eval_functions", "max_eval_summaries", "head_hidden", "clone_dim", "bug_width", "scan_functions", "zeroshot_functions")
"""Settings every cell of one study shares: a rerun with other values would mix two studies."""


def plan_of(cfg: StudyConfig, steps: int) -> CellPlan:
    return CellPlan(base=cfg.base, corpus=cfg.corpus, manifest=cfg.manifest or str(Path(cfg.corpus) / "manifest.json"),
                    data_cache=str(Path(cfg.out) / "taskdata"), steps=steps, batch_size=cfg.batch_size,
                    max_code_tokens=cfg.max_code_tokens,
                    max_functions_per_repository=cfg.max_functions_per_repository or None,
                    max_eval_functions=cfg.max_eval_functions or None,
                    max_eval_summaries=cfg.max_eval_summaries, head_hidden=cfg.head_hidden, clone_dim=cfg.clone_dim,
                    bug_width=cfg.bug_width, threads=cfg.threads, device=cfg.device)


def grid(cfg: StudyConfig) -> list[Cell]:
    """Every cell, seed by seed (a seed's data is built once and its cells follow), cheap settings first."""
    unknown = sorted(set(cfg.methods) - set(METHOD_LR)) + sorted(set(cfg.settings) - set(SETTINGS))
    if unknown or not cfg.methods or not cfg.settings or not cfg.seeds:
        raise ConfigError(f"unknown or empty grid: {unknown or 'no methods, settings or seeds'}",
                          hint=f"methods: {', '.join(METHOD_LR)}; settings: {', '.join(SETTINGS)}")
    return [Cell(method, setting, seed) for seed in cfg.seeds for setting in cfg.settings for method in cfg.methods]


class Study:
    """One study folder: its settings, each seed's data (built once), the cells' results."""

    def __init__(self, cfg: StudyConfig, say=print) -> None:
        self.cfg, self.out, self.say = cfg, Path(cfg.out), say
        self._data: dict[int, object] = {}
        self.data_seconds: list[float] = []
        self._scan_codes: list[str] | None = None

    def data(self, seed: int):
        """The seed's task data, as every cell of that seed trains on it (the trainer's cache, shared)."""
        if seed not in self._data:
            from codelens.train.data.dataset import cached_task_data

            plan = plan_of(self.cfg, 1)
            start = time.perf_counter()
            self.say(f"[data] seed {seed}: building or reading the task data", flush=True)
            # The cells' own data settings, so this is the trainer's cache entry (built once, by whoever comes first).
            cfg = train_config(plan, Cell(self.cfg.methods[0], "mft", seed), self.out / "unused").data_config()
            self._data[seed] = cached_task_data([Path(plan.corpus)], [], cfg, Path(plan.data_cache))
            self.data_seconds.append(time.perf_counter() - start)
        return self._data[seed]

    def scan_codes(self) -> list[str]:
        """The functions every cell's scan speed is timed on: distinct test-split code of the first seed."""
        if self._scan_codes is None:
            test = self.data(self.cfg.seeds[0]).split("test")
            codes = [e.code for e in test.defect if e.label == 0] + [e.code for e in test.clone]
            self._scan_codes = list(dict.fromkeys(codes))[:self.cfg.scan_functions]
        return self._scan_codes

    def settings_file(self) -> dict:
        """study.json: created on the first run (sizing the steps), checked on every later one."""
        path = self.out / "study.json"
        wanted = {k: getattr(self.cfg, k) for k in SHAPE_KEYS}
        if path.is_file():
            stored = json.loads(path.read_text(encoding="utf-8"))
            changed = [k for k in SHAPE_KEYS if stored["shape"].get(k) != wanted[k]]
            if self.cfg.steps and self.cfg.steps != stored["steps"]:
                changed.append("steps")
            if changed:
                raise ConfigError(f"{self.out} holds a study with other {', '.join(changed)}",
                                  hint="run with the settings in its study.json, or choose another --out")
            return stored
        sizing = {"given": self.cfg.steps} if self.cfg.steps else self.size()
        stored = {"shape": wanted, "steps": self.cfg.steps or sizing["steps"], "sizing": sizing,
                  "command": " ".join(["python -m training.study"] + sys.argv[1:])}
        write_json(path, stored)
        return stored

    def size(self) -> dict:
        """Steps per cell that fit the budget: a probe MFT cell per method gives its seconds per step and
        the rest of a cell (loading, evaluation, measuring); SFT and pair steps cost their share of tasks."""
        start = time.perf_counter()
        data = self.data(self.cfg.seeds[0])
        probes = {}
        for method in self.cfg.methods:
            folder = self.out / "sizing" / method
            measured = folder / "probe.json"
            shape = {k: getattr(self.cfg, k) for k in SHAPE_KEYS}
            stored = json.loads(measured.read_text(encoding="utf-8")) if measured.is_file() else {}
            if stored.get("shape") == shape:  # a rerun after a budget that did not fit: its costs as measured
                probes[method] = {k: stored[k] for k in ("seconds_per_step", "cell_seconds")}
                continue
            self.say(f"[sizing] probe cell: {method}, {PROBE_STEPS} steps of all three tasks", flush=True)
            shutil.rmtree(folder, ignore_errors=True)  # a probe interrupted before probe.json measured nothing whole
            codes = self.scan_codes()
            began = time.perf_counter()
            result = run_cell(plan_of(self.cfg, PROBE_STEPS), Cell(method, "mft", self.cfg.seeds[0]), folder, data, codes)
            per_step = result["seconds_per_step"]
            # What a cell costs besides its steps: loading, evaluation, the FLOP count and the scan timing.
            probes[method] = {"seconds_per_step": per_step,
                              "cell_seconds": time.perf_counter() - began - per_step * PROBE_STEPS}
            write_json(measured, {**probes[method], "shape": shape})
        spent = time.perf_counter() - start + self.data_seconds[0] * (len(self.cfg.seeds) - 1)
        seeds, tasks = len(self.cfg.seeds), sum(len(SETTINGS[s]) for s in self.cfg.settings)
        fixed = seeds * len(self.cfg.settings) * sum(p["cell_seconds"] for p in probes.values())
        # The zero-shot question costs about one MFT cell's evaluation per seed.
        fixed += seeds * max(p["cell_seconds"] for p in probes.values())
        per_step = seeds * tasks / 3 * sum(p["seconds_per_step"] for p in probes.values())
        steps = int((self.cfg.hours * 3600 - spent - fixed) / per_step)
        if steps < MIN_STEPS:
            raise ConfigError(f"only {steps} steps per cell fit in {self.cfg.hours} hours (a cell's fixed cost is "
                              f"{fixed / seeds / len(self.cfg.settings) / len(probes):.0f} s)",
                              hint="raise --hours, or lower --batch-size, --max-functions-per-repository or the grid")
        return {"steps": steps, "probes": probes, "hours": self.cfg.hours, "probe_and_data_seconds": spent,
                "estimated_hours": (spent + fixed + steps * per_step) / 3600}

    def run(self) -> dict:
        import torch

        torch.set_num_threads(self.cfg.threads)
        self.out.mkdir(parents=True, exist_ok=True)
        stored = self.settings_file()
        cells = grid(self.cfg)
        plan = plan_of(self.cfg, stored["steps"])
        weights = [1 + len(c.tasks) for c in cells]  # a cell costs its evaluation and its tasks' steps
        results, spent, done_weight = [], 0.0, 0
        for index, (cell, weight) in enumerate(zip(cells, weights), start=1):
            folder = self.out / "cells" / cell.name
            cached = (folder / "result.json").is_file()
            data, codes = (None, []) if cached else (self.data(cell.seed), self.scan_codes())
            start = time.perf_counter()  # a seed's data is built once, not in its first cell's time
            results.append(run_cell(plan, cell, folder, data, codes))
            if not cached:
                spent += time.perf_counter() - start
                done_weight += weight
            left = sum(weights[index:])
            eta = f"ETA {_duration(spent / done_weight * left)}" if done_weight else "ETA after the first cell"
            self.say(f"[{index}/{len(cells)}] {cell.name}: {'done before' if cached else 'done'}; {eta}", flush=True)
        zeroshot = self.zero_shot()
        return write_report(self.cfg, stored, results, zeroshot)

    def zero_shot(self) -> dict[str, dict]:
        """The base's zero-shot scores on each seed's data (zero-shot/seed-N.json, computed once)."""
        from training.study_zeroshot import zero_shot

        out = {}
        for seed in self.cfg.seeds:
            path = self.out / "zero-shot" / f"seed-{seed}.json"
            if not path.is_file():
                self.say(f"[zero-shot] seed {seed}: the base alone against the MFT modules", flush=True)
                modules = {m: self.out / "cells" / Cell(m, "mft", seed).name / "module" for m in self.cfg.methods
                           if "mft" in self.cfg.settings}
                write_json(path, zero_shot(self.cfg.base, self.data(seed), modules, self.cfg.device,
                                           self.cfg.max_code_tokens, self.cfg.max_eval_summaries,
                                           self.cfg.zeroshot_functions, self.cfg.max_eval_functions or None))
            out[str(seed)] = json.loads(path.read_text(encoding="utf-8"))
        return out


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min {int(seconds % 60):02d} s"


def load_results(cfg: StudyConfig) -> tuple[dict, list[dict], dict]:
    """study.json, the finished cells of the grid, the zero-shot files: what ``report`` redraws from."""
    out = Path(cfg.out)
    if not (out / "study.json").is_file():
        raise ConfigError(f"{out} holds no study (no study.json)", hint="run `python -m training.study run` first")
    stored = json.loads((out / "study.json").read_text(encoding="utf-8"))
    results = [json.loads((out / "cells" / c.name / "result.json").read_text(encoding="utf-8")) for c in grid(cfg)
               if (out / "cells" / c.name / "result.json").is_file()]
    zeroshot = {p.stem.removeprefix("seed-"): json.loads(p.read_text(encoding="utf-8"))
                for p in sorted((out / "zero-shot").glob("seed-*.json"))}
    return stored, results, zeroshot


def write_report(cfg: StudyConfig, stored: dict, results: list[dict], zeroshot: dict) -> dict:
    """results.json, table.md, README.md and plots/ from the cells' results."""
    from training.study_plots import make_plots
    from training.study_report import claims, table
    from training.study_text import report_text

    out = Path(cfg.out)
    found = claims(results, zeroshot)
    text = table(results, cfg.methods, cfg.settings)
    (out / "table.md").write_text(text + "\n", encoding="utf-8")
    plots = make_plots(results, found, cfg.methods, out / "plots")
    summary = {"study": stored, "cells": results, "claims": found, "zero_shot": zeroshot,
               "plots": [str(p.relative_to(out)) for p in plots]}
    write_json(out / "results.json", summary)
    (out / "README.md").write_text(report_text(stored, results, found, text, summary["plots"]), encoding="utf-8")
    return summary


def parse_args(argv: list[str] | None = None) -> tuple[str, StudyConfig]:
    """(run | report, the StudyConfig of ``--field-name value`` flags); --quick fills what is not given."""
    parser = argparse.ArgumentParser(prog="python -m training.study", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "report"), help="run (or continue) the grid, or redraw the report")
    docs = field_docs(StudyConfig)
    for f in dataclasses.fields(StudyConfig):
        flag, help_text = "--" + f.name.replace("_", "-"), docs.get(f.name, "").replace("%", "%%")
        if f.name == "quick":
            parser.add_argument(flag, action="store_true", default=None, help=help_text)
        elif f.type.startswith("list"):
            parser.add_argument(flag, nargs="+", type=int if "int" in f.type else str, help=help_text)
        else:
            parser.add_argument(flag, type={"int": int, "float": float}.get(f.type, str), help=help_text)
    given = {k: v for k, v in vars(parser.parse_args(argv)).items() if v is not None}
    command = given.pop("command")
    if given.get("quick"):
        given = {**QUICK, **given}
    return command, StudyConfig(**given)


def main(argv: list[str] | None = None) -> None:
    command, cfg = parse_args(argv)
    try:
        if command == "run":
            summary = Study(cfg).run()
        else:
            summary = write_report(cfg, *load_results(cfg))
    except ConfigError as exc:  # a recipe script: the message and its fix, not a traceback
        sys.exit(f"error: {exc}\nhint: {exc.hint}")
    print(f"{len(summary['cells'])} cells; report in {Path(cfg.out) / 'README.md'}")


if __name__ == "__main__":
    main()
