"""Options and helpers shared by the commands that run a scan (`scan`, `baseline create`, `docstring`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

Opt = typer.Option

ModelOpt = Annotated[Optional[str], Opt(help="Base model: local folder or hub id. Default: the embedded codelens-nano.")]
AdapterOpt = Annotated[Optional[str], Opt(help="Adapter folder from `codelens train`. Default: the default model's adapter.")]
DeviceOpt = Annotated[Optional[str], Opt(help="auto, cpu, cuda or cuda:N.")]
QuantizeOpt = Annotated[Optional[str], Opt(help="none, int8 or nf4 (bitsandbytes).")]
DtypeOpt = Annotated[Optional[str], Opt(help="auto, float32, bfloat16 or float16.")]
TrustOpt = Annotated[Optional[bool], Opt("--trust-remote-code", help="Let a hub model run its own code.", show_default=False)]
NoCacheOpt = Annotated[bool, Opt("--no-cache", help="Recompute everything; do not read or write the cache.")]
NoConfigOpt = Annotated[bool, Opt("--no-config", help="Ignore [tool.codelens] / codelens.toml.")]
QuietOpt = Annotated[bool, Opt("--quiet", "-q", help="No progress bar and no warnings on stderr.")]
MinConfidenceOpt = Annotated[Optional[float], Opt(help="Drop findings less sure than this (0..1).")]
DefectThresholdOpt = Annotated[Optional[float], Opt(help="Override the adapter's defect threshold.")]
CloneThresholdOpt = Annotated[Optional[float], Opt(help="Override the adapter's clone similarity threshold.")]


def model_values(model, adapter, device, quantize, dtype, trust_remote_code, no_cache) -> dict[str, Any]:
    """The model-related ScanConfig values given on the command line (None = not given)."""
    return dict(model=model, adapter=adapter, device=device, quantize=quantize, dtype=dtype,
                trust_remote_code=trust_remote_code, cache=False if no_cache else None)


def scan_config(path: Path, cli: dict[str, Any], no_config: bool):
    """The ScanConfig for scanning ``path``: defaults < config file (unless ``no_config``) < ``cli``."""
    from codelens.config import resolve_config
    from codelens.errors import CodelensError

    if not path.exists():
        raise CodelensError(f"{path} does not exist", hint="pass a folder, a git repository or a file")
    return resolve_config(path, cli, use_file=not no_config)


def scan_with_progress(path: Path, config, quiet: bool, only: Optional[list[Path]] = None):
    """run_scan (of ``only`` those files, when given) with a progress bar on a terminal, then the warnings
    on stderr unless ``quiet``."""
    from codelens.cli.console import error_console, progress_bar
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
    if not quiet:
        for warning in outcome.warnings:
            error_console().print(f"[yellow]warning:[/] {warning}", highlight=False)
    return outcome


def say(message: str, quiet: bool = False) -> None:
    """A status line on stderr (results go to stdout)."""
    from codelens.cli.console import error_console

    if not quiet:
        error_console().print(message, highlight=False)
