"""The scan pipeline, one direction, one named call per stage:

    discover -> parse -> score -> decide -> report

``run_scan`` reads as that line:

    discover  ``discover_sources``: the files to read, and those skipped with a reason (``codelens.discovery``)
    parse     ``parse_sources``: the functions cut out of them (``codelens.parsing``), their ``codelens: ignore``
              markers, and the functions this scan looks at: the files named, what --staged / --diff-base
              changed (``codelens.gitscope``)
    score     ``score``: their model results, the cache in front (``codelens.engine``); the model runs in this
              process, the user's background server (``codelens.server``) or on a Ray cluster
    decide    ``codelens.decide.decide``: thresholds, summary gate, clone search, findings, per-path settings,
              suppressions, baseline, narrowing to changed code
    report    ``report``: the ``ScanReport`` and what the user should be told on the side

Library code: returns data and warnings, never prints. The CLI renders the report and picks the exit code.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from codelens.config import ScanConfig
from codelens.core import TASKS, CodeUnit, FunctionKey, UnitResult
from codelens.decide import CloneSearch, Decision, Evidence, decide
from codelens.errors import CodelensError
from codelens.files import is_inside
from codelens.findings import Finding

if TYPE_CHECKING:
    from codelens.discovery import DiscoveryResult
    from codelens.suppressions import Suppression

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


@dataclass
class Code:
    """What the parse stage hands on: the functions, and which of them this scan looks at."""

    units: list[CodeUnit]
    """Every function of every file discovered."""
    selected: list[CodeUnit]
    """Those the scan analyses and reports on: all, or those of the files named / the change (--staged,
    --diff-base)."""
    markers: dict[str, list[Suppression]]
    """The ``codelens: ignore`` markers of each file that has any, by path, read from the parse's comments."""
    narrowed: bool
    """Whether a file list, --staged or --diff-base narrowed the scan to changed code."""
    stats: dict[str, int]
    """files, skipped_files, functions_found, functions, syntax_error_files."""


@dataclass
class Scores:
    """What the score stage hands on."""

    results: dict[str, UnitResult]
    """Model results by ``CodeUnit.hash``: the selected functions' and, on a narrowed scan, those of the
    functions clone search compares them with."""
    stats: dict[str, float]
    """The engine's counters (``EngineStats``), and what the repository context and the server computed."""


def run_scan(root: Path, config: ScanConfig, only: Sequence[Path] | None = None, progress: Progress | None = None,
             loaded=None) -> ScanOutcome:
    """Scan ``root`` with ``config``. ``only`` limits analysis to those files; clone search still
    compares them with every other function of the repository whose result is in the cache.
    ``loaded`` reuses an already loaded model (a hook process scanning several file lists)."""
    started = time.perf_counter()
    root = Path(root)
    warnings = list(config.notes)  # repository settings that were not honoured
    wanted = named_files(root, only, warnings) if only is not None else None
    baseline = _baseline(config)  # a bad file fails before the model loads
    if root.is_dir() and only is None and not (config.staged or config.diff_base) and not any(root.iterdir()):
        return ScanOutcome(_empty_report(empty_stats()), [*warnings, f"{root} is empty: nothing to scan"])
    found = discover_sources(root, config, warnings)
    code = parse_sources(root, found, config, wanted, warnings, progress)
    if not code.selected:
        return ScanOutcome(_empty_report({**empty_stats(), **code.stats, "elapsed_s": time.perf_counter() - started}),
                           warnings)
    model = loaded if loaded is not None else lazy_model(config, progress)
    scores = score(root, code, config, model, warnings, progress)
    decision = decide(evidence(root, code, scores, config, model.meta, baseline))
    return report(code, scores, decision, config, model, warnings, started)


def discover_sources(root: Path, config: ScanConfig, warnings: list[str]) -> DiscoveryResult:
    """The supported source files under ``root`` that the settings let in; a warning per kind of file skipped."""
    from codelens.discovery import discover

    found = discover(root, config.include, config.exclude, config.max_file_bytes)
    warnings.extend(_skip_warnings(found.skipped))
    if not found.files:
        warnings.append(f"no supported source files under {root} (python, javascript, typescript, java, go, c, cpp, rust)")
    return found


def parse_sources(root: Path, found: DiscoveryResult, config: ScanConfig, wanted: set[str] | None,
                  warnings: list[str], progress: Progress | None = None) -> Code:
    """The functions of the files found (in parallel, ``--jobs``) and their suppression markers, and the
    functions this scan looks at: of the files ``wanted`` (None: every one), changed under --staged / --diff-base."""
    from codelens.parsing import parse_files
    from codelens.suppressions import parse_suppressions

    files = found.files
    if progress:
        progress("parsing", 0, len(files))
    parsed = parse_files(files, workers=config.jobs)
    if progress:
        progress("parsing", len(files), len(files))
    units, syntax_errors = parsed.units, parsed.errors
    for rel, count in sorted(syntax_errors.items()):
        warnings.append(f"{rel}: {count} syntax error region(s); the functions that parsed were analysed")
    selected = units if wanted is None else [u for u in units if u.path in wanted]
    if config.staged or config.diff_base:
        from codelens.gitscope import changed_lines, select_changed_units

        selected = select_changed_units(selected, changed_lines(_git_folder(root), config.diff_base, config.staged))
    stats = {"files": len(files), "skipped_files": len(found.skipped), "functions_found": len(units),
             "functions": len(selected), "syntax_error_files": len(syntax_errors)}
    # Read from the comments this parse found: no file is lexed or parsed a second time for them.
    markers = {f.rel: marks for f in files
               if (marks := parse_suppressions(f.rel, f.text, f.language, parsed.comments.get(f.rel, [])))}
    return Code(units, selected, markers, wanted is not None or bool(config.staged or config.diff_base), stats)


def lazy_model(config: ScanConfig, progress: Progress | None = None):
    """The model ``config`` names, loaded on first use: a scan whose functions all come from the cache never
    reads its weights (``codelens.model.loading.LazyModel``)."""
    from codelens.model.loading import LazyModel

    return LazyModel(config.model_spec(),
                     on_load=(lambda done: progress("loading model", int(done), 1)) if progress else None)


def score(root: Path, code: Code, config: ScanConfig, model, warnings: list[str],
          progress: Progress | None = None) -> Scores:
    """The model's results for the selected functions some selected rule looks at (every selected one with
    --all or --neighbours), from the cache where it has them; on a narrowed scan, also for every other
    function clone search compares them with (no summaries)."""
    from codelens.engine import EngineSettings, analyse

    scope = rule_scope(code.units, config, model.meta)
    wanted = code.selected if config.all_functions or config.neighbours else \
        [u for u in code.selected if scope.needs_model(u)]  # a function no rule looks at costs no model time
    settings = EngineSettings(summaries=config.summaries, token_budget=config.token_budget, threads=config.jobs,
                              summary_hashes=frozenset(u.hash for u in code.selected if scope.wants_summary(u)))
    scorer, server = _scorer(config, model, settings)
    cache = open_cache(root, config, warnings)
    stats: dict[str, float] = {}
    try:
        results, engine = analyse(wanted, model, settings, cache, _stage(progress, "analysing"), scorer=scorer)
        context = [u for u in code.units if u.hash not in results and scope.clone_candidate(u)]
        if context and "clone" in model.meta.tasks:
            # Partial scans (files, --staged, --diff-base) compare the selected functions with every other
            # function of the repository. Those come from the cache when it is warm; the ones it lacks are
            # computed here (no summaries) and stored. Reading only what the cache happens to hold would
            # make a file's clone findings depend on how pre-commit split the file list across calls.
            more, context_stats = analyse(context, model, dataclasses.replace(settings, summaries="none"), cache,
                                          _stage(progress, "repository context"), scorer=scorer)
            results.update(more)
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
    stats.update(unique=engine.unique, cache_hits=engine.cache_hits, computed=engine.computed,
                 summaries_generated=engine.summaries_generated, tokens=engine.tokens,
                 model_seconds=round(engine.seconds, 3))
    return Scores(results, stats)


def rule_scope(units: list[CodeUnit], config: ScanConfig, meta):
    """Which functions each selected rule looks at (``codelens.tasks.scope.Scope``)."""
    from codelens.tasks.clone import MIN_CLONE_TOKENS
    from codelens.tasks.scope import Scope

    return Scope({path: config.rules_for(path) for path in {u.path for u in units}}, _tests(config),
                 tuple(meta.languages), config.clone_min_lines, config.clone_min_tokens or MIN_CLONE_TOKENS,
                 frozenset(meta.tasks), summaries=config.summaries != "none")


def _scorer(config: ScanConfig, model, settings):
    """(scorer, server): who runs the functions the cache lacks. On a Ray cluster the workers load the model
    and this process keeps parsing, the cache and clone search, never loading the weights; else the user's
    background server where it may (``codelens.server``), else this process (no scorer)."""
    if config.ray:
        from codelens.engine.ray_scorer import RayScorer

        return RayScorer(config.model_spec(), model, settings, address=config.ray), None
    from codelens.server.client import server_scorer

    server = server_scorer(config, model, settings)
    return server, server


def open_cache(root: Path, config: ScanConfig, warnings: list[str]):
    """The result cache the scan reads and writes (``codelens.cache.ResultCache``), or None: --no-cache, or a
    cache that cannot be used (a warning says why)."""
    if not config.cache:
        return None
    from codelens.cache import CACHE_DIR, CACHE_FILE, ResultCache

    project = Path(config.root) if config.root else _git_folder(root)
    folder = Path(config.cache_dir) if config.cache_dir else project / CACHE_DIR
    if not config.cache_dir and not is_inside(folder, project):
        # a committed .codelens-cache link would send the cache's writes out of the repository
        warnings.append(f"result cache disabled: {folder} leads outside {project}; delete it, or pass --cache-dir")
        return None
    try:
        return ResultCache(folder / CACHE_FILE)
    except CodelensError as exc:
        warnings.append(f"result cache disabled: {exc.message}")
        return None


def evidence(root: Path, code: Code, scores: Scores, config: ScanConfig, meta, baseline) -> Evidence:
    """What ``decide`` reads, from the scan's settings and the adapter's metadata."""
    return Evidence(
        units=code.units, selected=code.selected, results=scores.results, markers=code.markers,
        thresholds=config.thresholds(meta.thresholds), calibration=meta.calibration, tasks=tuple(meta.tasks),
        languages=tuple(meta.languages), tests=_tests(config), min_confidence=config.min_confidence,
        clone_search=CloneSearch(config.neighbours, config.clone_tests, config.clone_min_lines, config.clone_min_tokens),
        reports=config.reports, suppressions=not config.ignore_suppressions, baseline=baseline,
        changed=changed_functions(root, code, config) if code.narrowed else None)


def changed_functions(root: Path, code: Code, config: ScanConfig) -> Callable[[Sequence[CodeUnit]], set | None]:
    """``Evidence.changed`` of a narrowed scan: under --staged / --diff-base the selected functions; with a
    file list alone (how pre-commit calls codelens), those touching lines git reports as not committed
    (working tree against HEAD, new files); None outside a git work tree, where nothing can be told apart."""
    from codelens.gitscope import changed_lines, select_changed_units

    if config.staged or config.diff_base:
        keys = {u.key for u in code.selected}
        return lambda units: keys

    def touched(units: Sequence[CodeUnit]) -> set[FunctionKey] | None:
        try:
            lines = changed_lines(_git_folder(root), None, False)
        except CodelensError:
            return None
        return {u.key for u in select_changed_units(units, lines)}

    return touched


def report(code: Code, scores: Scores, decision: Decision, config: ScanConfig, model, warnings: list[str],
           started: float) -> ScanOutcome:
    """The ``ScanOutcome``: the report (under --blocking-only, the blocking findings in full and the others
    counted), the warnings, and the clone findings of a narrowed scan that do not block."""
    from codelens.report.model import ReportOptions, ScanReport

    stats = {**empty_stats(), **code.stats, **scores.stats, **decision.stats}
    scan = ScanReport(units=code.selected, results=decision.results, findings=decision.findings,
                      clones=decision.clones, neighbours=decision.neighbours, model=model_info(model, config),
                      stats=stats, options=ReportOptions(all=config.all_functions))
    outcome = ScanOutcome(scan, [*warnings, *decision.warnings], decision.stats["suppressed"],
                          decision.stats["baselined"], decision.advisory)
    if outcome.advisory:
        outcome.warnings.append(f"{len(outcome.advisory)} clone finding(s) touch no changed function: "
                                "reported, not counted for --fail-on")
    stats["elapsed_s"] = time.perf_counter() - started
    if config.blocking_only:
        shown = blocking(outcome, config)
        keys = {id(f) for f in shown}
        scan.options.not_shown = dict(Counter(f.code for f in scan.findings if id(f) not in keys))
        scan.findings = shown
        kept = {f.key for f in shown}  # the clone classes listed are those of the clones shown
        scan.clones = [p for p in scan.clones if p.a.key in kept or p.b.key in kept]
    return outcome


def model_info(model, config: ScanConfig):
    """The report's ``model`` section (``codelens.report.model.ModelInfo``)."""
    from codelens.report.model import ModelInfo

    meta = model.meta
    return ModelInfo(id=model.model_id, adapter=config.adapter or "default", base_fingerprint=model.base_fingerprint,
                     adapter_hash=model.adapter_hash, quantize=model.quantize, device=model.device_name,
                     dtype=model.dtype_name, languages=tuple(meta.languages),
                     thresholds=config.thresholds(meta.thresholds))


def blocking(outcome: ScanOutcome, config: ScanConfig) -> list[Finding]:
    """The findings that fail the scan (``codelens.rules.blocks``): severity at --fail-on or above
    (its file's per-path fail-on), ``outcome.advisory`` findings left out."""
    from codelens.rules import blocks

    return [f for f in outcome.report.findings
            if (*f.key, f.code) not in outcome.advisory and blocks(f.severity, config.fail_on_for(f.path))]


def exit_code_for(outcome: ScanOutcome, config: ScanConfig) -> int:
    """1 when a finding blocks (``blocking``), else 0."""
    return 1 if blocking(outcome, config) else 0


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


def empty_stats() -> dict:
    """The counters every report carries, at zero."""
    return {"files": 0, "skipped_files": 0, "functions_found": 0, "functions": 0, "unique": 0,
            "cache_hits": 0, "computed": 0, "summaries_generated": 0, "syntax_error_files": 0}


def _empty_report(stats: dict):
    from codelens.report.model import ScanReport

    return ScanReport(units=[], results={}, findings=[], stats=stats)


def _baseline(config: ScanConfig):
    if not config.baseline:
        return None
    from codelens.baseline import load_baseline

    return load_baseline(config.baseline)


def _tests(config: ScanConfig) -> frozenset[str]:
    """The tasks that report on test code too (their ``*-tests`` setting)."""
    return frozenset(task for task in TASKS if config.tests_for(task))


def _git_folder(root: Path) -> Path:
    # git paths come back relative to the folder it runs in: a file root's folder, where its unit paths (the
    # file's name) are relative to as well
    return root if root.is_dir() else root.parent


def _stage(progress: Progress | None, stage: str):
    return (lambda done, total: progress(stage, done, total)) if progress else None


def _skip_warnings(skipped) -> list[str]:
    by_reason: dict[str, list[str]] = {}
    for item in skipped:
        by_reason.setdefault(item.reason, []).append(item.rel)
    lines = []
    for reason, paths in sorted(by_reason.items()):
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        lines.append(f"skipped {len(paths)} file(s) ({reason}; {SKIP_ADVICE.get(reason, '')}): {shown}")
    return lines
