"""The scan's decide step: from the model's scores to the findings a user sees, and nothing else.

    decide(Evidence(...)) -> Decision

In order: the summary gate (confidence, the adapter's languages, templates); clone search (pairs, then the
pairs a suppression accepts leave, then the clone classes, computed once, narrowed to the classes that hold
a function of this scan); every task's findings for the functions of this scan; the per-path settings,
suppression comments and the baseline; the clone pairs still backed by a finding; and, when the scan was
narrowed to changed code, the clone findings that touch no changed function (reported, not blocking).

Every input is in ``Evidence``: no config file, no git, no model. Library code: warnings are returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from codelens.core import TASKS, Calibration, ClonePair, CloneReport, CodeUnit, FunctionKey, Neighbour, Thresholds, UnitResult
from codelens.findings import Finding

if TYPE_CHECKING:
    from codelens.suppressions import Suppression

AdvisoryKey = tuple[str, str, int, str]
"""(path, qualname, start line, code): a finding reported but not counted for --fail-on."""


@dataclass(frozen=True)
class CloneSearch:
    """How clone search runs (``codelens.tasks.clone.find_clones``); the threshold is ``Thresholds.clone``."""

    neighbours: int = 0
    """Most similar functions listed for each function (--neighbours)."""
    include_tests: bool = False
    """Test code takes part (clone-tests)."""
    min_lines: int = 3
    """Smallest function, in non-blank lines, that can pair (clone-min-lines)."""
    min_tokens: int | None = None
    """Smallest function, in tokens, that can pair (clone-min-tokens); None: the task's own floors."""


@dataclass
class Evidence:
    """Everything ``decide`` reads: the functions, their scores and the settings that turn scores into findings."""

    units: Sequence[CodeUnit]
    """Every function parsed: clone search compares the selected ones with all of them."""
    selected: Sequence[CodeUnit]
    """The functions this scan reports on: every one, or those narrowed to changed code (a file list,
    --staged, --diff-base)."""
    results: Mapping[str, UnitResult]
    """Model results by ``CodeUnit.hash`` (summaries ungated: the cache keeps them all)."""
    markers: Mapping[str, list[Suppression]]
    """The ``codelens: ignore`` markers of each file that has any, by path (``parse_suppressions``)."""
    thresholds: Thresholds
    """The adapter's decision points with the user's overrides (``ScanConfig.thresholds``)."""
    calibration: Calibration = field(default_factory=Calibration)
    """The adapter's confidence calibration."""
    tasks: Sequence[str] = ()
    """Tasks the adapter serves: the others report nothing."""
    languages: Sequence[str] = ()
    """Languages the adapter was trained on (empty: not known, so any)."""
    tests: frozenset[str] = frozenset()
    """Tasks that report on test code too (the ``*-tests`` settings)."""
    min_confidence: float = 0.0
    """Findings less sure than this are dropped (--min-confidence)."""
    clone_search: CloneSearch = field(default_factory=CloneSearch)
    reports: Callable[[Finding], bool] = lambda finding: True
    """Per-path settings: whether a finding's rule is selected for its file and it is sure enough there
    (``ScanConfig.reports``)."""
    suppressions: bool = True
    """Honour ``codelens: ignore`` comments (off: --ignore-suppressions)."""
    baseline: object | None = None
    """A ``codelens.baseline.Baseline``: the findings it holds are not reported."""
    changed: Callable[[Sequence[CodeUnit]], set[FunctionKey] | None] | None = None
    """On a scan narrowed to changed code: which of the given functions the change touched (None when that
    cannot be told, outside a git work tree). None on a full scan: every clone finding counts."""


@dataclass
class Decision:
    """What the scan reports."""

    results: dict[str, UnitResult]
    """``Evidence.results`` with the summaries no one may see removed."""
    findings: list[Finding]
    """The findings of the selected functions that no setting, suppression or baseline hides, in report order."""
    clones: list[ClonePair]
    """Clone pairs of the selected functions that still have a CL200 finding."""
    neighbours: dict[CodeUnit, tuple[Neighbour, ...]]
    """Most similar functions of each selected function (--neighbours)."""
    advisory: set[AdvisoryKey] = field(default_factory=set)
    """Clone findings of a narrowed scan whose clone class holds no changed function."""
    warnings: list[str] = field(default_factory=list)
    """Unused suppressions, one line each."""
    stats: dict[str, int] = field(default_factory=dict)
    """suppressed, baselined, summaries_below_gate, summary_templates."""


def decide(evidence: Evidence) -> Decision:
    """The findings, clone pairs and neighbours a scan reports (see the module docstring for the order)."""
    from codelens.tasks import all_findings
    from codelens.tasks.clone import RULE as CLONE_RULE

    results, below_gate, templates = _gated_summaries(evidence)
    clones, accepted_by = _clones(evidence, results)
    selected = {u.key for u in evidence.selected}
    findings = all_findings(evidence.selected, results, thresholds=evidence.thresholds,
                            calibration=evidence.calibration, tasks=[t for t in evidence.tasks if t in TASKS],
                            clones=clones, min_confidence=evidence.min_confidence, languages=evidence.languages,
                            tests=evidence.tests)
    findings = [f for f in findings if f.key in selected]
    warnings: list[str] = []
    findings, suppressed, baselined = _filter(evidence, findings, accepted_by, warnings)
    # A clone pair is listed (clone-class section, JSON "clones") only while one of its functions still has
    # a CL200 finding: a baselined, suppressed or disabled clone does not come back through the side door.
    reported = {f.key for f in findings if f.code == CLONE_RULE.code}
    pairs = [p for p in clones.pairs if p.a.key in reported or p.b.key in reported]
    advisory = _advisory(evidence, clones.classes, findings) if evidence.changed is not None else set()
    return Decision(results, findings, pairs, clones.neighbours, advisory, warnings,
                    {"suppressed": suppressed, "baselined": baselined, "summaries_below_gate": below_gate,
                     "summary_templates": templates})


def _gated_summaries(evidence: Evidence) -> tuple[dict[str, UnitResult], int, int]:
    """Results with the summaries that may not be shown removed; how many fell below the confidence gate, and
    how many were templates. The cache keeps every summary with its confidence: the gate applies here, so a
    changed --summary-threshold needs no recomputation."""
    from codelens.tasks.summary import drop_templates, gate_summaries

    gated, below = gate_summaries(evidence.results, evidence.thresholds.summary, evidence.units, evidence.languages)
    # The same sentence for many functions describes none of them: never suggested (nor written).
    kept, templates = drop_templates(gated)
    return kept, below, templates


def _clones(evidence: Evidence, results: Mapping[str, UnitResult]):
    """Clone search for the report: pairs without those a suppression accepts, the classes computed once,
    then the classes (with their pairs) narrowed to those holding a selected function; and the (path, line)
    of the markers that accepted a pair."""
    from codelens.tasks.clone import clone_classes, find_clone_pairs

    search, thresholds = evidence.clone_search, evidence.thresholds
    floors = {} if search.min_tokens is None else {"min_tokens": search.min_tokens,
                                                   "min_similar_tokens": search.min_tokens}
    pairs, neighbours = find_clone_pairs(evidence.units, results, thresholds.clone, search.neighbours,
                                         include_tests=search.include_tests, lexical_weight=thresholds.clone_lexical,
                                         min_lines=search.min_lines, **floors)
    accepted_by: set[tuple[str, int]] = set()
    if evidence.suppressions:
        pairs, accepted_by = _accept_suppressed(evidence, pairs)
    classes = clone_classes(pairs)
    if len(evidence.selected) < len(evidence.units):
        # Findings, pairs and neighbours are reported for the functions analysed in this run only.
        selected = {u.key for u in evidence.selected}
        classes = [members for members in classes if any(u.key in selected for u in members)]
        kept = {u.key for members in classes for u in members}
        pairs = [p for p in pairs if p.a.key in kept]
        chosen = set(evidence.selected)
        neighbours = {u: n for u, n in neighbours.items() if u in chosen}
    return CloneReport(pairs, classes, thresholds.clone, neighbours), accepted_by


def _accept_suppressed(evidence: Evidence, pairs: list[ClonePair]) -> tuple[list[ClonePair], set[tuple[str, int]]]:
    """``pairs`` without every pair with a member whose CL200 finding a suppression hides: one marker accepts
    the pair for both members, in whichever file the scan is of. Also the (path, line) of the markers that did."""
    from codelens.suppressions import apply_suppressions
    from codelens.tasks.clone import member_findings

    members = member_findings(pairs)  # every member's finding, in the scanned files or not
    paths = {f.path for f in members}
    by_path = {rel: found for rel, found in evidence.markers.items() if rel in paths}
    outcome = apply_suppressions(members, evidence.units, by_path, _rule_names())
    accepted = {f.key for f in outcome.suppressed}
    if not accepted:
        return pairs, set()
    unused = set(outcome.unused)
    kept = [p for p in pairs if p.a.key not in accepted and p.b.key not in accepted]
    return kept, {(s.path, s.line) for found in by_path.values() for s in found if s not in unused}


def _filter(evidence: Evidence, findings: list[Finding], accepted_by: set[tuple[str, int]],
            warnings: list[str]) -> tuple[list[Finding], int, int]:
    """Drop the findings per-path settings turn off, then suppressed and baselined ones; warn of unused
    suppressions on full scans (a partial one cannot tell an unused marker from an unchecked one)."""
    suppressed = baselined = 0
    findings = [f for f in findings if evidence.reports(f)]
    if evidence.suppressions:
        from codelens.suppressions import apply_suppressions

        # The selected functions' files only: a marker in a file with none of them is not reported unused.
        paths = {u.path for u in evidence.selected}
        by_path = {rel: found for rel, found in evidence.markers.items() if rel in paths}
        outcome = apply_suppressions(findings, evidence.selected, by_path, _rule_names())
        findings, suppressed = outcome.kept, len(outcome.suppressed)
        if len(evidence.selected) == len(evidence.units):
            warnings.extend(f"{item.path}:{item.line}: unused suppression '{item.marker}' (nothing to ignore "
                            "here; remove it)" for item in outcome.unused if (item.path, item.line) not in accepted_by)
    if evidence.baseline is not None:
        from codelens.baseline import filter_new

        findings, old = filter_new(findings, evidence.baseline)
        baselined = len(old)
    return findings, suppressed, baselined


def _advisory(evidence: Evidence, classes: list[tuple[CodeUnit, ...]], findings: list[Finding]) -> set[AdvisoryKey]:
    """The CL200 findings whose clone class holds no changed function (``Evidence.changed``): a clone blocks
    a commit only if the change made it."""
    from codelens.tasks.clone import RULE as CLONE_RULE

    clone_findings = [f for f in findings if f.code == CLONE_RULE.code]
    if not clone_findings:
        return set()  # the usual case: no git call
    changed = evidence.changed([u for members in classes for u in members])
    if changed is None:
        return set()  # nothing can be told apart (outside a git work tree): every finding counts
    untouched = {u.key for members in classes if not any(u.key in changed for u in members) for u in members}
    return {(*f.key, f.code) for f in clone_findings if f.key in untouched}



def _rule_names() -> dict[str, str]:
    """Rule code -> rule name, so that ``ignore[likely-defect]`` matches CL100."""
    from codelens.rules import RULES

    return {code: rule.name for code, rule in RULES.items()}
