"""BugLab-style bugs: one small rewrite of a correct function at one of its edit sites.

The sites and what may stand at each are ``codelens.parsing.sites`` (the scan proposes repairs from the
same tables). Every rewrite replaces one site's text, so the rest of the function stays byte-identical,
and a rewrite is kept only if the result still parses. Each bug records where it sits in the rewritten
text and what stood there: the localisation and repair targets.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from codelens.parsing import function_syntax as syntax
from codelens.parsing.sites import BUG_KINDS, parse_sites


class Rewrite(NamedTuple):
    """One single-edit variant of a function."""

    source: str
    """The rewritten function source, framed like the input (same indentation)."""
    kind: str
    """One of BUG_KINDS (or a clone transform name in clones.py)."""
    line: int
    """1-based line of the edit inside ``source``."""
    site: tuple[int, int] = (0, 0)
    """Character span of the edited text inside ``source`` (the bug's location)."""
    repair: str = ""
    """What stood there before: the text that mends the bug."""


def _apply(parsed, site, new: str, language: str) -> Rewrite | None:
    data = syntax.splice(parsed.data, [(site.start, site.end, new.encode("utf-8"))])
    if data == parsed.data or not syntax.reparses(data, language):
        return None
    source = syntax.unframe(data, parsed.start)
    start = len(data[parsed.start:site.start].decode("utf-8"))
    return Rewrite(source, site.kind, parsed.line_of(site.start), (start, start + len(new)),
                   parsed.data[site.start:site.end].decode("utf-8"))


def bug_rewrites(source: str, language: str = "python", indent: str = "",
                 kinds: tuple[str, ...] = BUG_KINDS) -> list[Rewrite]:
    """Every single-edit bug of the given kinds, in kind order then source order.

    ``indent`` is the whitespace before the ``def`` in its file (methods); the result keeps it.
    A language without a rewrite table, or a source that does not parse, gives no rewrites.
    """
    found = parse_sites(source, language, indent)
    if found is None:
        return []
    parsed, sites = found.parsed, found.rewrites
    return [r for site in sites if site.kind in kinds for new in site.alternatives
            if (r := _apply(parsed, site, new, language)) is not None]


def sample_bugs(source: str, rng: random.Random, count: int = 1, language: str = "python",
                indent: str = "", kinds: tuple[str, ...] = BUG_KINDS) -> list[Rewrite]:
    """Up to ``count`` distinct bugs, spread over kinds: draw a kind uniformly, then one of its rewrites.

    Drawing the kind first keeps frequent kinds (every integer literal is a candidate) from drowning
    the rare ones.
    """
    found = parse_sites(source, language, indent)
    if found is None:
        return []
    parsed, sites = found.parsed, found.rewrites
    pools: dict[str, list] = {}
    for site in sites:
        if site.kind in kinds:
            pools.setdefault(site.kind, []).extend((site, new) for new in site.alternatives)
    out: list[Rewrite] = []
    seen = {source}
    while len(out) < count and pools:
        kind = rng.choice(sorted(pools))
        site, new = pools[kind].pop(rng.randrange(len(pools[kind])))
        if not pools[kind]:
            del pools[kind]
        rewrite = _apply(parsed, site, new, language)
        if rewrite is not None and rewrite.source not in seen:
            seen.add(rewrite.source)
            out.append(rewrite)
    return out
