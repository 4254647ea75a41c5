"""`codelens explain CODE`."""

from __future__ import annotations

from typing import Annotated

import typer


def explain(code: Annotated[str, typer.Argument(help="A rule code (CL100) or name (likely-defect).")]) -> None:
    """Explain a rule: what it does, why it matters, an example, what to do, known limits, what a finding
    means (severity, confidence, whether it blocks a commit) and how well the default model does it."""
    from dataclasses import asdict

    from codelens.errors import ModelError
    from codelens.model.adapter_meta import AdapterMetadata
    from codelens.model.loading import shipped_model_dir
    from codelens.rules import get_rule
    from codelens.rules.measured import measured_section

    from codelens.config import ScanConfig
    from codelens.rules import meaning_section

    rule = get_rule(code)
    # What a finding means (severity, confidence, blocking, the hook) comes from the one grading table.
    text = rule.doc.rstrip("\n") + "\n\n" + meaning_section(rule, ScanConfig().fail_on)
    try:
        folder = shipped_model_dir()
        meta = AdapterMetadata.load(folder / "adapter")
    except ModelError:
        meta = None  # no default installed, or unreadable: the documentation alone
    if meta is not None:
        section = measured_section(rule, meta.metrics, asdict(meta.thresholds), f"the default model ({folder.name})")
        if section:
            text = text.rstrip("\n") + "\n\n" + section
    typer.echo(text)
