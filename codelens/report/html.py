"""HTML report: one self-contained page (inline CSS and script, nothing fetched) to browse a scan.

What it shows: a summary (findings by rule and severity, files and functions scanned, the model, the time);
each function with findings, its code highlighted (``codelens.report.highlight``) with CL100's suspect token
marked and its repair shown as a diff in place, CL300's suggested docstring inserted where it would go; the
clone classes with their members side by side and the lines that differ marked; filters by rule, severity,
confidence and path, kept in the address's fragment (``#rule=CL100&severity=high``) so a reload or a shared
link shows the same view; an anchor per finding, function and clone class.

The page holds the code of the functions with findings only (long ones cut to the lines that matter), so a
scan of thousands of functions stays a page a browser opens at once. The JSON report's ``findings``,
``clones``, ``model`` and ``stats`` are embedded as data (``<script type="application/json"
id="codelens-data">``) for scripts that read the page. Everything from the scanned repository (paths, names,
code, messages) is escaped; a Content-Security-Policy allows no network access and no script but the page's
own (by its hash), so even a name that slipped through could not run.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import html
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from codelens.core import CodeUnit, unit_order
from codelens.docstrings import doc_comment, python_docstring_line
from codelens.findings import Finding, Severity, finding_order, fingerprint
from codelens.report.highlight import PLAIN, Token, highlight_lines, tokens
from codelens.report.json import report_dict
from codelens.report.model import ScanReport, printable, rounded
from codelens.tasks.clone import clone_classes

MAX_FUNCTION_LINES = 40
"""A function with a CL100 longer than this shows its first lines and those around the suspect token, with the
rest folded."""
MAX_HEADER_LINES = 8
"""A function with only a CL300 longer than this shows its first lines (where a docstring goes), the rest folded."""
CONTEXT_LINES = 3
"""Lines kept on each side of a suspect token when a long function is folded."""
MAX_MEMBER_LINES = 60
"""Lines of each clone class member shown side by side."""
MAX_MEMBERS_SHOWN = 4
"""Members of a clone class shown side by side; the others are listed by name."""
SEVERITIES = [s.value for s in sorted(Severity, key=lambda s: -s.rank)]
"""high, medium, low, info: the order of the summary's columns and the severity filter."""

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _text(value: object) -> str:
    """Escaped text for the page; control and bidirectional-override characters are shown as escapes, so a
    name or line cannot read differently from what it is."""
    escaped = html.escape(printable(str(value)), quote=False)
    return _CONTROL.sub(lambda m: f'<span class="ctl">{repr(m.group())[1:-1]}</span>', escaped)


def _attr(value: object) -> str:
    return html.escape(printable(str(value)), quote=True)


def _id(prefix: str, *parts: object) -> str:
    """An anchor that stays the same from one scan to the next while the thing it names does not move."""
    return prefix + fingerprint(*(printable(str(p)) for p in parts))[:12]


@lru_cache(maxsize=1)
def _assets() -> tuple[str, str]:
    folder = resources.files("codelens.report") / "assets"
    return (folder / "report.css").read_text(encoding="utf-8"), (folder / "report.js").read_text(encoding="utf-8")


def render(report: ScanReport) -> str:
    """The report as one HTML page (UTF-8 text ending with a newline)."""
    css, script = _assets()
    findings = sorted(report.findings, key=finding_order)
    # The JSON report less its per-function list and its clone pairs (a class of n functions is n^2 / 2 pairs;
    # the page shows classes).
    data = rounded({key: value for key, value in report_dict(report).items() if key not in ("functions", "clones")})
    known = {u.key: u for u in report.units}
    for pair in report.clones:
        known.setdefault(pair.a.key, pair.a)
        known.setdefault(pair.b.key, pair.b)
    classes = clone_classes(report.clones)
    class_ids = {unit_order(m): (number, _id("C", *unit_order(members[0])[:3]))
                 for number, members in enumerate(classes, start=1) for m in members}
    by_unit: dict[tuple, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_unit[finding.key].append(finding)
    sections = [_unit_section(known.get(key), key, group, class_ids) for key, group in by_unit.items()]
    confidence = {unit_order(known[k]): max(f.confidence for f in g if f.code == "CL200")
                  for k, g in by_unit.items() if k in known and any(f.code == "CL200" for f in g)}
    pairs_of: dict[int, list] = defaultdict(list)
    for pair in report.clones:
        pairs_of[class_ids[unit_order(pair.a)][0]].append(pair)
    clone_sections = [_clone_section(n, members, pairs_of[n], class_ids, confidence)
                      for n, members in enumerate(classes, 1)]
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    policy = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"
    count = len(findings)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>codelens report: {count} finding{'s' if count != 1 else ''}</title>",
        f"<style>{css}</style></head>",
        "<body>",
        f'<header><h1>codelens report</h1><p class="tool">{_text(report.tool_name)} {_text(report.tool_version)}</p>'
        "</header>",
        _summary(report, findings),
        _filters(findings),
        f'<p class="shown"><span id="shown-count">{count}</span> of {count} finding{"s" if count != 1 else ""} '
        "shown</p>",
        '<main id="findings">',
        *(sections or ['<p class="empty">No findings.</p>']),
        "</main>",
    ]
    if clone_sections:
        parts += ['<section id="clones"><h2>Clone classes</h2>', *clone_sections, "</section>"]
    parts += [
        f'<script type="application/json" id="codelens-data">{_json_for_script(data)}</script>',
        f"<script>{script}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _json_for_script(data: dict) -> str:
    """JSON that cannot end its <script> element early: <, > and & as \\u escapes (JSON.parse reads them back)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _summary(report: ScanReport, findings: list[Finding]) -> str:
    counts = Counter((f.code, f.severity.value) for f in findings)
    rules = dict(sorted({f.code: f.rule for f in findings}.items()))
    head = "".join(f"<th>{s}</th>" for s in SEVERITIES)
    rows = []
    for code, rule in rules.items():
        cells = "".join(f'<td><a href="#rule={_attr(code)}&amp;severity={s}">{counts[code, s]}</a></td>'
                        if counts[code, s] else "<td>0</td>" for s in SEVERITIES)
        total = sum(counts[code, s] for s in SEVERITIES)
        rows.append(f'<tr><th><a href="#rule={_attr(code)}">{_text(code)}</a> {_text(rule)}</th>{cells}'
                    f"<td>{total}</td></tr>")
    totals = "".join(f"<td>{sum(counts[c, s] for c in rules)}</td>" for s in SEVERITIES)
    table = (f'<table class="counts"><thead><tr><th>rule</th>{head}<th>total</th></tr></thead><tbody>{"".join(rows)}'
             f"</tbody><tfoot><tr><th>all</th>{totals}<td>{len(findings)}</td></tr></tfoot></table>")
    stats, model = report.stats, report.model_dict()
    files = stats.get("files", len({u.path for u in report.units}))
    functions = stats.get("functions", len(report.units))
    facts = [("files scanned", files), ("functions analysed", functions), ("cache hits", stats.get("cache_hits")),
             ("model", model.get("id")), ("adapter", model.get("adapter")),
             ("device", " ".join(str(model[k]) for k in ("device", "dtype", "quantize")
                        if model.get(k) not in (None, "", "none")) or None)]
    elapsed = stats.get("elapsed_s", stats.get("seconds"))
    if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool):
        facts.append(("time", f"{elapsed:.2f} s"))
    thresholds = model.get("thresholds")
    if isinstance(thresholds, dict):
        facts.append(("thresholds", ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                              for k, v in sorted(thresholds.items()))))
    listed = "".join(f"<dt>{name}</dt><dd>{_text(value)}</dd>" for name, value in facts if value not in (None, ""))
    return f'<section id="summary"><h2>Summary</h2>{table}<dl class="facts">{listed}</dl></section>'


def _filters(findings: list[Finding]) -> str:
    rules = dict(sorted({f.code: f.rule for f in findings}.items()))
    options = "".join(f'<option value="{_attr(c)}">{_text(c)} {_text(r)}</option>' for c, r in rules.items())
    boxes = "".join(f'<label><input type="checkbox" name="severity" value="{s}" checked> {s}</label>'
                    for s in SEVERITIES)
    return ('<form id="filters" autocomplete="off">'
            f'<label>Rule <select id="f-rule"><option value="">all rules</option>{options}</select></label>'
            f'<fieldset><legend>Severity</legend>{boxes}</fieldset>'
            '<label>Confidence &ge; <input type="range" id="f-confidence" min="0" max="1" step="0.05" value="0"> '
            '<output id="f-confidence-value">0.00</output></label>'
            '<label>Path <input type="search" id="f-path" placeholder="part of a path"></label>'
            '<button type="button" id="f-reset">Reset</button></form>')


def _finding_item(finding: Finding, class_ids: dict, unit: CodeUnit | None) -> str:
    anchor = _id("F", finding.code, *finding.key)
    extra = ""
    if finding.code == "CL200" and unit is not None and unit_order(unit) in class_ids:
        number, class_id = class_ids[unit_order(unit)]
        extra = f' <a class="clone-link" href="#{class_id}">clone class {number}</a>'
    sev = finding.severity.value
    return (f'<li class="finding" id="{anchor}" data-code="{_attr(finding.code)}" data-severity="{sev}" '
            f'data-confidence="{finding.confidence:.4f}" data-path="{_attr(finding.path)}">'
            f'<a class="anchor" href="#{anchor}">#</a> '
            f'<span class="code">{_text(finding.code)}</span> <span class="rule">{_text(finding.rule)}</span> '
            f'<span class="sev sev-{sev}">{sev}</span> <span class="conf">confidence {finding.confidence:.2f}</span>'
            f'{extra}<div class="message">{_text(finding.message)}</div></li>')


def _unit_section(unit: CodeUnit | None, key: tuple, findings: list[Finding], class_ids: dict) -> str:
    path, qualname, line = key
    anchor = _id("U", path, qualname, line)
    items = "".join(_finding_item(f, class_ids, unit) for f in findings)
    language = f' <span class="lang">{_text(unit.language)}</span>' if unit is not None else ""
    # A clone's code is shown beside its twins in its clone class, and not twice.
    shows_code = unit is not None and any(f.code != "CL200" for f in findings)
    limit = MAX_FUNCTION_LINES if any(f.region is not None or f.code == "CL100" for f in findings) else MAX_HEADER_LINES
    code = _listing(unit, findings).html(limit) if shows_code else ""
    return (f'<section class="unit" id="{anchor}"><h3><a class="anchor" href="#{anchor}">#</a> '
            f'<span class="path">{_text(path)}</span>:<span class="line">{line}</span> '
            f'<span class="qualname">{_text(qualname)}</span>{language}</h3><ul class="items">{items}</ul>{code}'
            "</section>")


@dataclass
class _Listing:
    """A function's code as numbered, highlighted lines, with marks, removed lines and inserted lines."""

    unit: CodeUnit
    rows: list[list[Token]]
    marks: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Row -> (start, end) characters to mark."""
    removed: set[int] = field(default_factory=set)
    added: dict[int, list[str]] = field(default_factory=dict)
    """Row -> rendered lines inserted after it (-1: before the first)."""
    differs: set[int] = field(default_factory=set)
    focus: set[int] = field(default_factory=set)
    """Rows a folded listing must keep."""

    def html(self, limit: int) -> str:
        shown = set(range(len(self.rows)))
        if len(self.rows) > limit:
            shown = set(range(min(limit // 2, len(self.rows))))
            for row in self.focus:
                shown.update(range(max(0, row - CONTEXT_LINES), min(len(self.rows), row + CONTEXT_LINES + 1)))
        out, skipped = list(self.added.get(-1, [])), 0
        for row, line in enumerate(self.rows):
            if row not in shown:
                skipped += 1
                continue
            if skipped:
                out.append(_gap(skipped))
                skipped = 0
            kind = " del" if row in self.removed else " diff" if row in self.differs else ""
            out.append(f'<div class="l{kind}" data-n="{self.unit.start_line + row}">'
                       f"{_tokens_html(line, self.marks.get(row))}</div>")
            out += self.added.get(row, [])
        if skipped:
            out.append(_gap(skipped))
        return f'<div class="src">{"".join(out)}</div>'


def _gap(count: int) -> str:
    return f'<div class="l gap">&#8943; {count} line{"s" if count != 1 else ""}</div>'


def _tokens_html(line: list[Token], mark: tuple[int, int] | None) -> str:
    out, at = [], 0
    for kind, text in line:
        pieces = [(text, False)]
        if mark is not None and at < mark[1] and at + len(text) > mark[0]:
            lo, hi = max(0, mark[0] - at), min(len(text), mark[1] - at)
            pieces = [(text[:lo], False), (text[lo:hi], True), (text[hi:], False)]
        for piece, marked in pieces:
            if piece:
                body = f'<span class="{kind}">{_text(piece)}</span>' if kind != PLAIN else _text(piece)
                out.append(f"<mark>{body}</mark>" if marked else body)
        at += len(text)
    return "".join(out)


def _display_text(unit: CodeUnit) -> str:
    """The function as it stands in its file: its first line indented as there, CRLF as LF."""
    return (unit.indent + unit.source).replace("\r\n", "\n")


def _listing(unit: CodeUnit, findings: list[Finding]) -> _Listing:
    text = _display_text(unit)
    listing = _Listing(unit, highlight_lines(text, unit.language), focus={0})
    lines = text.split("\n")
    for finding in findings:
        if finding.region is not None:
            _mark_repair(listing, lines, finding)
        if finding.code == "CL300" and finding.fix:
            _insert_docstring(listing, lines, finding.fix)
    return listing


def _mark_repair(listing: _Listing, lines: list[str], finding: Finding) -> None:
    """Mark CL100's suspect token; with a replacement, the lines become a diff (removed, then repaired)."""
    region, first = finding.region, listing.unit.start_line
    r0, r1 = region.start_line - first, region.end_line - first
    c0, c1 = region.start_column - 1, region.end_column - 1
    if not (0 <= r0 <= r1 < len(lines)) or not (0 <= c0 <= len(lines[r0])) or not (0 <= c1 <= len(lines[r1])):
        return  # a region outside the function (an edited file read against an old result): not drawn
    for row in range(r0, r1 + 1):
        listing.marks[row] = (c0 if row == r0 else 0, c1 if row == r1 else len(lines[row]))
    listing.focus.update(range(r0, r1 + 1))
    if finding.replacement is None:
        return
    listing.removed.update(range(r0, r1 + 1))
    fixed = lines[r0][:c0] + finding.replacement + lines[r1][c1:]
    end = c0 + len(finding.replacement)
    added, offset = [], 0  # offset: where each repaired line starts in ``fixed``
    for row, line in zip(highlight_lines(fixed, listing.unit.language), fixed.split("\n")):
        span = (max(c0 - offset, 0), end - offset) if end > offset and c0 <= offset + len(line) else None
        added.append(f'<div class="l add">{_tokens_html(row, span)}</div>')
        offset += len(line) + 1
    listing.added.setdefault(r1, []).extend(added)


def _insert_docstring(listing: _Listing, lines: list[str], summary: str) -> None:
    """CL300's suggestion where ``codelens docstring`` would put it: a Python docstring under the header,
    a doc comment above any other function."""
    unit = listing.unit
    if unit.language == "python":
        row = _python_header_end(unit)
        below = next((line for line in lines[row + 1:] if line.strip() and not line.strip().startswith("#")), None)
        indent = below[: len(below) - len(below.lstrip())] if below is not None else ""
        if not indent:
            indent = lines[0][: len(lines[0]) - len(lines[0].lstrip())] + "    "
        text = indent + python_docstring_line(summary)
    else:
        row = -1
        try:
            text = unit.indent + doc_comment(unit.language, unit.qualname, summary)
        except ValueError:
            return  # a language without a doc comment form: the message still names the summary
    rendered = _tokens_html(highlight_lines(text, unit.language)[0], None)
    listing.added.setdefault(row, []).append(f'<div class="l add doc">{rendered}</div>')
    listing.focus.add(max(row, 0))


def _python_header_end(unit: CodeUnit) -> int:
    """The row of the ``:`` that ends a Python function's header (brackets closed), 0 when not found."""
    depth, row = 0, 0
    for kind, text in tokens(_display_text(unit), "python"):
        if kind == PLAIN:
            for char in text:
                if char in "([{":
                    depth += 1
                elif char in ")]}":
                    depth = max(0, depth - 1)
                elif char == ":" and depth == 0:
                    return row
                elif char == "\n":
                    row += 1
        else:
            row += text.count("\n")
    return 0


def _clone_section(number: int, members: tuple[CodeUnit, ...], inside: list, class_ids: dict,
                   confidence: dict) -> str:
    kinds = sorted({p.kind for p in inside}, key=lambda k: ("type-1", "type-2", "semantic").index(k)
                   if k in ("type-1", "type-2", "semantic") else 3)
    lowest = min((p.similarity for p in inside), default=1.0)
    shown = members[:MAX_MEMBERS_SHOWN]
    differs = _differing_rows([_display_text(m).split("\n") for m in shown])
    columns = []
    for member, rows in zip(shown, differs):
        listing = _Listing(member, highlight_lines(_display_text(member), member.language), differs=rows)
        listing.focus = set(rows)
        unit_anchor = _id("U", *member.key)
        columns.append(f'<div class="member" data-path="{_attr(member.path)}" data-line="{member.start_line}"><h4>'
                       f'<a href="#{unit_anchor}"><span class="path">{_text(member.path)}</span>:{member.start_line}'
                       f'</a> <span class="qualname">{_text(member.qualname)}</span></h4>'
                       f"{listing.html(MAX_MEMBER_LINES)}</div>")
    rest = "".join(f"<li>{_text(m.path)}:{m.start_line} {_text(m.qualname)}</li>" for m in members[MAX_MEMBERS_SHOWN:])
    more = f'<p class="more">and {len(members) - len(shown)} more:</p><ul class="more">{rest}</ul>' if rest else ""
    paths = json.dumps(sorted({printable(m.path) for m in members}), ensure_ascii=False)
    best = max((confidence.get(unit_order(m), 0.0) for m in members), default=0.0)
    anchor = class_ids[unit_order(members[0])][1]
    return (f'<section class="clone-class" id="{anchor}" data-code="CL200" data-severity="low" '
            f'data-confidence="{best:.4f}" data-paths="{_attr(paths)}"><h3><a class="anchor" href="#{anchor}">#</a> '
            f"Clone class {number}: {len(members)} functions, {_text(' + '.join(kinds))}, similarity &ge; "
            f'{lowest:.2f}</h3><div class="members">{"".join(columns)}</div>{more}</section>')


def _differing_rows(texts: list[list[str]]) -> list[set[int]]:
    """Per member, the rows (compared without indentation) that the first member does not share, and for the
    first member those that some other member lacks."""
    stripped = [[line.strip() for line in rows] for rows in texts]
    first_unmatched: set[int] = set()
    out = []
    for other in stripped[1:]:
        matcher = difflib.SequenceMatcher(None, stripped[0], other, autojunk=False)
        same_a, same_b = set(), set()
        for block in matcher.get_matching_blocks():
            same_a.update(range(block.a, block.a + block.size))
            same_b.update(range(block.b, block.b + block.size))
        first_unmatched |= set(range(len(stripped[0]))) - same_a
        out.append(set(range(len(other))) - same_b)
    return [first_unmatched, *out]
