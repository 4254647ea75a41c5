"""Reporters: one module per output format, each a ``render(ScanReport) -> str``."""

from __future__ import annotations

from typing import Callable

from codelens.errors import ConfigError
from codelens.report import github, gitlab, html, jsonl, junit, sarif, text
from codelens.report import json as json_report
from codelens.report.model import ReportOptions, ScanReport

REPORTERS: dict[str, Callable[[ScanReport], str]] = {
    "text": text.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "github": github.render,
    "gitlab": gitlab.render,
    "junit": junit.render,
    "jsonl": jsonl.render,
    "html": html.render,
    "concise": text.render_concise,
}
"""Format name -> render function."""


def render(report: ScanReport, fmt: str) -> str:
    """Render ``report`` in format ``fmt`` (a key of ``REPORTERS``)."""
    try:
        renderer = REPORTERS[fmt]
    except KeyError:
        raise ConfigError(f"unknown report format {fmt!r}; known formats: {', '.join(REPORTERS)}",
                          hint="choose one of the known formats, e.g. --format sarif") from None
    return renderer(report)


__all__ = ["REPORTERS", "ReportOptions", "ScanReport", "render"]
