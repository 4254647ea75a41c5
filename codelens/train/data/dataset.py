"""All task data for one training run: corpus functions and CodeXGLUE files -> examples per task and split.

Per corpus function (its random stream seeded by (seed, function id), so adding a repository never
changes another one's examples):

  clones    one clone class: the function + up to ``clone_variants`` transform chains of it
  defects   clean: the function and one of its variants; buggy: ``bugs_per_function`` single-edit bugs,
            alternately of the function and of a variant, so "has been rewritten" says nothing about
            the label and the two classes stay balanced
  summary   (body, first sentence of the docstring) when the docstring is usable

Clone pairs for thresholds and pair F1: every (function, variant) is a positive; per class one hard
negative (the class from the same file with the most similar name, else the same repository) and one
random negative of the same split.
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import json
import os
import random
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

from codelens.choices import SplitBy
from codelens.parsing.sites import BUG_KINDS, edit_sites, repair_candidates
from codelens.train.data import CloneExample, ClonePair, DefectExample, SummaryExample, data_hash
from codelens.train.data.clones import clone_variants
from codelens.train.data.defects import sample_bugs
from codelens.train.data.functions import Function, body_of, collect_functions, repositories
from codelens.train.data.summaries import first_sentence


@dataclass
class DataConfig:
    """How many examples to derive from each function."""

    seed: int = 0
    """Seeds every random choice; the same seed and corpus give the same data (and data hash)."""
    clone_variants: int = 3
    """Transform chains per function (its clone class has up to this many members besides itself)."""
    bugs_per_function: int = 4
    """Buggy rewrites per function; as many clean examples are made, so the classes are balanced."""
    split_by: SplitBy = SplitBy.DIR
    """dir: each corpus folder is one repository; subdir: each of its top-level folders is one."""
    manifest: dict[str, str] = field(default_factory=dict)
    """Explicit repository -> split; other repositories are split by sha256 of their name."""
    bug_kinds: tuple[str, ...] = BUG_KINDS
    """Bug kinds injected (a subset for ablations; see defects.py)."""
    languages: tuple[str, ...] = ("python",)
    """Languages read from the corpus (rewrites exist for Python)."""
    codexglue_limit: int | None = None
    """Read at most this many records per CodeXGLUE file (None: all)."""
    max_functions_per_repository: int | None = None
    """Use at most this many functions of one repository (chosen by a hash of their id); None: all."""
    rewrite_functions_per_repository: int | None = None
    """Make bug and clone rewrites (the costly examples) from at most this many functions of one repository,
    chosen by a hash of their id; every function still gives its summary example. None: all."""
    held_out_rewrites_per_repository: int | None = None
    """The same cap for validation and test repositories (evaluation scores a sample of their functions, so
    rewriting all of them is wasted); None: rewrite_functions_per_repository."""
    independent: bool = True
    """Add the independently written clone classes of ``independent.mine_independent`` (with their hard and
    random negatives) to every split, and to training the cross-modal pairs (a function, its docstring)."""
    template_repeats: int = 5
    """A docstring sentence found this many times or more in a split is a template ("Initialize self."):
    no summary example is made from it (0: keep all)."""


@dataclass
class TaskData:
    """Examples of every task and split, plus where they came from."""

    defect: list[DefectExample] = field(default_factory=list)
    clone: list[CloneExample] = field(default_factory=list)
    clone_pairs: list[ClonePair] = field(default_factory=list)
    summary: list[SummaryExample] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    """Repositories with their splits, function counts, CodeXGLUE files, skipped inputs."""

    def split(self, name: str) -> "TaskData":
        """The examples of one split (provenance is shared)."""
        return TaskData([e for e in self.defect if e.split == name], [e for e in self.clone if e.split == name],
                        [e for e in self.clone_pairs if e.split == name],
                        [e for e in self.summary if e.split == name], self.provenance)

    def sample_functions(self, limit: int | None) -> "TaskData":
        """At most ``limit`` functions' examples (chosen by a hash of their id, the same every run): their
        defect examples, their clone classes, and the corpus pairs between kept members; independently
        written classes and cross-modal pairs are kept whole, and so are the summaries. None: everything.

        Evaluation of a corpus-sized split scores a fixed sample instead of every rewrite of every function."""
        if limit is None:
            return self
        # A corpus function's clone class is named by its origin, like its defect examples.
        functions = {e.origin for e in self.defect}
        origins = sorted(functions, key=lambda o: hashlib.sha256(o.encode()).hexdigest())
        if len(origins) <= limit:
            return self
        kept = set(origins[:limit])
        clone = [c for c in self.clone if c.group not in functions or c.group in kept]
        codes = {c.code for c in clone}
        pairs = [p for p in self.clone_pairs
                 if p.kind not in CORPUS_PAIR_KINDS or (p.a in codes and p.b in codes)]
        return TaskData([e for e in self.defect if e.origin in kept], clone, pairs, list(self.summary),
                        self.provenance)

    def for_tasks(self, tasks) -> "TaskData":
        """Only the examples of ``tasks`` (an adapter is scored on what it was trained for)."""
        wanted = set(tasks)
        return TaskData(self.defect if "defect" in wanted else [], self.clone if "clone" in wanted else [],
                        self.clone_pairs if "clone" in wanted else [], self.summary if "summary" in wanted else [],
                        self.provenance)

    def extend(self, other) -> None:
        for name in ("defect", "clone", "clone_pairs", "summary"):
            getattr(self, name).extend(getattr(other, name))

    def counts(self) -> dict[str, int]:
        return {"defect": len(self.defect), "clone": len(self.clone), "clone_pairs": len(self.clone_pairs),
                "summary": len(self.summary)}

    def hash(self) -> str:
        """data_hash over all examples, task by task."""
        return data_hash([*self.defect, *self.clone, *self.clone_pairs, *self.summary])


CORPUS_PAIR_KINDS = frozenset({"transform", "hard-negative", "random-negative"})
"""``ClonePair.kind`` of the pairs made between corpus clone classes (``clone_pairs``)."""


def repair_target(bug, language: str, indent: str) -> tuple[str | None, tuple[str, ...]]:
    """(site kind, repair candidates) of the buggy function at the bug's site, the repair among them.

    The candidates are what a scan would weigh there (the site as the buggy code has it); an edit whose
    repair is not among them (a dropped negation outside a condition) has none.
    """
    fallback = None
    for site in edit_sites(bug.source, language, indent):
        if (site.start, site.end) != tuple(bug.site):
            continue
        candidates = tuple(c for c in repair_candidates(site, language) if c != site.text)
        if bug.repair in candidates:
            return site.kind, candidates
        fallback = fallback or site.kind
    return fallback, ()


def function_examples(fn: Function, cfg: DataConfig, rewrite: bool = True) -> TaskData:
    """Every example derived from one function (``rewrite`` False: its summary example alone)."""
    rng = random.Random(f"{cfg.seed}:{fn.origin}")
    out = TaskData()
    if not rewrite:
        summary = first_sentence(fn.docstring)
        if summary:
            out.summary.append(SummaryExample(fn.body, summary, fn.repo, fn.split, fn.origin))
        return out
    variants = []  # (source, body, kind), bodies distinct from the original and each other
    seen = {fn.body}
    wanted = max(cfg.clone_variants, cfg.bugs_per_function - 1)
    for transform in clone_variants(fn.source, rng, wanted, fn.language, fn.indent):
        body = body_of(transform.source, fn.language, fn.indent)
        if body is not None and body not in seen:
            seen.add(body)
            variants.append((transform.source, body, transform.kind))
    if variants:
        out.clone.append(CloneExample(fn.body, fn.origin, "original", fn.repo, fn.split, fn.path, fn.qualname))
        out.clone += [CloneExample(b, fn.origin, k, fn.repo, fn.split, fn.path, fn.qualname)
                      for _, b, k in variants[: cfg.clone_variants]]

    # Bugs are made in the text the model reads (the body without its docstring), so each one's site is
    # an offset into the example's own code: the localisation target needs no mapping.
    bases = [fn.body] + [b for _, b, _ in variants]
    buggy: list[DefectExample] = []
    for i in range(cfg.bugs_per_function):
        body = bases[0] if i % 2 == 0 or len(bases) == 1 else bases[1 + (i // 2) % (len(bases) - 1)]
        # A kind not used yet for this function when there is one: variety over repeats of one edit.
        fresh = tuple(k for k in cfg.bug_kinds if k not in {b.kind for b in buggy})
        bugs = sample_bugs(body, rng, 1, fn.language, fn.indent, fresh) or \
            sample_bugs(body, rng, 1, fn.language, fn.indent, tuple(cfg.bug_kinds))
        for bug in bugs:
            if bug.source not in seen and body_of(bug.source, fn.language, fn.indent) == bug.source:
                seen.add(bug.source)
                site_kind, candidates = repair_target(bug, fn.language, fn.indent)
                buggy.append(DefectExample(bug.source, 1, bug.kind, bug.line, fn.repo, fn.split, fn.origin,
                                           bug.site, bug.repair, site_kind, candidates))
    clean = [DefectExample(fn.body, 0, "original", None, fn.repo, fn.split, fn.origin)]
    clean += [DefectExample(b, 0, k, None, fn.repo, fn.split, fn.origin) for _, b, k in variants]
    # As many clean as buggy examples (at least the original), so neither class dominates.
    pairs = min(len(clean), len(buggy))
    out.defect = clean[: max(1, pairs)] + buggy[:pairs]

    summary = first_sentence(fn.docstring)
    if summary:
        out.summary.append(SummaryExample(fn.body, summary, fn.repo, fn.split, fn.origin))
    return out


def clone_pairs(clones: list[CloneExample], seed: int) -> list[ClonePair]:
    """Positive and negative pairs over corpus clone classes, per split."""
    out = []
    for split in sorted({c.split for c in clones}):
        rng = random.Random(f"{seed}:pairs:{split}")
        groups: dict[str, list[CloneExample]] = {}
        for c in clones:
            if c.split == split:
                groups.setdefault(c.group, []).append(c)
        names = list(groups)
        # Hard-negative candidates per file and per repository, in class order, indexed once: scanning
        # every other class for each class is quadratic in a split's classes (hours on a large corpus).
        by_file: dict[tuple[str, str], list[str]] = {}
        by_repo: dict[str, list[str]] = {}
        for name in names:
            head = groups[name][0]
            by_file.setdefault((head.repo, head.path), []).append(name)
            by_repo.setdefault(head.repo, []).append(name)
        for position, name in enumerate(names):
            members = groups[name]
            head = members[0]
            out += [ClonePair(head.code, m.code, 1, "transform", head.repo, split) for m in members[1:]]
            if len(names) < 2:
                continue
            near = [g for g in by_file[(head.repo, head.path)] if g != name] or \
                   [g for g in by_repo[head.repo] if g != name]
            if near:
                hard = max(near, key=lambda g: (difflib.SequenceMatcher(None, groups[g][0].name, head.name).ratio(), g))
                out.append(ClonePair(head.code, rng.choice(groups[hard]).code, 0, "hard-negative", head.repo, split))
            # The same draw as rng.choice over the other classes, without building that list per class.
            pick = rng.randrange(len(names) - 1)
            other = groups[names[pick if pick < position else pick + 1]]
            out.append(ClonePair(head.code, rng.choice(other).code, 0, "random-negative", head.repo, split))
    return out


Progress = Callable[[str, int, int], None]
"""progress(stage, done, total) while task data is built: each stage reports 0 of its total first."""


def _quiet(stage: str, done: int, total: int) -> None:
    pass


def corpus_task_data(corpus: list[Path], cfg: DataConfig, workers: int = 1, progress: Progress | None = None) -> TaskData:
    """Task data from corpus folders (see the module docstring), built by ``workers`` processes.

    Repositories are read in parallel, exact duplicates (the same source in two places) kept once in
    repository order, and the examples of each function made in parallel: every function's examples
    depend only on it and the seed, so the result is the same whatever the number of workers.
    """
    progress = progress or _quiet
    repos = repositories(corpus, cfg.split_by, cfg.manifest)
    progress("reading repositories", 0, len(repos))
    functions, skipped = collect_functions(repos, cfg.languages, workers, cfg.max_functions_per_repository)
    progress("reading repositories", len(repos), len(repos))
    out = TaskData()
    rewritten = _rewrite_choice(functions, cfg.rewrite_functions_per_repository, cfg.held_out_rewrites_per_repository)
    items = [(fn, fn.origin in rewritten) if rewritten is not None else (fn, True) for fn in functions]
    size = max(1, len(functions) // (8 * max(1, workers)))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    progress("making examples (functions)", 0, len(functions))
    for done, part in enumerate(_map(partial(_examples, cfg=cfg), chunks, workers), start=1):
        out.extend(part)
        progress("making examples (functions)", min(len(functions), done * size), len(functions))
    progress("pairing clones", 0, 1)
    out.clone_pairs = clone_pairs(out.clone, cfg.seed)
    progress("pairing clones", 1, 1)
    if cfg.independent:
        progress("mining independent clones", 0, 1)
        add_independent(out, functions, repos, cfg.seed)
        progress("mining independent clones", 1, 1)
    if cfg.template_repeats:
        out.summary = drop_templates(out.summary, cfg.template_repeats)
    per_repo: dict[str, int] = {}
    for fn in functions:
        per_repo[fn.repo] = per_repo.get(fn.repo, 0) + 1
    out.provenance = {
        "repositories": [{"name": r.name, "path": str(r.root), "split": r.split, "functions": per_repo.get(r.name, 0)}
                         for r in repos],
        "functions": len(functions),
        "skipped_files": skipped,
    }
    return out


DOCSTRING_PAIR = "docstring"
"""``ClonePair.kind`` of a cross-modal training pair: a function body and its docstring sentence."""


def docstring_text(sentence: str) -> str:
    """How a docstring sentence is embedded opposite its function: as the docstring literal it was."""
    return f'"""{sentence}"""'


def add_independent(out: TaskData, functions: list[Function], repos, seed: int) -> None:
    """Independently written clone classes, their negatives (as distractors and pairs) and, in the train
    split only, function <-> docstring pairs (evaluation compares code with code)."""
    from codelens.train.data.independent import mine_independent

    mined = mine_independent(functions, repos, seed=seed)
    out.clone += mined.clones + mined.distractors
    out.clone_pairs += mined.pairs
    out.clone_pairs += [ClonePair(d.code, docstring_text(d.summary), 1, DOCSTRING_PAIR, d.repo, d.split)
                        for d in mined.docstrings if d.split == "train"]


def _summary_key(sentence: str) -> str:
    return " ".join("".join(ch if ch.isalnum() else " " for ch in sentence.lower()).split())


def drop_templates(examples: list[SummaryExample], repeats: int) -> list[SummaryExample]:
    """``examples`` without those whose sentence (case and punctuation aside) occurs ``repeats`` times or
    more in its split: generated or copied boilerplate teaches one string, not summarising."""
    counts: dict[tuple[str, str], int] = {}
    for e in examples:
        key = (e.split, _summary_key(e.summary))
        counts[key] = counts.get(key, 0) + 1
    return [e for e in examples if counts[(e.split, _summary_key(e.summary))] < repeats]


def _examples(items: list[tuple[Function, bool]], cfg: DataConfig) -> TaskData:
    out = TaskData()
    for fn, rewrite in items:
        out.extend(function_examples(fn, cfg, rewrite))
    return out


def _rewrite_choice(functions: list[Function], limit: int | None, held_out: int | None = None) -> set[str] | None:
    """Origins of the functions that get rewrites: the first ``limit`` of each training repository (``held_out``
    of each validation or test one) by a hash of their id; None when every function does."""
    if limit is None and held_out is None:
        return None
    by_repo: dict[str, list[str]] = {}
    split_of_repo: dict[str, str] = {}
    for fn in functions:
        by_repo.setdefault(fn.repo, []).append(fn.origin)
        split_of_repo[fn.repo] = fn.split
    chosen = set()
    for repo, origins in by_repo.items():
        cap = limit if split_of_repo[repo] == "train" or held_out is None else held_out
        ranked = sorted(origins, key=lambda o: hashlib.sha256(o.encode()).hexdigest())
        chosen.update(ranked if cap is None else ranked[:cap])
    return chosen


def _map(fn, items: list, workers: int):
    """``fn(x) for x in items``, in worker processes when there are several, yielded in order as they come."""
    if workers <= 1 or len(items) <= 1:
        yield from (fn(x) for x in items)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(fn, items)


def load_task_data(corpus: list[Path], codexglue: list[Path], cfg: DataConfig, workers: int = 1,
                   progress: Progress | None = None) -> TaskData:
    """Corpus task data plus every CodeXGLUE file, with provenance for codelens.json."""
    from codelens.train.data.codexglue import load_codexglue

    out = corpus_task_data(corpus, cfg, workers, progress) if corpus else \
        TaskData(provenance={"repositories": [], "functions": 0})
    files = []
    for number, path in enumerate(codexglue):
        (progress or _quiet)("reading CodeXGLUE files", number, len(codexglue))
        loaded = load_codexglue(Path(path), cfg.codexglue_limit)
        out.extend(loaded)
        size = len(loaded.defect) + len(loaded.clone) + len(loaded.clone_pairs) + len(loaded.summary)
        files.append({"path": loaded.path, "format": loaded.format, "skipped": loaded.skipped, "examples": size})
        (progress or _quiet)("reading CodeXGLUE files", number + 1, len(codexglue))
    out.provenance["codexglue"] = files
    return out


def _corpus_key(corpus: list[Path], codexglue: list[Path], cfg: DataConfig) -> str:
    """What decides the built data: the settings and every input file's relative name and contents.

    Contents, not sizes: an edit that keeps a file's size (a changed operator, a renamed variable of the same
    length) must not reuse examples built from the old text. Names and contents (not paths or times), so a
    copy of the same corpus on another machine hits the cache.
    """
    h = hashlib.sha256(json.dumps(asdict(cfg), sort_keys=True, default=list).encode())
    for root in [*corpus, *codexglue]:
        root = Path(root)
        files = [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))
        for path in files:
            rel = path.name if path == root else path.relative_to(root).as_posix()
            with open(path, "rb") as handle:  # is_file(): a regular file, so the read cannot block
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            h.update(f"{root.name}/{rel}\0{digest}\n".encode())
    return h.hexdigest()[:24]


def _defect_example(raw: dict) -> DefectExample:
    site = raw.get("site")
    return DefectExample(**{**raw, "site": tuple(site) if site is not None else None,
                             "candidates": tuple(raw.get("candidates") or ())})


def cached_task_data(corpus: list[Path], codexglue: list[Path], cfg: DataConfig, cache_dir: Path | None,
                     workers: int = 1, progress: Progress | None = None) -> TaskData:
    """load_task_data, kept as gzipped JSON in ``cache_dir`` so runs that share a corpus build it once
    (ablations, single-task baselines, a GPU machine given the file). A damaged cache file is rebuilt."""
    if cache_dir is None:
        return load_task_data(corpus, codexglue, cfg, workers, progress)
    path = Path(cache_dir) / f"taskdata-{_corpus_key(corpus, codexglue, cfg)}.json.gz"
    if path.is_file():
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                raw = json.load(handle)
            return TaskData([_defect_example(e) for e in raw["defect"]], [CloneExample(**e) for e in raw["clone"]],
                            [ClonePair(**e) for e in raw["clone_pairs"]], [SummaryExample(**e) for e in raw["summary"]],
                            raw["provenance"])
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)
    data = load_task_data(corpus, codexglue, cfg, workers, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as handle:
        json.dump({"defect": [asdict(e) for e in data.defect], "clone": [asdict(e) for e in data.clone],
                   "clone_pairs": [asdict(e) for e in data.clone_pairs],
                   "summary": [asdict(e) for e in data.summary], "provenance": data.provenance}, handle)
    os.replace(tmp, path)
    return data
