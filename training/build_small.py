"""Build codelens-small in one command on the GPU machine: corpus -> tokens -> pretraining -> task data ->
multi-task adapter -> decisions on validation -> export, inside one 10-minute call.

    python -m training.build_small run --out /tmp/small --export-dir "$OUT" --device cuda
    python -m training.build_small run --out runs/small-tiny --preset tiny           # the same, on a CPU
    python -m training.build_small unpack --parts PARTS_DIR --into models/codelens-small

The GPU machine's minutes are the scarcest thing the project has, so the script overlaps what it can: the
task data (tree-sitter, CPU-bound) is built by a pool of worker processes while the GPU pretrains, and the
base model is exported as soon as pretraining ends, so a run that dies later still returns a better base.
Every stage leaves a marker in ``<out>/stages.json`` and is skipped when run again (pretraining resumes
from its checkpoint): a second call on the same machine continues where the first stopped.

Export: ``codelens-small-base.tar.NN`` and ``codelens-small-adapter.tar.NN`` (parts of at most 15 MiB, as
the machine returns at most 8 files of 16 MiB) plus ``build.json`` (every stage's numbers).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from codelens.field_docs import field_docs
from training.model_card import write_card
from training.shipping import ship_adapter

PART_BYTES = 15 * 1024 * 1024
ASSETS = Path(__file__).resolve().parent / "assets"
NANO_DIR = Path(__file__).resolve().parent.parent / "models" / "codelens-nano"


@dataclass
class BuildConfig:
    """One build of codelens-small; the defaults are the GPU run, ``--preset tiny`` the CPU test."""

    out: str = "runs/small"
    """Work folder (corpus copy, token files, checkpoints, the model)."""
    export_dir: str = ""
    """Where the returned parts go ('' = no export; on the GPU machine: $OUT)."""
    device: str = "cuda"
    """cuda or cpu."""
    site_packages: str = ""
    """site-packages folders (joined by ':') whose permissive distributions join the stdlib ('' = this
    interpreter's); e.g. the project's venv and a corpus venv of packages installed for the purpose."""
    packages: list[str] = field(default_factory=list)
    """Only these corpus packages (names as in the manifest, e.g. stdlib/json); empty = all."""
    tokenizer: str = str(ASSETS / "tokenizer-16k")
    """The byte-level BPE (trained on a CPU beforehand, committed: the GPU's minutes go to the model)."""
    vocab_size: int = 16384
    d_model: int = 512
    n_layers: int = 6
    n_heads: int = 8
    seq_len: int = 512
    batch_size: int = 256
    """Pretraining windows per step (seq_len tokens each)."""
    lr: float = 2e-3
    pretrain_minutes: float = 5.0
    """Wall-clock budget of pretraining (evaluation included); 0: the token budget decides."""
    pretrain_tokens: int = 0
    """Token budget of pretraining, used when pretrain_minutes is 0 (a budget the machine's load cannot move)."""
    accum: int = 1
    """Pretraining micro-batches per optimizer step."""
    compile: bool = False
    """torch.compile the pretraining model (pays back on runs of 10 minutes or more)."""
    threads: int = 0
    """torch threads for pretraining (0: min(4, workers))."""
    max_package_mb: float = 0.0
    """Cap on text tokenised from one package (0: none)."""
    init_from: str = ""
    """A base model folder of the same shape to continue pretraining from (e.g. the shipped base)."""
    branch_from: str = ""
    """A wsd pretraining run (e.g. of the size sweep) to continue from where its decay began, instead of
    starting from random weights; the pretrain_tokens budget counts its tokens."""
    model_name: str = "codelens-small"
    """The shipped model this build makes (its adapter names this base)."""
    stop_after: str = ""
    """'tokens': stop once the corpus and its token files exist (e.g. to run the size sweep on them)."""
    adapter_minutes: float = 1.6
    """Wall-clock budget of the adapter's training steps."""
    adapter_batch: int = 64
    """Rows per task per adapter step."""
    adapter_max_steps: int = 4000
    max_functions_per_repository: int = 400
    """Functions of one package the task data is made from (chosen by a hash): bounds the data build (0: all)."""
    rewrite_functions_per_repository: int = 0
    """Of those, the functions bug and clone rewrites are made from (0: all; the rest give summaries only)."""
    held_out_rewrites_per_repository: int = 0
    """The same for validation and test packages (0: as for training ones)."""
    max_code_tokens: int = 384
    """The adapter's code cut, in tokens."""
    max_eval_functions: int = 0
    """Functions of each held-out split the adapter is evaluated on (0: all)."""
    data_workers: int = 0
    """Processes for the corpus and the task data (0: all CPU cores but two)."""
    max_eval_summaries: int = 300
    seed: int = 0

    @property
    def workers(self) -> int:
        return self.data_workers or max(1, (os.cpu_count() or 2) - 2)


PRESETS = {
    "tiny": dict(device="cpu", packages=["stdlib/json", "stdlib/email", "stdlib/http", "stdlib/tomllib",
                                          "stdlib/csv", "stdlib/textwrap", "stdlib/shlex", "stdlib/string"],
                 vocab_size=8192, tokenizer=str(Path(__file__).resolve().parent.parent / "models" / "codelens-nano"
                                                / "base"),
                 d_model=64, n_layers=2, n_heads=2, seq_len=128, batch_size=4, pretrain_minutes=0.15,
                 adapter_minutes=0.15, adapter_batch=4, adapter_max_steps=6, max_functions_per_repository=30,
                 data_workers=1, max_eval_summaries=4),
    # The CPU build (2 cores, no GPU): the same stages, sized by the size sweep (training/sweep.py) and the
    # machine's measured throughput; models/codelens-nano/PRETRAINING.md records the run.
    "cpu": dict(device="cpu", tokenizer=str(NANO_DIR / "base"), vocab_size=8192, max_package_mb=6.0,
                d_model=256, n_layers=4, n_heads=4, seq_len=512, batch_size=8, accum=2, lr=1.5e-3, compile=True,
                threads=2, pretrain_minutes=150, pretrain_tokens=0, init_from=str(NANO_DIR / "base"),
                adapter_minutes=90, adapter_batch=16,
                adapter_max_steps=20000, max_functions_per_repository=0, rewrite_functions_per_repository=600,
                held_out_rewrites_per_repository=60,
                max_code_tokens=256, data_workers=2, max_eval_summaries=400, max_eval_functions=2000,
                model_name="codelens-nano"),
}
"""Named settings: ``tiny`` runs every stage on a CPU in a couple of minutes (the test of this script); ``cpu``
is the long build on this project's 2-core CPU machine."""


class Build:
    """The stages, their markers and their numbers."""

    def __init__(self, cfg: BuildConfig) -> None:
        self.cfg = cfg
        self.out = Path(cfg.out)
        (self.out / "stages").mkdir(parents=True, exist_ok=True)
        self.started = time.perf_counter()

    @property
    def done(self) -> dict:
        """Every finished stage's numbers: one marker file per stage, so the task data process (which runs
        beside the pretraining) and this one never write the same file."""
        return {p.stem: json.loads(p.read_text()) for p in sorted((self.out / "stages").glob("*.json"))}

    def log(self, message: str) -> None:  # a recipe script: it reports as it goes
        print(f"[{time.perf_counter() - self.started:7.1f}s] {message}", flush=True)

    def stage(self, name: str, run) -> dict:
        if name in self.done:
            self.log(f"{name}: done before, skipped")
            return self.done[name]
        began = time.perf_counter()
        self.log(f"{name}: start")
        result = run() or {}
        result["seconds"] = round(time.perf_counter() - began, 1)
        marker = self.out / "stages" / f"{name}.json"
        marker.with_suffix(".tmp").write_text(json.dumps(result, indent=1, default=str) + "\n")
        marker.with_suffix(".tmp").replace(marker)
        self.log(f"{name}: {json.dumps(result, default=str)[:400]}")
        return result

    # ------------------------------------------------------------------ stages

    def corpus(self) -> dict:
        """Licence-filtered packages, deduplicated, copied into one folder per package (the adapter's
        repositories), with the manifest."""
        from training.corpus import collect_corpus
        from training.dedupe import dedupe

        site = self.cfg.site_packages or sysconfig.get_paths()["purelib"]
        packages = collect_corpus([Path(p) for p in site.split(os.pathsep) if p])
        if self.cfg.packages:
            packages = [p for p in packages if p.name in set(self.cfg.packages)]
        files_before = sum(len(p.files) for p in packages)
        packages, report = dedupe(packages, workers=self.cfg.workers)
        folder = self.out / "corpus"
        shutil.rmtree(folder, ignore_errors=True)
        splits = {}
        for package in packages:
            name = package.name.replace("/", ".")
            target = folder / name
            for path in package.files:
                rel = path.relative_to(package.root) if path.is_relative_to(package.root) else Path(path.name)
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target / rel)
            splits[name] = package.split
        (self.out / "splits.json").write_text(json.dumps(splits, indent=1, sort_keys=True) + "\n")
        self._packages = packages
        return {"packages": len(packages), "files": sum(len(p.files) for p in packages), "files_before": files_before,
                "exact_duplicates": report.exact, "near_duplicates": report.near,
                "by_split": {s: sum(1 for p in packages if p.split == s) for s in ("train", "val", "test")},
                "site_packages": site}

    def start_task_data(self) -> subprocess.Popen | None:
        """The task data in worker processes beside the pretraining (it needs the corpus, not the model)."""
        if "task_data" in self.done:
            return None
        command = [sys.executable, "-m", "training.build_small", "task-data", "--config", str(self._config_file())]
        log = open(self.out / "task_data.log", "w")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})

    def task_data(self) -> dict:
        from codelens.train.data.dataset import cached_task_data

        # The adapter stage's own data settings: it finds this data in the cache instead of building it again.
        data_cfg = self.adapter_config().data_config()
        data = cached_task_data([self.out / "corpus"], [], data_cfg, self.out / "taskdata", self.cfg.workers)
        return {"counts": {s: data.split(s).counts() for s in ("train", "val", "test")}, "hash": data.hash()[:12],
                "functions": data.provenance.get("functions")}

    def pretrain(self) -> dict:
        from codelens.model.packed import pack_folder
        from training.pretrain import branch, train

        cfg = self.pretrain_config()
        resume = (Path(cfg.out) / "config.json").is_file()
        if not resume and self.cfg.branch_from:
            cfg = branch(Path(self.cfg.branch_from), Path(cfg.out), cfg.max_tokens, cfg.export)
            resume = True
        state = train(cfg, resume=resume, packages=getattr(self, "_packages", None) or self._reload_packages())
        model = self.out / self.cfg.model_name
        packed = pack_folder(self.out / "base-bf16", model / "base")
        shutil.copy2(self.out / "tokens" / "manifest.json", model / "manifest.json")
        self.export_tar(f"{self.cfg.model_name}-base", [model / "base", model / "manifest.json",
                                                        self.out / "pretrain" / "log.jsonl"])
        summary = json.loads((self.out / "base-bf16" / "pretraining.json").read_text())
        return {"steps": state["step"], "tokens": state["tokens"], "val_loss": state["val_loss"],
                "val_bits_per_byte": summary.get("val_bits_per_byte"), "parameters": summary.get("parameters"),
                "flops": summary.get("flops"), "packed_bytes": packed["bytes"]}

    def pretrain_config(self):
        """The pretraining run's settings (its token files are the build's own: self.out / tokens)."""
        from training.pretrain import PretrainConfig

        c = self.cfg
        return PretrainConfig(out=str(self.out / "pretrain"), data_dir=str(self.out / "tokens"),
                              export=str(self.out / "base-bf16"), minutes=c.pretrain_minutes,
                              max_tokens=c.pretrain_tokens, vocab_size=c.vocab_size, max_package_mb=c.max_package_mb,
                              tokenizer=c.tokenizer, device=c.device, seq_len=c.seq_len, batch_size=c.batch_size,
                              accum=c.accum, compile=c.compile, d_model=c.d_model, n_layers=c.n_layers,
                              n_heads=c.n_heads, lr=c.lr, min_lr=c.lr / 20, warmup_steps=50, eval_every=100,
                              eval_batches=8, log_every=20, ckpt_minutes=1.0 if c.device != "cpu" else 5.0,
                              threads=c.threads or min(4, c.workers), seed=1234 + c.seed, init_from=c.init_from)

    def tokens(self) -> dict:
        """The tokenizer and token files of the deduplicated corpus (the size sweep reads them too)."""
        from training.tokens import prepare_data

        data = prepare_data(self.pretrain_config(), getattr(self, "_packages", None) or self._reload_packages())
        return json.loads((data / "meta.json").read_text())

    def adapter_config(self):
        """The adapter stage's TrainConfig (the task data stage builds its data with the same settings)."""
        from codelens.train_config import TrainConfig

        c = self.cfg
        return TrainConfig(model=str(self.out / c.model_name / "base"), corpus=[str(self.out / "corpus")],
                           out=str(self.out / c.model_name / "adapter"), split_by="subdir",
                           manifest=str(self.out / "splits.json"), max_steps=c.adapter_max_steps,
                           batch_size=c.adapter_batch, lr=5e-4, head_lr=2e-3, seed=c.seed, device=c.device,
                           max_code_tokens=c.max_code_tokens, max_minutes=c.adapter_minutes,
                           data_cache=str(self.out / "taskdata"), data_workers=c.workers,
                           max_functions_per_repository=c.max_functions_per_repository or None,
                           rewrite_functions_per_repository=c.rewrite_functions_per_repository or None,
                           held_out_rewrites_per_repository=c.held_out_rewrites_per_repository or None,
                           max_eval_summaries=c.max_eval_summaries, checkpoint_every=200, resume=True,
                           threads=c.threads, max_eval_functions=c.max_eval_functions or None)

    def adapter(self) -> dict:
        from codelens.train.trainer import train

        cfg = self.adapter_config()
        result = train(cfg, progress=lambda update: self.log(update.message) if update.message else None)
        return {"steps": result.steps, "data_hash": result.data_hash[:12], "metrics": result.metrics,
                "trainable_params": result.trainable_params}

    def bits_per_byte(self) -> dict:
        """Held-out bits per byte of small and of nano on the same validation text (tokenizers differ)."""
        from training.bits_per_byte import held_out_texts, measure

        texts = held_out_texts(self.out / "tokens" / "manifest.json", self._reload_packages(), max_bytes=2_000_000)
        nano = NANO_DIR / "base"
        return {name: measure(folder, texts, self.cfg.device)
                for name, folder in (("small", self.out / self.cfg.model_name / "base"), ("nano", nano))
                if folder.is_dir()}

    def finish(self) -> dict:
        (self.out / "build.json").write_text(json.dumps({"config": dataclasses.asdict(self.cfg),
                                                         "stages": self.done}, indent=1, default=str) + "\n")
        self.export_tar(f"{self.cfg.model_name}-adapter", [self.out / self.cfg.model_name / "adapter",
                                                          self.out / "build.json",
                                                   self.out / "task_data.log"])
        return {}

    # ------------------------------------------------------------------ helpers

    def export_tar(self, name: str, paths: list[Path]) -> None:
        """``paths`` as one tar cut into parts of at most PART_BYTES in the export folder."""
        if not self.cfg.export_dir:
            return
        target = Path(self.cfg.export_dir)
        target.mkdir(parents=True, exist_ok=True)
        archive = self.out / f"{name}.tar"
        with tarfile.open(archive, "w") as tar:
            for path in paths:
                if path.exists():
                    tar.add(path, arcname=path.name)
        data = archive.read_bytes()
        for index in range(0, max(1, len(data)), PART_BYTES):
            (target / f"{name}.tar.{index // PART_BYTES:02d}").write_bytes(data[index:index + PART_BYTES])
        (target / "stages.json").write_text(json.dumps(self.done, indent=1, default=str) + "\n")

    def _config_file(self) -> Path:
        path = self.out / "build_config.json"
        path.write_text(json.dumps(dataclasses.asdict(self.cfg), indent=1) + "\n")
        return path

    def _reload_packages(self):
        from training.corpus import CorpusPackage

        packages = []
        for name, split in json.loads((self.out / "splits.json").read_text()).items():
            root = self.out / "corpus" / name
            packages.append(CorpusPackage(name, root, sorted(p for p in root.rglob("*.py")), "", split))
        return packages


def run(cfg: BuildConfig) -> dict:
    build = Build(cfg)
    build.log(f"config {json.dumps(dataclasses.asdict(cfg))}")
    build.stage("corpus", build.corpus)
    if not hasattr(build, "_packages"):
        build._packages = build._reload_packages()
    build.stage("tokens", build.tokens)
    if cfg.stop_after == "tokens":
        return build.done
    worker = build.start_task_data()
    try:
        build.stage("pretrain", build.pretrain)
    finally:
        if worker is not None:
            code = worker.wait()
            if code != 0:
                raise RuntimeError(f"the task data build failed ({code}); see {build.out / 'task_data.log'}")
    build.stage("adapter", build.adapter)
    build.stage("bits_per_byte", build.bits_per_byte)
    build.finish()
    build.log("build done")
    return build.done


def unpack(parts: Path, into: Path) -> list[str]:
    """Join the returned parts and extract them: base/ manifest.json log.jsonl into ``into``, adapter/ too,
    made codelens-small's (training.shipping)."""
    into.mkdir(parents=True, exist_ok=True)
    names = []
    for stem in ("codelens-small-base", "codelens-small-adapter"):
        pieces = sorted(parts.glob(f"{stem}.tar.*"))
        if not pieces:
            continue
        joined = into / f".{stem}.tar"
        joined.write_bytes(b"".join(p.read_bytes() for p in pieces))
        with tarfile.open(joined) as tar:
            tar.extractall(into, filter="data")
            names += tar.getnames()
        joined.unlink()
    if (into / "adapter" / "codelens.json").is_file():  # it names its base by the GPU machine's path
        ship_adapter(into / "adapter", into / "adapter", "codelens-small")
    return names


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.build_small", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    runner = sub.add_parser("run", help="every stage (skipping those already done)")
    runner.add_argument("--preset", choices=sorted(PRESETS), default=None)
    docs = field_docs(BuildConfig)
    for f in dataclasses.fields(BuildConfig):
        flag = "--" + f.name.replace("_", "-")
        kind = {"int": int, "float": float}.get(str(f.type), str)
        if str(f.type).startswith("list"):
            runner.add_argument(flag, nargs="*", default=None, help=docs.get(f.name, ""))
        else:
            runner.add_argument(flag, type=kind, default=None, help=docs.get(f.name, ""))
    data = sub.add_parser("task-data", help="the task data stage alone (run beside the pretraining)")
    data.add_argument("--config", type=Path, required=True)
    joiner = sub.add_parser("unpack", help="join and extract the returned parts")
    joiner.add_argument("--parts", type=Path, required=True)
    joiner.add_argument("--into", type=Path, required=True)
    card = sub.add_parser("card", help="write the model card from the unpacked build's records")
    card.add_argument("--model", type=Path, required=True, help="the unpacked model folder (build.json inside)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "unpack":
        print("\n".join(unpack(args.parts, args.into)))
        if (args.into / "build.json").is_file():
            print(write_card(args.into, NANO_DIR))
        return
    if args.command == "card":
        print(write_card(args.model, NANO_DIR))
        return
    if args.command == "task-data":
        build = Build(BuildConfig(**json.loads(args.config.read_text())))
        build.stage("task_data", build.task_data)
        return
    values = dict(PRESETS.get(args.preset or "", {}))
    values.update({f.name: getattr(args, f.name) for f in dataclasses.fields(BuildConfig)
                   if getattr(args, f.name) is not None})
    run(BuildConfig(**values))


if __name__ == "__main__":
    main()
