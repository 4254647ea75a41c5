"""Edit-site enumeration: functions per second that ``codelens.parsing.sites.edit_sites`` gives their sites,
against parsing the same functions alone.

Every likely bug a scan locates, and every bug training makes, starts from a function's edit sites: the
function is parsed on its own (framed when it is a method), then one walk of its tree finds the sites of
every bug kind (issue 20: before, each kind read the function's nodes again). The reference is what that
enumeration cannot avoid, the parse (``function_syntax.parse_function``: framing, tree-sitter, finding
the function node), of the same functions in the same run, so the ratio says what the walk costs on top.

Functions: the first FUNCTIONS (quick: QUICK_FUNCTIONS) functions of PACKAGES of a copy of the standard
library, as extraction cuts them out, each read as the model reads it (``CodeUnit.body``, re-parsed with its
indentation). The two sides alternate, best of 3 (quick: 1); the site cache is cleared before each pass.
"""

from __future__ import annotations

import time

from benchmarks.common import BenchContext, Figure, ratio_of

PACKAGES = ("json", "email", "http", "logging", "urllib", "concurrent", "collections", "wsgiref")
"""About 1,700 functions (the parse benchmark's quick packages)."""
FUNCTIONS, QUICK_FUNCTIONS = 1500, 150


def functions(ctx: BenchContext, count: int) -> list:
    """The first ``count`` Python functions of PACKAGES, in unit order."""
    from codelens.discovery import discover
    from codelens.parsing import parse_files

    files = [f for f in discover(ctx.stdlib(PACKAGES)).files if f.language == "python"]
    return parse_files(files, workers=1).units[:count]


def run(ctx: BenchContext) -> list[Figure]:
    from codelens.parsing import function_syntax
    from codelens.parsing.sites import edit_sites, parse_sites

    units = functions(ctx, QUICK_FUNCTIONS if ctx.quick else FUNCTIONS)
    repeat = 1 if ctx.quick else 3

    def parse_only() -> int:
        return sum(function_syntax.parse_function(u.body, u.language, u.indent) is not None for u in units)

    def enumerate_sites() -> int:
        parse_sites.cache_clear()  # each pass parses and walks every function, as a scan meets it the first time
        return sum(len(edit_sites(u.body, u.language, u.indent)) for u in units)

    times: dict[str, list[float]] = {"sites": [], "parse": []}
    counts = {}
    for _ in range(repeat):  # alternated, so both sides see the same machine load
        for name, fn in (("parse", parse_only), ("sites", enumerate_sites)):
            start = time.perf_counter()
            counts[name] = fn()
            times[name].append(time.perf_counter() - start)
    rate, parse_rate = len(units) / min(times["sites"]), len(units) / min(times["parse"])
    return [Figure("sites", "edit sites", rate, "functions/s", "parse_function of the same functions", parse_rate,
                   ratio_of(rate, parse_rate),
                   note=f"{len(units)} stdlib functions, {counts['sites']} sites, best of {repeat}",
                   detail={"functions": len(units), "parsed": counts["parse"], "sites": counts["sites"],
                           "sites_s": [round(t, 4) for t in times["sites"]],
                           "parse_s": [round(t, 4) for t in times["parse"]]})]
