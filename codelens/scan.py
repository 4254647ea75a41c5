"""The scan pipeline, one direction: discover -> parse -> (cache | model) -> tasks -> ScanReport.

Library code: returns data and warnings, never prints. The CLI renders the report and picks the exit code.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from codelens.config import ScanConfig
from codelens.core import TASKS, CodeUnit
from codelens.errors import CodelensError
from codelens.files import is_inside
from codelens.findings import Finding

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total)."""

SKIP_ADVICE = {
    "binary": "not text",
    "not-utf8": "re-save as UTF-8 to analyse it",
    "too-large": "raise --max-file-bytes to analyse it",
    "minified": "minified code is not analysed",
    "generated": "generated code is not analysed",
    "unreadable": "check its permissions",
    "symlink-loop": "a symbolic link points back into its own folder",
    "outside-root": "a symbolic link that leads out of the scanned folder is not followed",
    "not-a-file": "not a regular file (a pipe, socket or device)",
}


@dataclass
class ScanOutcome:
    """A scan's report plus what the user should be told about on the side."""

    report: "object"
    """codelens.report.model.ScanReport."""
    warnings: list[str] = field(default_factory=list)
    """Skipped files, syntax errors, unused suppressions, cache trouble: one line each."""
    suppressed: int = 0
    baselined: int = 0
    advisory: set[tuple[str, str, int, str]] = field(default_factory=set)
    """(path, qualname, line, code) of findings reported but not counted for fail-on: on a scoped scan,
    clones whose functions the change did not touch (a clone blocks a commit only if the change made it)."""


def _skip_warnings(skipped) -> list[str]:
    by_reason: dict[str, list[str]] = {}
    for item in skipped:
        by_reason.setdefault(item.reason, []).append(item.rel)
    lines = []
    for reason, paths in sorted(by_reason.items()):
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        lines.append(f"skipped {len(paths)} file(s) ({reason}; {SKIP_ADVICE.get(reason, '')}): {shown}")
    return lines


def named_files(root: Path, only: Sequence[Path], warnings: list[str]) -> set[str]:
    """The files named on the command line, relative to ``root``; a warning for each one that is missing or
    outside ``root``, and a CodelensError when none of them can be scanned."""
    base = os.path.abspath(root if root.is_dir() else root.parent)
    wanted: set[str] = set()
    for item in only:
        # abspath, not resolve: a link inside the root is named by where it sits, as discovery names it
        rel = os.path.relpath(os.path.abspath(item), base).replace(os.sep, "/")
        if rel == ".." or rel.startswith("../"):
            warnings.append(f"{item}: outside the scan root {root}; not scanned (scan from a folder that holds it)")
        elif not os.path.lexists(item):
            warnings.append(f"{item}: no such file; not scanned")
        else:
            wanted.add(rel)
    if only and not wanted:
        shown = ", ".join(str(item) for item in list(only)[:3]) + (" ..." if len(only) > 3 else "")
        raise CodelensError(f"none of the files named can be scanned: {shown}",
                            hint=f"name existing files under the scan root {root}")
    return wanted


def _select_scope(root: Path, units: list[CodeUnit], config: ScanConfig, wanted: set[str] | None):
    """The units to analyse and report on (a subset when files / --staged / --diff-base narrow it)."""
    selected = units
    if wanted is not None:
        selected = [u for u in selected if u.path in wanted]
    if config.staged or config.diff_base:
        from codelens.gitscope import changed_lines, select_changed_units

        # git paths come back relative to the folder it runs in: a file root's folder, where its unit
        # paths (the file's name) are relative to as well
        changed = changed_lines(root if root.is_dir() else root.parent, config.diff_base, config.staged)
        selected = select_changed_units(selected, changed)
    return selected


def run_scan(
    root: Path,
    config: ScanConfig,
    only: Sequence[Path] | None = None,
    progress: Progress | None = None,
    loaded=None,
) -> ScanOutcome:
    """Scan ``root`` with ``config``. ``only`` limits analysis to those files; clone search still
    compares them with every other function of the repository whose result is in the cache.
    ``loaded`` reuses an already loaded model (a hook process scanning several file lists)."""
    from codelens.discovery import discover
    from codelens.parsing import parse_files
    from codelens.report.model import ReportOptions, ScanReport

    started = time.perf_counter()
    root = Path(root)
    notes = list(config.notes)  # repository settings that were not honoured
    wanted = named_files(root, only, notes) if only is not None else None
    baseline = None
    if config.baseline:
        from codelens.baseline import load_baseline

        baseline = load_baseline(config.baseline)  # a bad file fails before the model loads
    if root.is_dir() and only is None and not (config.staged or config.diff_base) and not any(root.iterdir()):
        return ScanOutcome(ScanReport(units=[], results={}, findings=[], stats=_empty_stats()),
                           [*notes, f"{root} is empty: nothing to scan"])
    found = discover(root, config.include, config.exclude, config.max_file_bytes)
    warnings = notes + _skip_warnings(found.skipped)
    if not found.files:
        warnings.append(f"no supported source files under {root} (python, javascript, typescript, java, go, c, cpp, rust)")
    if progress:
        progress("parsing", 0, len(found.files))
    units, syntax_errors = parse_files(found.files, workers=config.jobs)
    if progress:
        progress("parsing", len(found.files), len(found.files))
    for rel, count in sorted(syntax_errors.items()):
        warnings.append(f"{rel}: {count} syntax error region(s); the functions that parsed were analysed")

    selected = _select_scope(root, units, config, wanted)
    stats = _empty_stats()
    stats.update(files=len(found.files), skipped_files=len(found.skipped), functions_found=len(units),
                 functions=len(selected), syntax_error_files=len(syntax_errors))
    if not selected:
        stats["elapsed_s"] = time.perf_counter() - started
        return ScanOutcome(ScanReport(units=[], results={}, findings=[], stats=stats), warnings)

    texts = {f.rel: f.text for f in found.files}
    outcome = _analyse_and_report(root, units, selected, config, progress, loaded, stats, warnings, baseline, texts)
    if wanted is not None or config.staged or config.diff_base:
        outcome.advisory = unchanged_clones(root, outcome.report, selected, config)
        if outcome.advisory:
            outcome.warnings.append(f"{len(outcome.advisory)} clone finding(s) touch no changed function: "
                                    "reported, not counted for --fail-on")
    outcome.report.stats["elapsed_s"] = time.perf_counter() - started
    outcome.report.options = ReportOptions(all=config.all_functions)
    if config.blocking_only:
        shown = blocking(outcome, config)
        keys = {id(f) for f in shown}
        outcome.report.options.not_shown = dict(Counter(f.code for f in outcome.report.findings if id(f) not in keys))
        outcome.report.findings = shown
        # The clone classes listed are those of the clones shown.
        kept = {(f.path, f.qualname, f.start_line) for f in shown}
        outcome.report.clones = [p for p in outcome.report.clones if (p.a.path, p.a.qualname, p.a.start_line) in kept
                                 or (p.b.path, p.b.qualname, p.b.start_line) in kept]
    return outcome


def _empty_stats() -> dict:
    return {"files": 0, "skipped_files": 0, "functions_found": 0, "functions": 0, "unique": 0,
            "cache_hits": 0, "computed": 0, "summaries_generated": 0, "syntax_error_files": 0}


def _open_cache(root: Path, config: ScanConfig, warnings: list[str]):
    if not config.cache:
        return None
    from codelens.cache import CACHE_DIR, CACHE_FILE, ResultCache

    project = Path(config.root) if config.root else (root if root.is_dir() else root.parent)
    folder = Path(config.cache_dir) if config.cache_dir else project / CACHE_DIR
    if not config.cache_dir and not is_inside(folder, project):
        # a committed .codelens-cache link would send the cache's writes out of the repository
        warnings.append(f"result cache disabled: {folder} leads outside {project}; delete it, or pass --cache-dir")
        return None
    try:
        cache = ResultCache(folder / CACHE_FILE)
    except CodelensError as exc:
        warnings.append(f"result cache disabled: {exc.message}")
        return None
    return cache


def _analyse_and_report(root, units, selected, config, progress, loaded, stats, warnings, baseline,
                        texts: dict[str, str]) -> ScanOutcome:
    from codelens.engine import EngineSettings, analyse
    from codelens.model.loading import LazyModel
    from codelens.report.model import ScanReport
    from codelens.tasks import all_findings
    from codelens.tasks.clone import MIN_CLONE_TOKENS, find_clones
    from codelens.tasks.clone import RULE as CLONE_RULE
    from codelens.tasks.scope import Scope
    from codelens.tasks.summary import drop_templates, gate_summaries

    if loaded is None:
        # Weights load only if some function misses the cache: a warm re-scan never reads them.
        loaded = LazyModel(config.model_spec(),
                           on_load=(lambda done: progress("loading model", int(done), 1)) if progress else None)
    meta = loaded.meta
    thresholds = type(meta.thresholds)(
        defect=config.defect_threshold if config.defect_threshold is not None else meta.thresholds.defect,
        clone=config.clone_threshold if config.clone_threshold is not None else meta.thresholds.clone,
        summary=config.summary_threshold if config.summary_threshold is not None else meta.thresholds.summary,
        clone_lexical=meta.thresholds.clone_lexical,
    )
    tests = frozenset(task for task in TASKS if config.tests_for(task))
    scope = Scope({path: config.rules_for(path) for path in {u.path for u in units}}, tests, tuple(meta.languages),
                  config.clone_min_lines, config.clone_min_tokens or MIN_CLONE_TOKENS, frozenset(meta.tasks),
                  summaries=config.summaries != "none")
    if not (config.all_functions or config.neighbours):
        # A function no selected rule looks at (test code, a deselected rule) costs no model time.
        selected_for_model = [u for u in selected if scope.needs_model(u)]
    else:
        selected_for_model = selected
    settings = EngineSettings(summaries=config.summaries, token_budget=config.token_budget, threads=config.jobs,
                              summary_hashes=frozenset(u.hash for u in selected if scope.wants_summary(u)))
    scorer = server = None
    if config.ray:
        from codelens.engine.ray_scorer import RayScorer

        # The workers load the model; this process keeps parsing, the cache and clone search, and never
        # loads the weights. Both analyse() calls below share the workers.
        scorer = RayScorer(config.model_spec(), loaded, settings, address=config.ray)
    else:
        from codelens.server.client import server_scorer

        # The user's background server runs the model where it may (codelens.server), else this process.
        scorer = server = server_scorer(config, loaded, settings)
    cache = _open_cache(root, config, warnings)
    try:
        engine_progress = (lambda done, total: progress("analysing", done, total)) if progress else None
        results, engine_stats = analyse(selected_for_model, loaded, settings, cache, engine_progress, scorer=scorer)
        context = [u for u in units if u.hash not in results and scope.clone_candidate(u)]
        if context and "clone" in meta.tasks:
            # Partial scans (files, --staged, --diff-base) compare the selected functions with every other
            # function of the repository. Those come from the cache when it is warm; the ones it lacks are
            # computed here (no summaries) and stored. Reading only what the cache happens to hold would
            # make a file's clone findings depend on how pre-commit split the file list across calls.
            context_progress = (lambda done, total: progress("repository context", done, total)) if progress else None
            context_settings = dataclasses.replace(settings, summaries="none")
            context_results, context_stats = analyse(context, loaded, context_settings, cache, context_progress,
                                                     scorer=scorer)
            results.update(context_results)
            stats["context_computed"] = context_stats.computed
    finally:
        if scorer is not None:
            scorer.close()
        if server is not None:
            warnings.extend(server.notes)  # why the server was not used, where that was a surprise
            if server.computed:
                stats["server_computed"] = server.computed
        if cache is not None:
            warnings.extend(cache.warnings)  # moved aside when corrupt, or results that could not be stored
            cache.close()
    # The cache keeps every generated summary with its confidence; the gate applies here, so a changed
    # --summary-threshold needs no recomputation.
    made = sum(1 for r in results.values() if r.summary is not None)
    results = gate_summaries(results, thresholds.summary)
    gated = made - sum(1 for r in results.values() if r.summary is not None)
    # The same sentence for many functions describes none of them: never suggested (nor written).
    results, templates = drop_templates(results)
    clone_tokens = {} if config.clone_min_tokens is None else {"min_tokens": config.clone_min_tokens,
                                                               "min_similar_tokens": config.clone_min_tokens}
    clones = find_clones(units, results, thresholds.clone, config.neighbours, include_tests=config.clone_tests,
                         lexical_weight=thresholds.clone_lexical, min_lines=config.clone_min_lines, **clone_tokens)
    accepted_by = set() if config.ignore_suppressions else _accept_suppressed_clones(clones, units, texts)
    selected_keys = {(u.path, u.qualname, u.start_line) for u in selected}
    tasks = [t for t in meta.tasks if t in TASKS]
    findings = all_findings(selected, results, thresholds=thresholds, calibration=meta.calibration,
                            tasks=tasks, clones=clones, min_confidence=config.min_confidence, languages=meta.languages,
                            tests=tests)
    findings = [f for f in findings if (f.path, f.qualname, f.start_line) in selected_keys]
    if len(selected) < len(units):
        # Pairs and neighbours are reported for the functions analysed in this run only.
        clones.pairs = [p for p in clones.pairs if (p.a.path, p.a.qualname, p.a.start_line) in selected_keys
                        or (p.b.path, p.b.qualname, p.b.start_line) in selected_keys]
        chosen = set(selected)
        clones.neighbours = {u: n for u, n in clones.neighbours.items() if u in chosen}

    findings, suppressed, baselined = _filter_findings(findings, selected, units, config, warnings, baseline, texts,
                                                       accepted_by)
    # A clone pair is listed (clone-class section, JSON "clones") only while one of its functions still has
    # a CL200 finding: a baselined, suppressed or disabled clone does not come back through the side door.
    reported = {(f.path, f.qualname, f.start_line) for f in findings if f.code == CLONE_RULE.code}
    clones.pairs = [p for p in clones.pairs if (p.a.path, p.a.qualname, p.a.start_line) in reported
                    or (p.b.path, p.b.qualname, p.b.start_line) in reported]
    stats.update(
        unique=engine_stats.unique, cache_hits=engine_stats.cache_hits, computed=engine_stats.computed,
        summaries_generated=engine_stats.summaries_generated, tokens=engine_stats.tokens,
        model_seconds=round(engine_stats.seconds, 3), suppressed=suppressed, baselined=baselined,
        summaries_below_gate=gated, summary_templates=templates,
    )
    model_info = {
        "id": loaded.model_id, "adapter": config.adapter or "default", "base_fingerprint": loaded.base_fingerprint,
        "adapter_hash": loaded.adapter_hash, "quantize": loaded.quantize, "device": loaded.device_name,
        "dtype": loaded.dtype_name, "languages": list(meta.languages), "thresholds": {"defect": thresholds.defect, "clone": thresholds.clone,
                                                 "clone_lexical": thresholds.clone_lexical,
                                                 "summary": thresholds.summary},
    }
    report = ScanReport(units=selected, results=results, findings=findings, clones=clones.pairs,
                        neighbours=clones.neighbours, model=model_info, stats=stats)
    return ScanOutcome(report, warnings, suppressed, baselined)


def _accept_suppressed_clones(clones, units: list[CodeUnit], texts: dict[str, str]) -> set:
    """Drop from ``clones`` (in place) every pair with a member whose CL200 finding a suppression hides: one
    marker accepts the pair for both members, in whichever file the scan is of. Returns the markers that did."""
    from codelens.rules import RULES
    from codelens.suppressions import apply_suppressions, parse_suppressions
    from codelens.tasks.clone import clone_classes, clone_findings

    members = clone_findings(clones)  # every member's finding, in the scanned files or not
    languages = {u.path: u.language for u in units}
    by_path = {rel: parse_suppressions(rel, texts[rel], languages[rel]) for rel in {f.path for f in members}}
    outcome = apply_suppressions(members, units, by_path, {code: rule.name for code, rule in RULES.items()})
    accepted = {(f.path, f.qualname, f.start_line) for f in outcome.suppressed}
    if not accepted:
        return set()
    clones.pairs = [p for p in clones.pairs if (p.a.path, p.a.qualname, p.a.start_line) not in accepted
                    and (p.b.path, p.b.qualname, p.b.start_line) not in accepted]
    clones.classes = clone_classes(clones.pairs)
    unused = set(outcome.unused)
    return {(s.path, s.line) for found in by_path.values() for s in found if s not in unused}


def _filter_findings(findings, selected, units, config, warnings, baseline,
                     texts: dict[str, str], accepted_by: set = frozenset()) -> tuple[list[Finding], int, int]:
    """Drop suppressed and baselined findings; report unused suppressions on full scans.

    ``texts`` are the files' contents as discovery decoded them (declared encodings honoured), by path;
    ``accepted_by`` (path, line) of the markers that accepted a clone pair (used, though no finding is left).
    """
    suppressed = baselined = 0
    findings = [f for f in findings if config.reports(f)]  # per-path disable / min-confidence
    if not config.ignore_suppressions:
        from codelens.rules import RULES
        from codelens.suppressions import apply_suppressions, parse_suppressions

        paths = {u.path: u.language for u in selected}
        by_path = {rel: parse_suppressions(rel, texts[rel], language) for rel, language in paths.items()}
        outcome = apply_suppressions(findings, selected, by_path, {code: rule.name for code, rule in RULES.items()})
        findings, suppressed = outcome.kept, len(outcome.suppressed)
        if len(selected) == len(units):  # partial scans cannot tell an unused marker from an unchecked one
            for item in outcome.unused:
                if (item.path, item.line) in accepted_by:
                    continue
                warnings.append(f"{item.path}:{item.line}: unused suppression '{item.marker}' (nothing to ignore here; remove it)")
    if baseline is not None:
        from codelens.baseline import filter_new

        findings, old = filter_new(findings, baseline)
        baselined = len(old)
    return findings, suppressed, baselined


def unchanged_clones(root: Path, report, selected: list[CodeUnit], config: ScanConfig) -> set[tuple]:
    """Keys (see ``ScanOutcome.advisory``) of the CL200 findings of a scoped scan whose clone class (its
    pairs in the report) holds no changed function.

    Changed means selected under --staged / --diff-base; with a file list alone (how pre-commit calls
    codelens) it means touching lines git reports as not committed (working tree against HEAD, new files).
    Outside a git work tree nothing can be told apart, and every finding counts.
    """
    from codelens.gitscope import changed_lines, select_changed_units
    from codelens.tasks.clone import RULE as CLONE_RULE
    from codelens.tasks.clone import clone_classes

    def key(item) -> tuple[str, str, int]:
        return (item.path, item.qualname, item.start_line)

    if not any(f.code == CLONE_RULE.code for f in report.findings):
        return set()  # the usual case: no git call
    classes = clone_classes(report.clones)
    if config.staged or config.diff_base:
        changed = {key(u) for u in selected}
    else:
        try:
            lines = changed_lines(root if root.is_dir() else root.parent, None, False)
        except CodelensError:
            return set()
        changed = {key(u) for u in select_changed_units([u for members in classes for u in members], lines)}
    untouched = {key(u) for members in classes if not any(key(u) in changed for u in members) for u in members}
    return {(*key(f), f.code) for f in report.findings if f.code == CLONE_RULE.code and key(f) in untouched}


def blocking(outcome: ScanOutcome, config: ScanConfig) -> list[Finding]:
    """The findings that fail the scan (``codelens.rules.grading.blocks``): severity at --fail-on or above
    (its file's per-path fail-on), ``outcome.advisory`` findings left out."""
    from codelens.rules.grading import blocks

    return [f for f in outcome.report.findings
            if (f.path, f.qualname, f.start_line, f.code) not in outcome.advisory
            and blocks(f.severity, config.fail_on_for(f.path))]


def exit_code_for(outcome: ScanOutcome, config: ScanConfig) -> int:
    """1 when a finding blocks (``blocking``), else 0."""
    return 1 if blocking(outcome, config) else 0
