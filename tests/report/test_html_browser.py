"""The HTML report in a real browser (headless Chromium from the system's packages): the filters hide and show
what they should, the view survives a reload, anchors land, nothing from the repository runs, and the page
logs no script error. Skipped where Chromium is not installed (README: apt-get install chromium chromium-driver).
"""

from __future__ import annotations

import pytest

from codelens.findings import Finding, Severity
from codelens.report import render
from codelens.report.model import ScanReport
from tests.report.browser import Browser, find_programs
from tests.report.scenario import build_report
from tests.tasks.factory import unit

PROGRAMS = find_programs()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(PROGRAMS is None, reason="Chromium is not installed: apt-get install chromium chromium-driver"),
]
ARROW_RIGHT = "\ue014"


@pytest.fixture(scope="module")
def browser():
    with Browser(*PROGRAMS, width=1280, height=1000) as session:
        yield session


def visible(browser: Browser, css: str) -> list[str]:
    """The data-code + path of each matching element the browser shows."""
    return browser.script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".filter(e => e.offsetParent !== null).map(e => e.dataset.code + ' ' + (e.dataset.path || e.dataset.paths))",
        css)


def shown(browser: Browser) -> tuple[int, list[str]]:
    return int(browser.script("return document.getElementById('shown-count').textContent")), visible(browser, ".finding")


def test_filters_work_and_the_view_survives_a_reload(browser, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render(build_report(), "html"), encoding="utf-8")
    browser.open(page.as_uri())
    assert browser.console() == []  # nothing logged: no script error, no blocked script
    assert shown(browser)[0] == 8 and len(visible(browser, ".clone-class")) == 2

    # Rule: CL100 only; the functions and clone classes without a CL100 disappear with their findings.
    browser.click(browser.find('#f-rule option[value="CL100"]'))
    assert shown(browser) == (2, ["CL100 pkg/config.py", "CL100 pkg/shop.py"])
    assert visible(browser, ".clone-class") == []
    assert len(visible(browser, ".unit")) == 2
    assert browser.url().endswith("#rule=CL100")
    browser.refresh()
    assert shown(browser)[0] == 2
    assert browser.script("return document.getElementById('f-rule').value") == "CL100"

    # Severity: clear low and info.
    browser.click(browser.find("#f-reset"))
    assert shown(browser)[0] == 8
    for severity in ("low", "info"):
        browser.click(browser.find(f'#filters input[value="{severity}"]'))
    assert shown(browser) == (2, ["CL100 pkg/config.py", "CL100 pkg/shop.py"])
    assert browser.url().endswith("#severity=high%2Cmedium")

    # Confidence: a click puts the slider in its middle (0.50), two steps right make it 0.60, which
    # hides the two semantic clones (confidence 0.5044).
    browser.click(browser.find("#f-reset"))
    slider = browser.find("#f-confidence")
    browser.click(slider)
    browser.type(slider, ARROW_RIGHT * 2)
    assert browser.script("return document.getElementById('f-confidence-value').textContent") == "0.60"
    count, items = shown(browser)
    assert count == 6 and "CL200 pkg/shop.py" not in items

    # Path: a part of a path, any case; a clone class stays while one of its members matches.
    browser.click(browser.find("#f-reset"))
    browser.type(browser.find("#f-path"), "SHOP")
    count, items = shown(browser)
    assert count == 4 and all(item.endswith("pkg/shop.py") for item in items)
    assert visible(browser, ".clone-class") == ['CL200 ["pkg/shop.py"]']
    browser.refresh()
    assert shown(browser)[0] == 4

    # A link to a summary cell sets the filters it names.
    browser.open(page.as_uri() + "#rule=CL200&severity=low")
    assert shown(browser)[0] == 4
    assert browser.console() == []
    browser.screenshot(tmp_path / "report.png")
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_anchor_lands_on_its_finding_even_from_a_filtered_view(browser, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render(build_report(), "html"), encoding="utf-8")
    browser.open(page.as_uri() + "#rule=CL100")
    anchor = browser.script("return document.querySelector('.finding[data-code=\"CL300\"]').id")
    browser.open(page.as_uri() + "#" + anchor)
    assert browser.displayed(browser.find(f"#{anchor}"))
    assert browser.script("return document.querySelector(':target').id") == anchor
    assert browser.console() == []
    browser.open(page.as_uri() + "#%E0%A4%A")  # a malformed link shows everything, and throws nothing
    assert shown(browser)[0] == 8 and browser.console() == []


def test_names_from_the_repository_do_not_run(browser, tmp_path):
    path, name = 'pkg/<script>alert("path")</script>.py', "<img src=x onerror=alert(1)>"
    bad = unit(name, path, 1, 'def f(x):\n    return "</script><script>alert(2)</script>"')
    finding = Finding("CL300", "missing-docstring", path, 1, 2, name, f"{name} has no docstring", Severity.INFO, 1.0,
                      bad.hash, fix="<b>Say hi</b>")
    page = tmp_path / "evil.html"
    page.write_text(render(ScanReport(units=[bad], results={}, findings=[finding]), "html"), encoding="utf-8")
    browser.open(page.as_uri())
    # An alert would have left a dialog open, which fails every later command.
    assert browser.script("return [document.scripts.length, document.images.length, "
                          "document.querySelectorAll('b').length]") == [2, 0, 0]
    assert name in browser.script("return document.querySelector('.qualname').textContent")
    assert browser.console() == []
