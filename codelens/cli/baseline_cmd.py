"""`codelens baseline create`: record today's findings so later scans report only new ones."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Optional

import typer

from codelens.cli.console import say
from codelens.cli.options import (
    DECISION_OPTIONS,
    MODEL_OPTIONS,
    NoCacheOpt,
    NoConfigOpt,
    PathArg,
    QuietOpt,
    config_options,
    scan_config,
    scan_with_progress,
)
from codelens.config import ScanConfig
from codelens.files import check_write

DEFAULT_NAME = "codelens-baseline.json"

app = typer.Typer(help="Accept the current findings so scans report only new ones.", no_args_is_help=True)


@app.command("create")
@config_options(ScanConfig, MODEL_OPTIONS + DECISION_OPTIONS)
def create(
    path: PathArg = Path("."),
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help=f"Where to write it (default: the `baseline` setting, else {DEFAULT_NAME} in PATH).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file that is not a codelens baseline.")] = False,
    no_cache: NoCacheOpt = False,
    no_config: NoConfigOpt = False,
    quiet: QuietOpt = False,
    **settings,
) -> None:
    """Scan everything and record the findings in a baseline file.

    `codelens scan --baseline FILE` then reports only findings that are not in it. Entries are keyed
    by rule, function name and body hash: code that moves stays baselined, edited code is new again.
    """
    from codelens import __version__
    from codelens.baseline import create_baseline, is_baseline, save_baseline

    config = scan_config(path, settings, no_cache, no_config)
    folder = path if path.is_dir() else path.parent
    target = output or (Path(config.baseline) if config.baseline else folder / DEFAULT_NAME)
    # --output and the user's config may point anywhere; the repository's `baseline` setting was checked to
    # stay inside it (codelens.settings), and the default lies in the scanned folder. The write guard checks
    # again (no link, nothing in .git/, no file that is not a baseline unless --force), before the scan.
    named = output is not None or config.baseline is not None
    check_write(target, root=config.root, named_by_user=named, force=force, ours=is_baseline)
    # a baseline holds every current finding: no older baseline, no git scope. Summaries are generated as a
    # scan would, though the baseline does not store them: the next scan then finds them in the cache.
    config = dataclasses.replace(config, baseline=None, staged=False, diff_base=None)
    outcome = scan_with_progress(path, config, quiet)
    findings = outcome.report.findings
    save_baseline(create_baseline(findings, __version__), target, root=config.root, named_by_user=named, force=force)
    say(f"baseline of {len(findings)} finding{'s' if len(findings) != 1 else ''} written to {target}; "
        f"scan with --baseline {target} to report only new ones", quiet)
