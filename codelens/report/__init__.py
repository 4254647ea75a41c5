"""Reporters: one module per output format, each a ``render(ScanReport) -> str``."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from codelens.errors import ConfigError
from codelens.report.model import ReportOptions, ScanReport


@dataclass(frozen=True)
class _Renderer:
    """``module.function`` of this package, imported when first called: a scan imports only the reporter of
    its own format (the HTML one alone is a page of code)."""

    module: str
    function: str = "render"

    def __call__(self, report: ScanReport) -> str:
        return getattr(importlib.import_module(f"codelens.report.{self.module}"), self.function)(report)


REPORTERS: dict[str, _Renderer] = {
    "text": _Renderer("text"),
    "json": _Renderer("json"),
    "sarif": _Renderer("sarif"),
    "github": _Renderer("github"),
    "gitlab": _Renderer("gitlab"),
    "junit": _Renderer("junit"),
    "jsonl": _Renderer("jsonl"),
    "html": _Renderer("html"),
    "concise": _Renderer("text", "render_concise"),
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
