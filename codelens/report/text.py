"""Plain text for people: one line per finding, clone classes grouped, a summary footer.

No colour codes: the CLI may colour the text when it writes to a terminal.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from codelens.findings import Finding, Severity
from codelens.report.model import ScanReport, one_line, printable
from codelens.tasks import finding_order
from codelens.tasks.clone import ClonePair, clone_classes, unit_key


def render(report: ScanReport) -> str:
    """The report as text, ending with a newline."""
    lines = [finding_line(f) for f in sorted(report.findings, key=finding_order)]
    classes = _class_lines(report.clones)
    if classes:
        if lines:
            lines.append("")
        lines += classes
    if lines:
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


def _class_lines(pairs: list[ClonePair]) -> list[str]:
    classes = clone_classes(pairs)
    if not classes:
        return []
    class_of = {unit_key(m): number for number, members in enumerate(classes) for m in members}
    pairs_of: dict[int, list[ClonePair]] = defaultdict(list)
    for pair in pairs:
        pairs_of[class_of[unit_key(pair.a)]].append(pair)
    lines = [f"Clone classes ({len(classes)}):"]
    for number, members in enumerate(classes):
        inside = pairs_of[number]
        kinds = sorted({p.kind for p in inside}, key=("type-1", "type-2", "semantic").index)
        lowest = min(p.similarity for p in inside)
        lines.append(f"  {number + 1}. {len(members)} functions, {' + '.join(kinds)}, similarity >= {lowest:.2f}")
        lines += [one_line(f"     {m.path}:{m.start_line} {m.qualname}") for m in members]
    return lines


def _footer(report: ScanReport) -> list[str]:
    findings = report.findings
    if findings:
        by_code = Counter(f.code for f in findings)
        by_severity = Counter(f.severity for f in findings)
        codes = ", ".join(f"{by_code[c]} {c}" for c in sorted(by_code))
        severities = ", ".join(f"{s.value} {by_severity[s]}" for s in reversed(list(Severity)) if by_severity[s])
        found = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}: {codes} ({severities})"
    else:
        found = "No findings"
    files = len({u.path for u in report.units})
    scanned = (f"{len(report.units)} function{'s' if len(report.units) != 1 else ''} "
               f"in {files} file{'s' if files != 1 else ''}")
    parts = [scanned, f"{_cache_hits(report)} cache hits"]
    elapsed = report.stats.get("elapsed_s", report.stats.get("seconds"))
    if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool):
        parts.append(f"{elapsed:.2f} s")
    return [f"{found}.", f"Scanned {'; '.join(parts)}."]


def _cache_hits(report: ScanReport) -> int:
    hits = report.stats.get("cache_hits")
    if isinstance(hits, int):
        return hits
    hashes = {u.hash for u in report.units}
    return sum(1 for h in hashes if h in report.results and report.results[h].cached)
