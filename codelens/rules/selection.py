"""Which rules a scan reports, in ruff's terms: ``select`` and ``ignore`` lists of selectors.

A selector is a rule code (``CL100``), a prefix of codes (``CL1``: every CL1xx rule; ``CL``: all of them),
``ALL``, or a rule name (``likely-defect``), in any case. As in ruff, the most specific selector that
matches a rule decides: ``select = ["CL"]`` with ``ignore = ["CL1"]`` leaves CL100 out, ``select =
["CL100"]`` with ``ignore = ["CL"]`` keeps it; between a select and an ignore equally specific, ignore
wins. An empty ``select`` keeps what was selected before (every rule, at the top level).
"""

from __future__ import annotations

from typing import Iterable

from codelens.errors import ConfigError
from codelens.rules import RULES

ALL = "ALL"
"""The selector that matches every rule (as ruff's)."""


def split_selectors(values: Iterable[str]) -> tuple[str, ...]:
    """Selectors as given, comma-separated lists split (``--select CL100,CL200``), blanks dropped."""
    return tuple(part.strip() for value in values for part in str(value).split(",") if part.strip())


def _specificity(selector: str, code: str) -> int | None:
    """How specifically ``selector`` names rule ``code`` (the length of the prefix matched; a code or
    name in full: 5 and more), or None when it does not match it."""
    key = selector.strip()
    if key.upper() == ALL:
        return 0
    rule = RULES[code]
    if key.lower() == rule.name:
        return len(code)
    if code.startswith(key.upper()):
        return len(key)
    return None


def check_selectors(selectors: Iterable[str], where: str) -> tuple[str, ...]:
    """``selectors`` (split as ``split_selectors`` does), each checked to match at least one rule; a
    ConfigError naming ``where`` and listing the rules otherwise."""
    checked = split_selectors(selectors)
    for selector in checked:
        if not any(_specificity(selector, code) is not None for code in RULES):
            known = ", ".join(f"{r.code} ({r.name})" for r in RULES.values())
            raise ConfigError(f"{where}: unknown rule {selector!r}",
                              hint=f"use a rule code, a prefix of one (CL1, CL) or a name; the rules: {known}")
    return checked


def selected_rules(select: Iterable[str], ignore: Iterable[str],
                   before: Iterable[str] | None = None) -> frozenset[str]:
    """The codes left on: each rule goes by the most specific of ``select`` and ``ignore`` that matches it
    (ignore winning a tie); a rule neither names keeps its state in ``before`` (default: every rule)."""
    on = set(RULES if before is None else before)
    select, ignore = tuple(select), tuple(ignore)
    out = set()
    for code in RULES:
        chosen = max((s for s in (_specificity(x, code) for x in select) if s is not None), default=None)
        dropped = max((s for s in (_specificity(x, code) for x in ignore) if s is not None), default=None)
        if dropped is not None and (chosen is None or dropped >= chosen):
            continue
        if chosen is not None or (not select and code in on):
            out.add(code)
    return frozenset(out)
