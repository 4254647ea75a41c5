"""Tasks turn per-function model results into Findings: plain functions over dataclasses and numpy.

``FINDERS`` maps each task name (``codelens.core.TASKS``, as in ``AdapterMetadata.tasks``) to a function of
``TaskInputs``; ``all_findings`` runs the chosen ones and returns their findings in report order.
Test code (``codelens.tasks.testcode``) is out of every task unless ``TaskInputs.tests`` names it
(the scan's ``defect-tests``, ``clone-tests`` and ``summary-tests``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from codelens.core import TASKS, Calibration, CloneReport, CodeUnit, Thresholds, UnitResult
from codelens.errors import ConfigError
from codelens.findings import Finding, finding_order
from codelens.tasks.clone import clone_findings, find_clones
from codelens.tasks.defect import defect_findings
from codelens.tasks.summary import docstring_findings
from codelens.tasks.testcode import is_test_code


@dataclass
class TaskInputs:
    """What every task reads."""

    units: Sequence[CodeUnit]
    """The scanned functions."""
    results: Mapping[str, UnitResult]
    """Model results keyed by ``CodeUnit.hash``."""
    thresholds: Thresholds = field(default_factory=Thresholds)
    """Decision points from the adapter (or overridden by the user)."""
    calibration: Calibration = field(default_factory=Calibration)
    """Confidence calibration from the adapter."""
    clones: CloneReport | None = None
    """Clone search already run for the report; computed on demand when None."""
    min_confidence: float = 0.0
    """Findings less sure than this are dropped."""
    languages: Sequence[str] = ()
    """Languages the adapter was trained on (``AdapterMetadata.languages``; empty: all): CL100 only there,
    where its threshold was fitted and its precision measured (``gate_summaries`` keeps CL300's suggestions
    there too)."""
    tests: frozenset[str] = frozenset()
    """Tasks that report on test code too; the others leave test functions out."""

    def units_for(self, task: str) -> list[CodeUnit]:
        """The units ``task`` reports on: test code only when ``tests`` names the task."""
        return [u for u in self.units if reports_on(task, u, self.tests)]

    def trained_units(self) -> list[CodeUnit]:
        return [u for u in self.units_for("defect") if trained_on(u, self.languages)]


def reports_on(task: str, unit: CodeUnit, tests: Iterable[str] = ()) -> bool:
    """Whether ``task`` looks at ``unit`` at all: test code only for the tasks in ``tests``."""
    return task in tests or not is_test_code(unit)


def trained_on(unit: CodeUnit, languages: Sequence[str]) -> bool:
    """Whether ``unit`` is in a language of ``languages`` (an adapter's; empty: not known, so any)."""
    return not languages or unit.language in languages


def _defect(inputs: TaskInputs) -> list[Finding]:
    return defect_findings(inputs.trained_units(), inputs.results, inputs.thresholds.defect, inputs.min_confidence,
                           inputs.calibration.defect_precision)


def _clone(inputs: TaskInputs) -> list[Finding]:
    clones = inputs.clones
    if clones is None:
        clones = find_clones(inputs.units, inputs.results, inputs.thresholds.clone,
                             lexical_weight=inputs.thresholds.clone_lexical, include_tests="clone" in inputs.tests)
    return clone_findings(clones, inputs.calibration.clone_scale)


def _summary(inputs: TaskInputs) -> list[Finding]:
    # A summary in a language the adapter was not trained on never reaches here (``gate_summaries``).
    return docstring_findings(inputs.units_for("summary"), inputs.results)


FINDERS: dict[str, Callable[[TaskInputs], list[Finding]]] = dict(zip(TASKS, (_defect, _clone, _summary)))
"""Task name -> function producing that task's findings (CL100, CL200, CL300)."""


def all_findings(units: Sequence[CodeUnit], results: Mapping[str, UnitResult], *,
                 thresholds: Thresholds | None = None, calibration: Calibration | None = None,
                 tasks: Iterable[str] = TASKS, clones: CloneReport | None = None,
                 min_confidence: float = 0.0, languages: Sequence[str] = (),
                 tests: Iterable[str] = ()) -> list[Finding]:
    """The findings of the chosen tasks, confidence at least ``min_confidence``, in report order; test
    code only for the tasks in ``tests``."""
    chosen = list(dict.fromkeys(tasks))
    unknown = [name for name in chosen if name not in FINDERS]
    if unknown:
        raise ConfigError(f"unknown task(s) {', '.join(unknown)}; known tasks: {', '.join(TASKS)}",
                          hint="name tasks among the known ones")
    inputs = TaskInputs(units, results, thresholds or Thresholds(), calibration or Calibration(), clones,
                        min_confidence, tuple(languages), frozenset(tests))
    findings = [f for name in chosen for f in FINDERS[name](inputs) if f.confidence >= min_confidence]
    return sorted(findings, key=finding_order)
