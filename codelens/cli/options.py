"""Options and helpers shared by the commands that run a scan (`scan`, `baseline create`, `docstring`).

Their settings options are built from ``ScanConfig`` (see ``config_options``): the lists below say which
fields each command takes and under which names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape

from codelens.cli.config_options import Option, given

Opt = typer.Option

MODEL_OPTIONS = (
    Option("model"), Option("adapter"), Option("device"), Option("quantize"), Option("dtype"),
    Option("trust_remote_code", ("--trust-remote-code",)),
)
"""What model runs, and how: every command that scans takes these."""
DECISION_OPTIONS = (Option("select", metavar="RULE"), Option("ignore", metavar="RULE"), Option("min_confidence"),
                    Option("defect_threshold"), Option("clone_threshold"), Option("summary_threshold"),
                    Option("defect_tests", ("--defect-tests",)), Option("clone_tests", ("--clone-tests",)),
                    Option("summary_tests", ("--summary-tests",)), Option("clone_min_lines"),
                    Option("clone_min_tokens"))
"""What counts as a finding."""
SCAN_OPTIONS = (
    *MODEL_OPTIONS,
    Option("include", metavar="GLOB"), Option("exclude", metavar="GLOB"), Option("max_file_bytes"),
    Option("format", ("--format", "-f")), Option("all_functions", ("--all",)), Option("neighbours", metavar="K"),
    Option("statistics", ("--statistics",)), Option("blocking_only", ("--blocking-only",)),
    Option("summaries"), Option("fail_on"), *DECISION_OPTIONS, Option("cache_dir", metavar="DIR"),
    Option("jobs", ("--jobs", "-j")), Option("token_budget"), Option("staged", ("--staged",)),
    Option("diff_base", ("--diff-base",), metavar="REF"), Option("baseline", ("--baseline",), metavar="FILE"),
    Option("ignore_suppressions", ("--ignore-suppressions",)), Option("ray", metavar="ADDRESS"),
    Option("server"), Option("server_idle_minutes", metavar="MINUTES"),
)
"""Everything `codelens scan` can set."""

NoCacheOpt = Annotated[bool, Opt("--no-cache", help="Recompute everything; do not read or write the cache.")]
NoConfigOpt = Annotated[bool, Opt("--no-config", help=escape("Ignore [tool.codelens] / codelens.toml, yours and the repository's."))]
QuietOpt = Annotated[bool, Opt("--quiet", "-q", help="No progress bar and no warnings on stderr.")]
PathArg = Annotated[Path, typer.Argument(help="Folder, git repository or file to scan.")]


def scan_config(path: Path, settings: dict[str, Any], no_cache: bool, no_config: bool):
    """The ScanConfig for scanning ``path``: defaults < config file (unless ``no_config``) < the options given."""
    from codelens.errors import CodelensError
    from codelens.settings import resolve_config

    if not path.exists():
        raise CodelensError(f"{path} does not exist", hint="pass a folder, a git repository or a file")
    cli = given(settings)
    if no_cache:
        cli["cache"] = False
    return resolve_config(path, cli, use_file=not no_config)


def scan_with_progress(path: Path, config, quiet: bool, only: Optional[list[Path]] = None):
    """run_scan (of ``only`` those files, when given) with a progress bar on a terminal, then the warnings
    on stderr unless ``quiet``."""
    from codelens.cli.console import progress_bar, warn
    from codelens.scan import run_scan

    bar = None if quiet else progress_bar(True)
    tasks: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    if bar is not None:
        with bar:
            outcome = run_scan(path, config, only=only, progress=progress)
    else:
        outcome = run_scan(path, config, only=only)
    for warning in outcome.warnings:
        warn(warning, quiet)
    return outcome
