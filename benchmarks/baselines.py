"""Model-free baselines against the model, on code it never trained on (issue 12): clones and summaries
are worth showing only where they beat what needs no model.

Corpus: the packages of the pretraining corpus (training/corpus.py: the standard library and the
permissively licensed packages of the venv), split by package as ``python -m training.nano stage`` splits
them; their files are copied here (quick: 5 per package, nano's staging; standard: all of them), so
discovery reads them as a repository. Clone positives are the independently written ones of
``codelens.train.data.independent`` (overrides of one method, same-named functions with matching
docstrings across packages), with a hard and a random negative per positive as distractors.

    clones     MAP@R (every class member queries all members and distractors) and pair F1 (thresholds
               fitted on the validation split for each scorer) of the model's clone score as a scan
               computes it (the embedding cosine fused with Jaccard by the adapter's weight; the
               embedding alone in the detail) against identifier-and-keyword-set Jaccard
               (SourcererCC's idea, ``codelens.tasks.clone``);
               again with identifiers renamed (clones.py's rename transform, on every function)
    summaries  smoothed BLEU-4 and ROUGE-L against the first docstring sentence, of the model's summary
               (as CL300 shows it) against the function's name read as a sentence
    counts     a default scan of stdlib http + asyncio + email (quick: json): CL200 findings on one- or
               two-statement functions whose twin differs only in literals (must be 0), CL300 findings
               with and without a suggestion, the distinct share of the shown suggestions (>= 0.6) and
               how many repeat a 3-word phrase (must be 0)

Each ratio is model / baseline, both measured in this run on the same examples.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
from pathlib import Path

from benchmarks.common import BenchContext, Figure, check, load_default, ratio_of

QUICK_FILES, STANDARD_FILES = 5, 100_000
"""Files copied per corpus package (the nano recipe stages 5)."""
QUICK_SUMMARIES, STANDARD_SUMMARIES = 24, 300
"""Test-split functions with a usable docstring whose summary is generated (an even sample)."""
QUICK_SCAN, STANDARD_SCAN = ("json",), ("http", "asyncio", "email")
SPLITS = ("val", "test")
SEED = 0


def stage_corpus(dest: Path, files_per_package: int, splits: tuple[str, ...] = SPLITS,
                 site: Path | None = None) -> Path:
    """Copy the corpus packages of ``splits`` into ``dest`` (one folder per package, at most
    ``files_per_package`` files picked by a hash of their path) with a manifest of every package's split.

    Copies, not links: discovery does not follow a link out of the scanned folder."""
    import sysconfig

    from training.corpus import collect_corpus

    manifest = {}
    for package in collect_corpus(site or Path(sysconfig.get_paths()["purelib"])):
        name = package.name.replace("/", ".").replace(" ", "_")
        manifest[name] = package.split
        if package.split not in splits:
            continue
        ranked = sorted(package.files, key=lambda p: hashlib.sha256(str(p).encode()).hexdigest())
        for index, path in enumerate(sorted(ranked[:files_per_package])):
            (dest / name).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest / name / f"{index:03d}_{path.name}")
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return dest


def mined_splits(ctx: BenchContext) -> dict:
    """split -> (functions, IndependentData) of the staged corpus, built once per run."""
    from codelens.train.data.functions import collect_functions, load_manifest, repositories
    from codelens.train.data.independent import mine_independent

    def build():
        corpus = stage_corpus(ctx.workdir / "baselines-corpus", QUICK_FILES if ctx.quick else STANDARD_FILES)
        repos = repositories([corpus], "subdir", load_manifest(corpus / "manifest.json"))
        out = {}
        for split in SPLITS:
            chosen = [r for r in repos if r.split == split]
            functions, _ = collect_functions(chosen)
            out[split] = (functions, mine_independent(functions, chosen, seed=SEED))
        return out

    return ctx.shared("baselines:mined", build)


def renamed_bodies(functions, bodies: list[str], seed: int = SEED) -> tuple[dict[str, str], int]:
    """Each body with its identifiers renamed (one rename transform of its function, seeded per function),
    and how many were renamed (a function without a renamable name keeps its body)."""
    from codelens.train.data.clones import apply_transform
    from codelens.train.data.functions import body_of

    by_body = {}
    for fn in functions:
        by_body.setdefault(fn.body, fn)
    out, renamed = {}, 0
    for body in dict.fromkeys(bodies):
        fn = by_body[body]
        source = apply_transform(fn.source, "rename", random.Random(f"{seed}:{fn.origin}"), fn.language, fn.indent)
        new = body_of(source, fn.language, fn.indent) if source is not None else None
        out[body] = new or body
        renamed += new is not None and new != body
    return out, renamed


def _pair_scores(pairs, similarity) -> tuple[list[int], list[float]]:
    return [p.label for p in pairs], [similarity(p.a, p.b) for p in pairs]


def clone_scores(loaded, val, test, rename: dict[str, str] | None = None, embedded: dict | None = None) -> dict:
    """MAP@R and pair F1 of the model and of Jaccard on ``test`` (IndependentData), thresholds fitted on
    ``val``; with ``rename`` every test body is replaced by its renamed version first. ``embedded`` (code ->
    embedding) keeps the embeddings across calls, so each code runs through the model once."""
    import numpy as np

    from codelens.tasks.clone import fused_similarity, jaccard, jaccard_matrix, token_set
    from codelens.train.evaluate import score_codes
    from codelens.train.metrics import best_f1_threshold, binary_metrics, map_at_r, map_at_r_of_similarities

    rename = rename or {}
    items = test.clones + test.distractors
    codes = [rename.get(c.code, c.code) for c in items]
    groups = [c.group for c in items]
    test_pairs = [type(p)(rename.get(p.a, p.a), rename.get(p.b, p.b), p.label, p.kind, p.repo, p.split)
                  for p in test.pairs]
    every = codes + [c for p in test_pairs + val.pairs for c in (p.a, p.b)]
    embeddings = {} if embedded is None else embedded
    embeddings.update(score_codes(loaded, [c for c in dict.fromkeys(every) if c not in embeddings], set()).embeddings)
    sets = {code: token_set(code) for code in dict.fromkeys(every)}

    def cosine(a: str, b: str) -> float:
        return float(np.dot(embeddings[a], embeddings[b]))  # the engine returns unit vectors

    def lexical(a: str, b: str) -> float:
        return jaccard(sets[a], sets[b])

    weight = loaded.meta.thresholds.clone_lexical

    def fused(a: str, b: str) -> float:  # the scan's clone score
        return fused_similarity(cosine(a, b), lexical(a, b), weight)

    def fused_retrieval() -> float:
        matrix = np.asarray([embeddings[c] for c in codes], dtype=np.float32)
        return map_at_r_of_similarities(fused_similarity(matrix @ matrix.T, jaccard_matrix([sets[c] for c in codes]),
                                                         weight), groups)

    out = {"items": len(items), "classes": len(set(c.group for c in test.clones)), "pairs": len(test_pairs),
           "positives": sum(p.label for p in test_pairs), "lexical_weight": weight}
    for name, similarity, retrieval in (
            ("model", fused, fused_retrieval),
            ("embedding", cosine, lambda: map_at_r([embeddings[c] for c in codes], groups)),
            ("jaccard", lexical, lambda: map_at_r_of_similarities(jaccard_matrix([sets[c] for c in codes]), groups))):
        threshold, _ = best_f1_threshold(*_pair_scores(val.pairs, similarity))
        metrics = binary_metrics(*_pair_scores(test_pairs, similarity), threshold)
        out[name] = {"map_at_r": retrieval() or 0.0, "pair_f1": metrics["f1"], "threshold": threshold,
                     "precision": metrics["precision"], "recall": metrics["recall"]}
    shipped = loaded.meta.thresholds.clone
    out["model"]["pair_f1_at_adapter_threshold"] = binary_metrics(*_pair_scores(test_pairs, fused), shipped)["f1"]
    return out


def summary_scores(loaded, examples: list, limit: int, seed: int = SEED) -> dict:
    """BLEU-4 / ROUGE-L of the model's summaries (``pep257_summary``, as CL300 shows them) and of the
    name baseline against the references, on an even sample of ``limit`` examples."""
    from codelens.tasks.summary import name_summary, pep257_summary
    from codelens.train.evaluate import score_codes
    from codelens.train.metrics import rouge_l, smoothed_bleu4

    chosen = sorted(random.Random(f"{seed}:summaries").sample(examples, min(limit, len(examples))),
                    key=lambda e: e.origin)
    codes = [e.code for e in chosen]
    generated = score_codes(loaded, codes, set(codes)).summaries
    references = [e.summary for e in chosen]
    model = [pep257_summary(generated.get(e.code)) or "" for e in chosen]
    names = [name_summary(e.origin.rpartition(":")[2]) or "" for e in chosen]
    return {"examples": len(chosen), "empty_model_summaries": sum(1 for m in model if not m),
            "model": {"bleu4": smoothed_bleu4(references, model), "rouge_l": rouge_l(references, model)},
            "name": {"bleu4": smoothed_bleu4(references, names), "rouge_l": rouge_l(references, names)},
            "samples": [{"name": e.origin.rpartition(":")[2], "reference": r, "model": m, "baseline": n}
                        for e, r, m, n in list(zip(chosen, references, model, names))[:5]]}


def literal_key(unit) -> tuple:
    """The function's tokens with literals abstracted and identifiers kept: equal for literal-only twins."""
    from codelens.parsing.normalize import LIT, tokenize

    tokens, src = tokenize(unit.body, unit.language)
    return tuple(b"LIT" if category == LIT else src[start:end] for start, end, category, _ in tokens)


def repeats_a_phrase(text: str, words: int = 3) -> bool:
    """Whether ``text`` holds the same run of ``words`` words twice (the loop of a degenerate decoder)."""
    tokens = re.findall(r"\w+", text.lower())
    runs = [tuple(tokens[i:i + words]) for i in range(len(tokens) - words + 1)]
    return len(set(runs)) < len(runs)


def scan_counts(report) -> dict:
    """CL200 findings on 1-2 statement functions with a literal-only twin; CL300 with / without a fix, how
    many distinct suggestions, how many repeat a 3-word phrase."""
    from codelens.tasks.clone import statement_count

    units = {(u.path, u.qualname, u.start_line): u for u in report.units}
    twins: dict[tuple, list] = {}
    for pair in report.clones:
        for one, other in ((pair.a, pair.b), (pair.a, pair.b)[::-1]):
            twins.setdefault((one.path, one.qualname, one.start_line), []).append(other)
    clones = [f for f in report.findings if f.code == "CL200"]
    small = literal_only = 0
    for finding in clones:
        key = (finding.path, finding.qualname, finding.start_line)
        unit = units.get(key)
        if unit is None or statement_count(unit) > 2:
            continue
        small += 1
        literal_only += any(t.hash != unit.hash and literal_key(t) == literal_key(unit) for t in twins.get(key, []))
    docs = [f for f in report.findings if f.code == "CL300"]
    shown = [f.fix for f in docs if f.fix]
    return {"cl300_distinct_suggestions": len(set(shown)),
            "cl300_repeating_a_phrase": sum(1 for text in shown if repeats_a_phrase(text)), "functions": len(report.units), "cl200": len(clones), "cl200_small": small,
            "cl200_small_literal_only": literal_only, "cl300": len(docs),
            "cl300_with_suggestion": sum(1 for f in docs if f.fix), "cl300_without": sum(1 for f in docs if not f.fix)}


def _figure(name: str, model: float, baseline: float, reference: str, note: str, detail: dict) -> Figure:
    return Figure("baselines", name, model, "score", reference, baseline, ratio_of(model, baseline), note=note,
                  detail=detail)


def run(ctx: BenchContext) -> list[Figure]:
    from codelens.config import ScanConfig
    from codelens.scan import run_scan

    loaded = ctx.shared("baselines:model", lambda: load_default(ctx))
    _, _, source = ctx.default_pair()
    mined = mined_splits(ctx)
    (_, val), (test_functions, test) = mined["val"], mined["test"]
    figures = []
    rename, renamed = renamed_bodies(test_functions, [c.code for c in test.clones + test.distractors]
                                     + [code for p in test.pairs for code in (p.a, p.b)])
    embedded: dict = {}
    for label, mapping in (("", None), (", identifiers renamed", rename)):
        scores = clone_scores(loaded, val, test, mapping, embedded)
        detail = {**scores, "model_source": source, "renamed_bodies": renamed if mapping else 0}
        size = f"{scores['classes']} classes, {scores['items']} functions with distractors, test split"
        for key, title in (("map_at_r", "clone MAP@R"), ("pair_f1", "clone pair F1")):
            figures.append(_figure(f"{title}{label}", scores["model"][key], scores["jaccard"][key],
                                   "identifier-set Jaccard", f"{size}; thresholds fitted on val", detail))
    summaries = summary_scores(loaded, test.docstrings, QUICK_SUMMARIES if ctx.quick else STANDARD_SUMMARIES)
    for key, title in (("bleu4", "summary smoothed BLEU-4"), ("rouge_l", "summary ROUGE-L")):
        figures.append(_figure(title, summaries["model"][key], summaries["name"][key], "function name split",
                               f"{summaries['examples']} test-split functions, first docstring sentence as reference",
                               summaries))
    packages = QUICK_SCAN if ctx.quick else STANDARD_SCAN
    base, adapter, _ = ctx.default_pair()
    config = ScanConfig(model=base, adapter=adapter, device=ctx.device, cache=False, jobs=ctx.threads)
    counts = scan_counts(run_scan(ctx.stdlib(packages), config, loaded=loaded).report)
    where = f"default scan of stdlib {' + '.join(packages)}, {counts['functions']} functions"
    literal_only, target = counts["cl200_small_literal_only"], "<= 0"
    figures.append(Figure("baselines", "CL200 on 1-2 statement literal-only twins", literal_only, "findings",
                          "CL200 findings", counts["cl200"], ratio_of(literal_only, counts["cl200"]), target,
                          check(literal_only, target), f"{where}; {counts['cl200_small']} CL200 on 1-2 statements",
                          counts))
    suggested = counts["cl300_with_suggestion"]
    figures.append(Figure("baselines", "CL300 with a suggestion", suggested, "findings", "CL300 findings",
                          counts["cl300"], ratio_of(suggested, counts["cl300"]),
                          note=f"{where}; {counts['cl300_without']} without a suggestion", detail=counts))
    distinct, target = counts["cl300_distinct_suggestions"], ">= 0.6"
    share = ratio_of(distinct, suggested)
    figures.append(Figure("baselines", "CL300 distinct suggestions", distinct, "strings", "CL300 suggestions",
                          suggested, share, target, check(share, target),
                          f"{where}; the ratio is the distinct share of shown suggestions", counts))
    looping, target = counts["cl300_repeating_a_phrase"], "<= 0"
    figures.append(Figure("baselines", "CL300 suggestions repeating a 3-word phrase", looping, "findings",
                          "CL300 suggestions", suggested, ratio_of(looping, suggested), target,
                          check(looping, target), where, counts))
    return figures
