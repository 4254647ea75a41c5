"""Which functions each rule looks at in one scan, so that the model runs only where a finding can come of it.

A rule looks at a function when it is selected for the function's file (``select`` / ``ignore``, per path),
the function is not test code unless the rule's ``*-tests`` setting says so, and the rule can say something
about it: CL100 in a language the adapter was trained on, CL300 on a function it asks a docstring of, CL200
on a function big enough to pair. A function no rule looks at is not run through the model at all (unless
the report lists every function or its neighbours); a summary is generated only where CL300 could show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Mapping, Sequence

from codelens.core import TASKS, CodeUnit
from codelens.rules import rule_of
from codelens.tasks import reports_on, trained_on
from codelens.tasks.clone import MIN_CLONE_LINES, MIN_CLONE_TOKENS, is_trivial
from codelens.tasks.summary import asks_for_docstring


@dataclass(frozen=True)
class Scope:
    """The rules on in each file and the settings that narrow them, for one scan."""

    rules: Mapping[str, frozenset[str]]
    """Rule codes reported in each file (``ScanConfig.rules_for``), by path."""
    tests: frozenset[str] = frozenset()
    """Tasks that look at test code too (``ScanConfig.tests_for``)."""
    languages: Sequence[str] = ()
    """Languages the adapter was trained on (empty: all)."""
    clone_min_lines: int = MIN_CLONE_LINES
    """Smallest function (non-blank lines) that can pair."""
    clone_min_tokens: int = MIN_CLONE_TOKENS
    """Smallest function (tokens) that can pair."""
    tasks: frozenset[str] = frozenset(TASKS)
    """Tasks the adapter serves (``AdapterMetadata.tasks``): a rule of another task reports nothing."""
    summaries: bool = True
    """Whether summaries are generated at all (not with ``--summaries none``)."""

    def looks_at(self, task: str, unit: CodeUnit) -> bool:
        """Whether ``task``'s rule is on for the unit's file and the task looks at the unit (test code)."""
        return (task in self.tasks and rule_of(task).code in self.rules.get(unit.path, ())
                and reports_on(task, unit, self.tests))

    def wants_summary(self, unit: CodeUnit) -> bool:
        """Whether a summary of ``unit`` could be shown: CL300 looks at it and asks it for a docstring, in a
        language the adapter was trained on."""
        return (self.summaries and self.looks_at("summary", unit) and asks_for_docstring(unit)
                and trained_on(unit, self.languages))

    @cached_property
    def clones_anywhere(self) -> bool:
        """Whether CL200 is on in some file (a function of a file without it can still be the twin of one)."""
        code = rule_of("clone").code
        return "clone" in self.tasks and any(code in codes for codes in self.rules.values())

    def clone_candidate(self, unit: CodeUnit) -> bool:
        """Whether ``unit`` takes part in clone search: CL200 is on somewhere, test code only with clone-tests,
        and it is not too small to pair."""
        return (self.clones_anywhere and reports_on("clone", unit, self.tests)
                and not is_trivial(unit, self.clone_min_lines, self.clone_min_tokens))

    def needs_model(self, unit: CodeUnit) -> bool:
        """Whether any rule needs the model's results for ``unit``."""
        defect = self.looks_at("defect", unit) and trained_on(unit, self.languages)
        return defect or self.wants_summary(unit) or self.clone_candidate(unit)
