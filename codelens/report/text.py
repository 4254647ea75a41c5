"""Plain text for people, as ruff shows it: each finding's line, then the flagged source lines (CL100's
suspect token underlined, the function's first line for the other rules), clone classes grouped, and a
footer that counts. ``concise`` is the same without the source lines: one line per finding.

No colour codes: the CLI may colour the text when it writes to a terminal. Source lines come from the
scanned repository and pass through ``one_line`` like every other text of it.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from codelens.core import ClonePair, CodeUnit, unit_order
from codelens.findings import Finding, Severity, finding_order
from codelens.report.model import ScanReport, one_line, printable
from codelens.tasks.clone import clone_classes

CONTEXT_LINES = 1
"""Source lines shown above and below CL100's suspect line (within the function)."""
TAB_WIDTH = 4
"""Columns a tab takes in a shown source line (the underline is placed by the same rule)."""


def render(report: ScanReport) -> str:
    """The report as text with source snippets, ending with a newline."""
    return _render(report, snippets=True)


def render_concise(report: ScanReport) -> str:
    """The report as text, one line per finding, ending with a newline."""
    return _render(report, snippets=False)


def _render(report: ScanReport, snippets: bool) -> str:
    units = {u.key: u for u in report.units}
    lines: list[str] = []
    for finding in sorted(report.findings, key=finding_order):
        unit = units.get(finding.key)
        if snippets and unit is not None:
            if lines and lines[-1]:
                lines.append("")  # a finding with its source lines stands apart, as in ruff
            lines += [finding_line(finding), *snippet(finding, unit), ""]
        else:
            lines.append(finding_line(finding))
    classes = _class_lines(report.clones)
    if classes:
        if lines and lines[-1]:
            lines.append("")
        lines += classes
    if lines and lines[-1]:
        lines.append("")
    lines += _footer(report)
    return printable("\n".join(lines) + "\n")


def finding_line(finding: Finding) -> str:
    """``path:line[:column]: CODE rule message [severity, confidence 0.87]``, on one line whatever the names
    hold; the line and column are the finding's exact region when it has one (CL100's suspect token)."""
    where = f"{finding.path}:{finding.start_line}"
    if finding.region is not None:
        where = f"{finding.path}:{finding.region.start_line}:{finding.region.start_column}"
    return one_line(f"{where}: {finding.code} {finding.rule} {finding.message} "
                    f"[{finding.severity.value}, confidence {finding.confidence:.2f}]")


def snippet(finding: Finding, unit: CodeUnit) -> list[str]:
    """The source lines a finding is about, ruff style: a gutter of line numbers, the suspect token of a
    located finding underlined with ``^`` (and its proposed replacement), else the function's first line."""
    source = unit.source.split("\n")
    region = finding.region
    if region is None or not unit.start_line <= region.start_line < unit.start_line + len(source):
        shown = [(unit.start_line, source[0])]
        mark = None
    else:
        first = max(unit.start_line, region.start_line - CONTEXT_LINES)
        last = min(unit.start_line + len(source) - 1, region.start_line + CONTEXT_LINES)
        shown = [(n, source[n - unit.start_line]) for n in range(first, last + 1)]
        mark = region
    width = len(str(shown[-1][0]))
    gutter = " " * width + " |"
    out = [gutter]
    for number, text in shown:
        out.append(f"{number:>{width}} | {_shown(text)}".rstrip())
        if mark is not None and number == mark.start_line:
            repair = f" did you mean `{one_line(finding.replacement)}`?" if finding.replacement is not None else ""
            out.append(f"{gutter} {_underline(text, mark)}{repair}")
    out.append(gutter)
    return out


def _shown(text: str) -> str:
    return one_line(text.expandtabs(TAB_WIDTH))


def _underline(text: str, region) -> str:
    """Carets under ``region`` of its first line (to the line's end when it goes on), then the repair."""
    start = region.start_column - 1
    end = region.end_column - 1 if region.end_line == region.start_line else len(text)
    before = len(_shown(text[:start]))
    carets = "^" * max(1, len(_shown(text[start:end])))
    return " " * before + carets


def _class_lines(pairs: list[ClonePair]) -> list[str]:
    classes = clone_classes(pairs)
    if not classes:
        return []
    class_of = {unit_order(m): number for number, members in enumerate(classes) for m in members}
    pairs_of: dict[int, list[ClonePair]] = defaultdict(list)
    for pair in pairs:
        pairs_of[class_of[unit_order(pair.a)]].append(pair)
    lines = [f"Clone classes ({len(classes)}):"]
    for number, members in enumerate(classes):
        inside = pairs_of[number]
        kinds = sorted({p.kind for p in inside}, key=("type-1", "type-2", "semantic").index)
        lowest = min(p.similarity for p in inside)
        lines.append(f"  {number + 1}. {len(members)} functions, {' + '.join(kinds)}, similarity >= {lowest:.2f}")
        lines += [one_line(f"     {m.path}:{m.start_line} {m.qualname}") for m in members]
    return lines


def _counts(counter: Counter) -> str:
    return ", ".join(f"{counter[code]} {code}" for code in sorted(counter))


def _footer(report: ScanReport) -> list[str]:
    findings = report.findings
    hidden = Counter(report.options.not_shown)
    if findings:
        by_severity = Counter(f.severity for f in findings)
        severities = ", ".join(f"{s.value} {by_severity[s]}" for s in reversed(list(Severity)) if by_severity[s])
        found = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}: {_counts(Counter(f.code for f in findings))} ({severities})"
    else:
        found = "No blocking findings" if hidden else "No findings"
    lines = [f"{found}."]
    if hidden:
        total = sum(hidden.values())
        lines.append(f"{total} finding{'s' if total != 1 else ''} not shown (they do not block): {_counts(hidden)}; "
                     "run `codelens scan` to see them.")
    files = len({u.path for u in report.units})
    scanned = (f"{len(report.units)} function{'s' if len(report.units) != 1 else ''} "
               f"in {files} file{'s' if files != 1 else ''}")
    parts = [scanned, f"{_cache_hits(report)} cache hits"]
    elapsed = report.stats.get("elapsed_s", report.stats.get("seconds"))
    if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool):
        parts.append(f"{elapsed:.2f} s")
    return [*lines, f"Scanned {'; '.join(parts)}."]


def _cache_hits(report: ScanReport) -> int:
    hits = report.stats.get("cache_hits")
    if isinstance(hits, int):
        return hits
    hashes = {u.hash for u in report.units}
    return sum(1 for h in hashes if h in report.results and report.results[h].cached)
