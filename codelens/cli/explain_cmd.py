"""`codelens explain CODE`."""

from __future__ import annotations

from typing import Annotated

import typer


def explain(code: Annotated[str, typer.Argument(help="A rule code (CL100) or name (likely-defect).")]) -> None:
    """Explain a rule: what it does, why it matters, an example, what to do, known limits."""
    from codelens.rules import explain as explain_rule

    typer.echo(explain_rule(code))
