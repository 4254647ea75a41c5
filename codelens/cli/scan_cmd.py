"""`codelens scan PATH`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

Opt = typer.Option


def scan(
    path: Annotated[Path, typer.Argument(help="Folder, git repository or file to scan.")] = Path("."),
    files: Annotated[Optional[list[Path]], typer.Argument(help="Only these files (as pre-commit passes them); clone search still sees the cache.", show_default=False)] = None,
    model: Annotated[Optional[str], Opt(help="Base model: local folder or hub id. Default: the embedded codelens-nano.")] = None,
    adapter: Annotated[Optional[str], Opt(help="Adapter folder from `codelens train`. Default: the default model's adapter.")] = None,
    device: Annotated[Optional[str], Opt(help="auto, cpu, cuda or cuda:N.")] = None,
    quantize: Annotated[Optional[str], Opt(help="none, int8 or nf4 (bitsandbytes).")] = None,
    dtype: Annotated[Optional[str], Opt(help="auto, float32, bfloat16 or float16.")] = None,
    trust_remote_code: Annotated[Optional[bool], Opt("--trust-remote-code", help="Let a hub model run its own code.")] = None,
    include: Annotated[Optional[list[str]], Opt(help="Glob of files to scan (repeatable).")] = None,
    exclude: Annotated[Optional[list[str]], Opt(help="Glob of files to leave out (repeatable).")] = None,
    max_file_bytes: Annotated[Optional[int], Opt(help="Skip files larger than this.")] = None,
    format: Annotated[Optional[str], Opt("--format", "-f", help="text, json, sarif, github, gitlab, junit or jsonl.")] = None,
    output: Annotated[Optional[Path], Opt("--output", "-o", help="Write the report here instead of stdout.")] = None,
    all_functions: Annotated[Optional[bool], Opt("--all", help="List every analysed function, not only those with findings.")] = None,
    neighbours: Annotated[Optional[int], Opt(help="List each function's K most similar functions.")] = None,
    summaries: Annotated[Optional[str], Opt(help="missing, all or none: which functions get a generated summary.")] = None,
    fail_on: Annotated[Optional[str], Opt(help="Exit 1 on findings of at least this severity: info, low, medium, high, never.")] = None,
    min_confidence: Annotated[Optional[float], Opt(help="Drop findings less sure than this (0..1).")] = None,
    defect_threshold: Annotated[Optional[float], Opt(help="Override the adapter's defect threshold.")] = None,
    clone_threshold: Annotated[Optional[float], Opt(help="Override the adapter's clone similarity threshold.")] = None,
    no_cache: Annotated[bool, Opt("--no-cache", help="Recompute everything; do not read or write the cache.")] = False,
    cache_dir: Annotated[Optional[str], Opt(help="Cache folder (default: <root>/.codelens-cache).")] = None,
    jobs: Annotated[Optional[int], Opt("--jobs", "-j", help="Parser processes / model threads; 0 = auto.")] = None,
    token_budget: Annotated[Optional[int], Opt(help="Most padded tokens per model batch.")] = None,
    staged: Annotated[Optional[bool], Opt("--staged", help="Only functions touched by staged changes (the pre-commit case).", show_default=False)] = None,
    diff_base: Annotated[Optional[str], Opt("--diff-base", metavar="REF", help="Only functions changed since REF (its merge base with HEAD), uncommitted work included.")] = None,
    baseline: Annotated[Optional[str], Opt("--baseline", metavar="FILE", help="Do not report findings recorded in this file (`codelens baseline create`).")] = None,
    ignore_suppressions: Annotated[Optional[bool], Opt("--ignore-suppressions", help="Report findings that `codelens: ignore` comments hide (audits).", show_default=False)] = None,
    no_config: Annotated[bool, Opt("--no-config", help="Ignore [tool.codelens] / codelens.toml.")] = False,
    quiet: Annotated[bool, Opt("--quiet", "-q", help="No progress bar and no warnings on stderr.")] = False,
) -> None:
    """Scan a repository: likely defects (CL100), clones (CL200), missing docstrings (CL300)."""
    from codelens.cli.console import error_console, progress_bar
    from codelens.config import resolve_config
    from codelens.errors import CodelensError
    from codelens.report import render
    from codelens.scan import exit_code_for, run_scan

    if not path.exists():
        raise CodelensError(f"{path} does not exist", hint="pass a folder, a git repository or a file to scan")
    cli_values = dict(
        model=model, adapter=adapter, device=device, quantize=quantize, dtype=dtype,
        trust_remote_code=trust_remote_code, include=include or None, exclude=exclude or None,
        max_file_bytes=max_file_bytes, format=format, all_functions=all_functions, neighbours=neighbours,
        summaries=summaries, fail_on=fail_on, min_confidence=min_confidence, defect_threshold=defect_threshold,
        clone_threshold=clone_threshold, cache=False if no_cache else None, cache_dir=cache_dir, jobs=jobs,
        token_budget=token_budget, staged=staged, diff_base=diff_base, baseline=baseline,
        ignore_suppressions=ignore_suppressions,
    )
    config = resolve_config(path, cli_values, use_file=not no_config)

    bar = None if quiet else progress_bar(True)
    tasks: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if bar is None:
            return
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    if bar is not None:
        with bar:
            outcome = run_scan(path, config, only=files, progress=progress)
    else:
        outcome = run_scan(path, config, only=files)

    if not quiet:
        console = error_console()
        for warning in outcome.warnings:
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    text = render(outcome.report, config.format)
    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CodelensError(f"cannot write {output}: {exc.strerror}", hint="choose a writable --output path") from exc
    elif text:  # an empty jsonl / github report stays empty, not one blank line
        typer.echo(text, nl=not text.endswith("\n"))
    raise typer.Exit(exit_code_for(outcome, config))
