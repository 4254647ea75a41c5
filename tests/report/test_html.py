"""The HTML report: exact snapshot, the same findings as the JSON report, escaping, and what each finding shows."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from codelens.choices import ReportFormat
from codelens.config import ScanConfig
from codelens.findings import Finding, Region, Severity
from codelens.report import REPORTERS, render
from codelens.report.model import ModelInfo, ScanReport
from codelens.tasks import all_findings
from codelens.tasks.clone import find_clones
from tests.report.scenario import THRESHOLDS, build_report, check_snapshot
from tests.tasks.factory import located, result, unit, vector

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"


class Page(HTMLParser):
    """What a reader of the page gets: the findings' data attributes and messages, the scripts, all text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.findings: list[dict] = []
        self.scripts: list[tuple[dict, str]] = []
        self.ids: list[str] = []
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self._stack: list[str] = []
        self._script: dict | None = None
        self._message = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "script":
            self._script = attrs
            self.scripts.append((attrs, ""))
        if tag == "li" and "finding" in attrs.get("class", "").split():
            self.findings.append({**{k[5:]: v for k, v in attrs.items() if k.startswith("data-")}, "message": ""})
        if tag == "div" and attrs.get("class") == "message":
            self._message = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None
        if tag == "div":
            self._message = False

    def handle_data(self, data):
        if self._script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
            return
        self.text.append(data)
        if self._message:
            self.findings[-1]["message"] += data

    def data(self) -> dict:
        return json.loads(next(text for attrs, text in self.scripts if attrs.get("id") == "codelens-data"))


def test_html_matches_its_snapshot():
    check_snapshot("report.html", render(build_report(), "html"))


def test_html_is_a_registered_format_and_a_config_choice():
    assert REPORTERS["html"] is not None
    assert ScanConfig(format="html").format is ReportFormat.HTML


def test_page_holds_exactly_the_findings_of_the_json_report():
    report = build_report()
    expected = json.loads(render(report, "json"))
    page = Page(render(report, "html"))
    data = page.data()
    # The embedded data block is the JSON report, less the per-function list and the clone pairs.
    assert data == {k: v for k, v in expected.items() if k not in ("functions", "clones")}
    # And what the page shows is the same list, in the same order.
    shown = [(f["code"], f["path"], f["severity"], float(f["confidence"]), f["message"]) for f in page.findings]
    assert shown == [(f["code"], f["path"], f["severity"], f["confidence"], f["message"]) for f in expected["findings"]]
    # The clone classes hold the functions of the JSON report's clone pairs.
    paired = {(side["path"], side["start_line"]) for pair in expected["clones"] for side in (pair["a"], pair["b"])}
    members = [(attrs["data-path"], int(attrs["data-line"])) for tag, attrs in page.tags if attrs.get("class") == "member"]
    assert sorted(members) == sorted(paired) and len(members) == 4
    assert len(set(page.ids)) == len(page.ids)  # anchors are unique


def test_anchors_stay_put_when_the_code_moves():
    before, after = Page(render(build_report(), "html")), Page(render(build_report(), "html"))
    assert before.ids == after.ids
    moved = Page(render(build_report(shift=3), "html"))
    # Finding anchors name (code, path, function, line): a move gives new ones, the same count.
    assert len(moved.ids) == len(before.ids) and moved.ids != before.ids


def test_cl100_repair_is_a_diff_with_the_suspect_token_marked():
    page = render(build_report(), "html")
    assert ('<div class="l del" data-n="14">        result[<mark>key</mark>] = value</div>'
            '<div class="l add">        result[<mark>value</mark>] = value</div>') in page


def test_cl300_docstring_is_shown_where_it_would_go():
    page = render(build_report(), "html")
    assert ('<div class="l" data-n="10"><span class="k">def</span> parse_config(text):</div>'
            '<div class="l add doc">    <span class="s">"""Parse a config text into a dict."""</span></div>'
            '<div class="l" data-n="11">    result = {}</div>') in page


def test_cl300_in_another_language_is_a_doc_comment_above_the_function():
    source = "  add(item, count) {\n    this.items.push(item);\n    this.count += count;\n    return this.count;\n  }"
    js = dataclasses.replace(unit("Cart.add", "web/cart.js", 7, source, language="javascript"), indent="  ")
    finding = Finding("CL300", "missing-docstring", "web/cart.js", 7, 11, "Cart.add", "no docstring", Severity.INFO,
                      1.0, js.hash, fix="Add an item to the cart.")
    page = render(ScanReport(units=[js], results={}, findings=[finding]), "html")
    assert ('<div class="src"><div class="l add doc">  <span class="c">/** Add an item to the cart. */</span></div>'
            '<div class="l" data-n="7">    add(item, count) {</div>') in page


def test_long_function_is_folded_around_its_findings():
    lines = ["def long(values):"] + [f"    v{i} = values[{i}]" for i in range(60)] + ["    return v59"]
    long = unit("long", "pkg/long.py", 100, "\n".join(lines))
    row = 50  # the suspect token on line 150
    finding = Finding("CL100", "likely-defect", "pkg/long.py", 100, 161, "long", "bug", Severity.HIGH, 0.9, long.hash,
                      region=Region(100 + row, 18, 100 + row, 20), replacement="48")
    page = render(ScanReport(units=[long], results={}, findings=[finding]), "html")
    numbers = [int(n) for n in re.findall(r'data-n="(\d+)"', page)]
    assert numbers == list(range(100, 120)) + list(range(147, 154))
    assert re.findall(r"&#8943; (\d+) lines", page) == ["27", "8"]
    assert ('<div class="l del" data-n="150">    v49 = values[<mark><span class="n">49</span></mark>]</div>'
            '<div class="l add">    v49 = values[<mark><span class="n">48</span></mark>]</div>') in page
    # A missing docstring is about the function's first lines: those are shown, with the suggestion.
    docstring = Finding("CL300", "missing-docstring", "pkg/long.py", 100, 161, "long", "no docstring", Severity.INFO,
                        1.0, long.hash, fix="Unpack the values.")
    page = render(ScanReport(units=[long], results={}, findings=[docstring]), "html")
    assert [int(n) for n in re.findall(r'data-n="(\d+)"', page)] == [100, 101, 102, 103]
    assert re.findall(r"&#8943; (\d+) lines", page) == ["58"] and '"""Unpack the values."""' in page


def test_clone_class_shows_members_side_by_side_with_the_differing_lines_marked():
    page = render(build_report(), "html")
    section = page[page.index('<section id="clones">'):]
    assert section.count('<div class="member" ') == 4  # two classes of two
    assert "Clone class 1: 2 functions, type-1, similarity &ge; 1.00" in section
    assert "Clone class 2: 2 functions, semantic, similarity &ge; 0.92" in section
    # total_price / order_value differ on every line but the for-loop's shape: "return total" vs "return value"
    assert '<div class="l diff" data-n="5">    <span class="k">return</span> total</div>' in section
    assert '<div class="l diff" data-n="16">    <span class="k">return</span> value</div>' in section
    # a type-1 pair has no differing line
    first = section[:section.index("Clone class 2")]
    assert 'class="l diff"' not in first


def test_everything_from_the_repository_is_escaped():
    evil_path = 'pkg/<script>alert("path")</script>.py'
    evil_name = '<img src=x onerror=alert(1)>\u202e'
    source = 'def f(x):\n    s = "</script><script>alert(2)</script>"\n    return x & s'
    bad = unit(evil_name, evil_path, 1, source)
    finding = Finding("CL300", "missing-docstring", evil_path, 1, 3, evil_name, f"{evil_name} has no docstring",
                      Severity.INFO, 1.0, bad.hash, fix='Say "<b>hi</b>" & bye')
    text = render(ScanReport(units=[bad], results={}, findings=[finding],
                             model=ModelInfo("<script>alert(3)</script>", "default", "", "", "none", "cpu",
                                             "float32")), "html")
    page = Page(text)
    # Only the page's own two scripts: the data block and the filters.
    assert [attrs.get("id") for attrs, _ in page.scripts] == ["codelens-data", None]
    assert not any(tag in ("img",) for tag, _ in page.tags)
    assert "<script>alert" not in text and "<img" not in text
    # Shown as text, exactly.
    shown = "".join(page.text)
    assert evil_path in shown and evil_name[:-1] + "\\u202e" in shown
    assert '"</script><script>alert(2)</script>"' in shown and '"""Say "<b>hi</b>" & bye"""' in shown
    # A right-to-left override is made visible rather than obeyed.
    assert '&lt;img src=x onerror=alert(1)&gt;<span class="ctl">\\u202e</span>' in text
    # The data block reads back to the raw strings.
    data = page.data()
    assert data["findings"][0]["path"] == evil_path and data["model"]["id"] == "<script>alert(3)</script>"


def test_content_security_policy_allows_only_the_page_script_and_no_network():
    text = render(build_report(), "html")
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    assert policy.startswith("default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-")
    assert "http" not in text.replace("http-equiv", "").replace(build_report().tool_uri, "")


def test_file_name_bytes_that_are_not_utf8_can_be_written():
    odd = unit("f", "pkg/caf\udce9.py", 1)
    finding = Finding("CL300", "missing-docstring", odd.path, 1, 5, "f", "f has no docstring", Severity.INFO, 1.0,
                      odd.hash)
    text = render(ScanReport(units=[odd], results={}, findings=[finding]), "html")
    text.encode("utf-8")
    assert "pkg/caf\\xe9.py" in text


def test_empty_report_says_so():
    page = Page(render(ScanReport(units=[], results={}, findings=[]), "html"))
    assert "No findings." in page.text and page.findings == []


def test_a_region_outside_the_function_is_not_drawn():
    u = unit("f", "pkg/a.py", 1)
    finding = Finding("CL100", "likely-defect", u.path, 1, 5, "f", "bug", Severity.HIGH, 0.9, u.hash,
                      region=Region(40, 1, 40, 3), replacement="x")
    page = render(ScanReport(units=[u], results={}, findings=[finding]), "html")
    assert "<mark>" not in page and 'class="l del"' not in page


def test_thousands_of_findings_keep_the_page_small():
    units = [unit(f"f{i}", f"pkg/m{i // 50}.py", 1 + (i % 50) * 10) for i in range(1200)]
    results = {u.hash: result(u, 0.9 if i % 7 == 0 else 0.1, vector(1, i % 13, i % 5), "does a thing",
                              bug=located(u, "limit", "items") if i % 7 == 0 else None) for i, u in enumerate(units)}
    clones = find_clones(units, results, THRESHOLDS.clone)
    findings = all_findings(units, results, thresholds=THRESHOLDS, clones=clones)
    text = render(ScanReport(units=units, results=results, findings=findings, clones=clones.pairs), "html")
    assert len(findings) > 2500 and len(clones.classes) > 20
    assert len(text) / len(findings) < 1500  # bytes per finding, code and the data block included


@pytest.mark.slow
def test_scan_writes_a_page_with_the_findings_of_the_json_report(tmp_path, capsys, tiny_llama, tiny_llama_adapter):
    from codelens.cli.main import main

    repo = tmp_path / "shop"
    shutil.copytree(EXAMPLE, repo)
    models = ["--model", str(tiny_llama), "--adapter", str(tiny_llama_adapter), "--fail-on", "never",
              "--defect-threshold", "0.0"]  # a random tiny model: every function is a CL100, with a region or not
    assert main(["scan", str(repo), *models, "--format", "json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    out = tmp_path / "report.html"
    assert main(["scan", str(repo), *models, "--format", "html", "-o", str(out)]) == 0
    page = Page(out.read_text(encoding="utf-8"))
    assert expected["findings"] and page.data()["findings"] == expected["findings"]
    # The page shows control characters of a (here random) summary as escapes: \x15, not the character.
    visible = lambda text: re.sub("[\x00-\x08\x0b-\x1f\x7f]", lambda m: repr(m.group())[1:-1], text)  # noqa: E731
    assert [(f["code"], f["path"], f["message"]) for f in page.findings] == [
        (f["code"], f["path"], visible(f["message"])) for f in expected["findings"]]
