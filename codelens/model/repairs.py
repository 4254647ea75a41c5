"""From a likely bug's token scores to a site of the function and the repair candidates the head scores.

Pure Python, shared by training (the gold site of an injected bug) and scanning (the site the model
points at): the candidates come from ``codelens.parsing.sites``, each turned into what the repair head
reads, a class of its vocabulary or the tokens of the variable it names.
"""

from __future__ import annotations

import re

from codelens.parsing.sites import Site

REPAIR_CLASSES = (
    "<var>", "+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "<", "<=", ">", ">=", "==", "!=",
    "and", "or", "+1", "-1", "True", "False", "drop-not", "add-not", "swap", "<other>",
)
"""What a repair can put at a site, as the repair head's vocabulary (a variable is pointed at instead)."""
_NAMED = {"dropped-negation": "drop-not", "added-negation": "add-not", "swapped-arguments": "swap"}
_NAMES_KINDS = frozenset({"variable-misuse", "wrong-attribute", "wrong-callee"})
"""Kinds whose candidates are names: the head points at the name's tokens in the code (when it occurs there)."""


def repair_class(site_kind: str, site_text: str, candidate: str) -> int:
    """The repair head's class of a candidate text at a site of a kind (see ``codelens.parsing.sites``)."""
    if site_kind in _NAMES_KINDS:
        return 0
    if site_kind == "off-by-one-slice":
        if candidate.startswith(site_text) or not site_text.rstrip().endswith(("+ 1", "- 1", "+1", "-1")):
            return REPAIR_CLASSES.index("+1" if candidate.rstrip().endswith("+ 1") else "-1")
        # dropping the site's own +/- 1 moves the bound the other way
        return REPAIR_CLASSES.index("-1" if site_text.rstrip().endswith(("+ 1", "+1")) else "+1")
    if site_kind == "off-by-one":
        try:
            return REPAIR_CLASSES.index("+1" if int(candidate) > int(site_text) else "-1")
        except ValueError:
            return len(REPAIR_CLASSES) - 1
    name = _NAMED.get(site_kind, candidate)
    return REPAIR_CLASSES.index(name) if name in REPAIR_CLASSES else len(REPAIR_CLASSES) - 1


def name_positions(code: str, name: str, offsets: list[tuple[int, int]]) -> list[int]:
    """Code-token indices (into ``offsets``) of every occurrence of the word ``name`` in ``code``."""
    spans = [(m.start(), m.end()) for m in re.finditer(rf"(?<![A-Za-z_0-9]){re.escape(name)}(?![A-Za-z_0-9])", code)]
    return [i for i, (a, b) in enumerate(offsets) if any(a < e and b > s for s, e in spans)]


def candidate_inputs(code: str, kind: str, text: str, candidates: tuple[str, ...],
                     offsets: list[tuple[int, int]]) -> list[tuple[int, list[int]]]:
    """(repair class, code-token indices of the variable it names, or []) for each candidate."""
    return [(repair_class(kind, text, c), name_positions(code, c, offsets) if kind in _NAMES_KINDS else [])
            for c in candidates]


def token_indices(start: int, end: int, offsets: list[tuple[int, int]]) -> list[int]:
    """Code-token indices overlapping characters [start, end) of the code."""
    return [i for i, (a, b) in enumerate(offsets) if a < end and b > start]


def best_site(sites: list[Site], offsets: list[tuple[int, int]], token_probs: list[float]) -> tuple[Site, float] | None:
    """The site the model points at, and the probability mass on its tokens; None without sites.

    A site is as likely as its likeliest token. Sites nest (an operator inside a condition, a variable
    inside an argument pair), so the likeliest token usually lies in several: the tightest of them wins,
    since it says most precisely where the bug is and what could mend it.
    """
    best = None
    for site in sites:
        tokens = [i for i in token_indices(site.start, site.end, offsets) if i < len(token_probs)]
        if not tokens:
            continue
        key = (max(token_probs[i] for i in tokens), -(site.end - site.start))
        if best is None or key > best[0]:
            best = (key, site, sum(token_probs[i] for i in tokens))
    return None if best is None else (best[1], best[2])
