"""`codelens scan PATH`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from codelens.cli.options import (
    SCAN_OPTIONS,
    NoCacheOpt,
    NoConfigOpt,
    Opt,
    PathArg,
    QuietOpt,
    config_options,
    scan_config,
    scan_with_progress,
)
from codelens.config import ScanConfig


@config_options(ScanConfig, SCAN_OPTIONS)
def scan(
    path: PathArg = Path("."),
    files: Annotated[Optional[list[Path]], typer.Argument(help="Only these files (as pre-commit passes them); clone search still sees the cache.", show_default=False)] = None,
    output: Annotated[Optional[Path], Opt("--output", "-o", help="Write the report here instead of stdout.")] = None,
    force: Annotated[bool, Opt("--force", help="Let --output replace an existing file codelens did not write.")] = False,
    no_cache: NoCacheOpt = False,
    no_config: NoConfigOpt = False,
    quiet: QuietOpt = False,
    **settings,
) -> None:
    """Scan a repository: likely defects (CL100), clones (CL200), missing docstrings (CL300)."""
    from codelens.files import check_output, write_output
    from codelens.report import render
    from codelens.report.statistics import render_statistics
    from codelens.scan import exit_code_for

    config = scan_config(path, settings, no_cache, no_config)
    if output is not None:  # the write guard's answer before the scan, not after it
        check_output(output, root=config.root, force=force)
    outcome = scan_with_progress(path, config, quiet, only=files)
    text = render_statistics(outcome.report, config.format) if config.statistics else render(outcome.report, config.format)
    if output is not None:
        write_output(output, text, root=config.root, force=force)
    elif text:  # an empty jsonl / github report stays empty, not one blank line
        typer.echo(text, nl=not text.endswith("\n"))
    raise typer.Exit(exit_code_for(outcome, config))
