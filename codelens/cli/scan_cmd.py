"""`codelens scan PATH`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from codelens.cli.options import (AdapterOpt, CloneThresholdOpt, DefectThresholdOpt, DeviceOpt, DtypeOpt,
                                  MinConfidenceOpt, ModelOpt, NoCacheOpt, NoConfigOpt, Opt, QuantizeOpt, QuietOpt,
                                  TrustOpt, model_values, scan_config, scan_with_progress)


def scan(
    path: Annotated[Path, typer.Argument(help="Folder, git repository or file to scan.")] = Path("."),
    files: Annotated[Optional[list[Path]], typer.Argument(help="Only these files (as pre-commit passes them); clone search still sees the cache.", show_default=False)] = None,
    model: ModelOpt = None,
    adapter: AdapterOpt = None,
    device: DeviceOpt = None,
    quantize: QuantizeOpt = None,
    dtype: DtypeOpt = None,
    trust_remote_code: TrustOpt = None,
    include: Annotated[Optional[list[str]], Opt(help="Glob of files to scan (repeatable).")] = None,
    exclude: Annotated[Optional[list[str]], Opt(help="Glob of files to leave out (repeatable).")] = None,
    max_file_bytes: Annotated[Optional[int], Opt(help="Skip files larger than this.")] = None,
    format: Annotated[Optional[str], Opt("--format", "-f", help="text, json, sarif, github, gitlab, junit or jsonl.")] = None,
    output: Annotated[Optional[Path], Opt("--output", "-o", help="Write the report here instead of stdout.")] = None,
    all_functions: Annotated[Optional[bool], Opt("--all", help="List every analysed function, not only those with findings.")] = None,
    neighbours: Annotated[Optional[int], Opt(help="List each function's K most similar functions.")] = None,
    summaries: Annotated[Optional[str], Opt(help="missing, all or none: which functions get a generated summary.")] = None,
    fail_on: Annotated[Optional[str], Opt(help="Exit 1 on findings of at least this severity: info, low, medium, high, never.")] = None,
    min_confidence: MinConfidenceOpt = None,
    defect_threshold: DefectThresholdOpt = None,
    clone_threshold: CloneThresholdOpt = None,
    no_cache: NoCacheOpt = False,
    cache_dir: Annotated[Optional[str], Opt(help="Cache folder (default: <root>/.codelens-cache).")] = None,
    jobs: Annotated[Optional[int], Opt("--jobs", "-j", help="Parser processes / model threads; 0 = auto.")] = None,
    token_budget: Annotated[Optional[int], Opt(help="Most padded tokens per model batch.")] = None,
    staged: Annotated[Optional[bool], Opt("--staged", help="Only functions touched by staged changes (the pre-commit case).", show_default=False)] = None,
    diff_base: Annotated[Optional[str], Opt("--diff-base", metavar="REF", help="Only functions changed since REF (its merge base with HEAD), uncommitted work included.")] = None,
    baseline: Annotated[Optional[str], Opt("--baseline", metavar="FILE", help="Do not report findings recorded in this file (`codelens baseline create`).")] = None,
    ignore_suppressions: Annotated[Optional[bool], Opt("--ignore-suppressions", help="Report findings that `codelens: ignore` comments hide (audits).", show_default=False)] = None,
    no_config: NoConfigOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Scan a repository: likely defects (CL100), clones (CL200), missing docstrings (CL300)."""
    from codelens.errors import CodelensError
    from codelens.report import render
    from codelens.scan import exit_code_for

    cli_values = model_values(model, adapter, device, quantize, dtype, trust_remote_code, no_cache)
    cli_values.update(
        include=include or None, exclude=exclude or None, max_file_bytes=max_file_bytes, format=format,
        all_functions=all_functions, neighbours=neighbours, summaries=summaries, fail_on=fail_on,
        min_confidence=min_confidence, defect_threshold=defect_threshold, clone_threshold=clone_threshold,
        cache_dir=cache_dir, jobs=jobs, token_budget=token_budget, staged=staged, diff_base=diff_base,
        baseline=baseline, ignore_suppressions=ignore_suppressions,
    )
    config = scan_config(path, cli_values, no_config)
    outcome = scan_with_progress(path, config, quiet, only=files)
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
