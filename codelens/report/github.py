"""GitHub Actions workflow commands: one annotation per finding, shown on the pull request's diff.

Each line is ``::LEVEL file=PATH,line=N,endLine=M,title=CODE rule::MESSAGE``. GitHub reads the text
after ``::`` as data and the ``key=value`` list as properties, so both are escaped the way the Actions
toolkit escapes them: in data ``%`` -> ``%25``, CR -> ``%0D``, LF -> ``%0A``; properties also escape
``:`` -> ``%3A`` and ``,`` -> ``%2C`` (a path with a comma would otherwise end the property early).
Paths are relative to the scan root: scan from the repository root so they match the checkout.
"""

from __future__ import annotations

from codelens.escapes import escape_controls
from codelens.findings import Finding, Severity, finding_order
from codelens.report.model import ScanReport, printable

LEVELS = {Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "warning", Severity.INFO: "notice"}
"""Workflow command for each severity."""


def escape_data(text: str) -> str:
    """Escape the message part of a workflow command. The other control and bidi characters from the
    repository (a file name's ESC, a direction override) are shown escaped too (``codelens.escapes``): the
    runner prints the command to the job log, and a raw one would drive whatever terminal shows it."""
    return escape_controls(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    """Escape a property value (file, title) of a workflow command."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: ScanReport) -> str:
    """One workflow command per finding in report order; empty when there is nothing to report."""
    return printable("".join(annotation(f) + "\n" for f in sorted(report.findings, key=finding_order)))


def annotation(finding: Finding) -> str:
    """The workflow command for one finding."""
    start = max(1, finding.start_line)
    region = finding.region
    if region is None:
        properties = [("file", finding.path), ("line", str(start)), ("endLine", str(max(start, finding.end_line)))]
    else:  # the exact token: GitHub underlines columns within one line
        properties = [("file", finding.path), ("line", str(region.start_line)), ("endLine", str(region.end_line)),
                      ("col", str(region.start_column)), ("endColumn", str(region.end_column))]
    properties.append(("title", f"{finding.code} {finding.rule}"))
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    message = f"{finding.message} [{finding.severity.value}, confidence {finding.confidence:.2f}]"
    return f"::{LEVELS[finding.severity]} {props}::{escape_data(message)}"
