"""`codelens docstring PATH`: a diff that adds the generated one-line docstrings; --write applies it."""

from __future__ import annotations

import codecs
import dataclasses
import os
import posixpath
import sys
from pathlib import Path
from typing import Annotated

import typer

from codelens.cli.console import say, warn
from codelens.cli.options import (MODEL_OPTIONS, NoCacheOpt, NoConfigOpt, Option, QuietOpt, config_options, scan_config,
                                  scan_with_progress)
from codelens.config import ScanConfig
from codelens.files import WriteRefused, write_guarded


def read_source(path: Path, language: str, limit: int) -> tuple[bytes, str, str] | None:
    """(byte-order mark or b"", text, encoding) as discovery decodes it; None when it cannot be read (or is
    no longer a regular file of at most ``limit`` bytes)."""
    from codelens.discovery import decode_source
    from codelens.files import FileReadError, read_bounded

    try:
        decoded = decode_source(read_bounded(path, limit, "source file"), language)
    except FileReadError:
        return None
    if decoded is None:
        return None
    text, encoding, bom = decoded
    return codecs.BOM_UTF8 if bom else b"", text, encoding


@config_options(ScanConfig, (*MODEL_OPTIONS, Option("summary_threshold")))
def docstring(
    path: Annotated[Path, typer.Argument(help="Folder, git repository or file.")] = Path("."),
    write: Annotated[bool, typer.Option("--write", help="Apply the change to the files instead of printing a diff.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Also replace existing docstrings / doc comments.")] = False,
    no_cache: NoCacheOpt = False,
    no_config: NoConfigOpt = False,
    quiet: QuietOpt = False,
    **settings,
) -> None:
    """Add the model's one-line docstrings where public functions lack one (diff, or --write).

    PEP 257 docstrings in Python, the language's doc comment elsewhere. Files stay byte-identical
    outside the inserted lines; an existing docstring is replaced only with --overwrite.
    """
    from codelens.docstrings import plan_docstrings, unified_diff, wants_docstring
    from codelens.errors import CodelensError
    from codelens.tasks import reports_on

    config = scan_config(path, settings, no_cache, no_config)
    config = dataclasses.replace(config, summaries="all" if overwrite else "missing", staged=False, diff_base=None,
                                 baseline=None)
    outcome = scan_with_progress(path, config, quiet)
    report = outcome.report
    by_file: dict[str, dict[tuple[str, int], str]] = {}
    languages: dict[str, str] = {}
    trained = report.model.languages if report.model else ()
    gate = report.model.thresholds.summary if report.model else None
    tests = ("summary",) if config.summary_tests else ()
    for unit in report.units:
        result = report.results.get(unit.hash)
        # The functions CL300 looks at: its rule selected for the file, test code only with summary-tests.
        if wants_docstring(unit, overwrite) and "CL300" in config.rules_for(unit.path) and \
                reports_on("summary", unit, tests):
            # The scan's gate took away what may not be shown (below the gate, a language the model was not
            # trained on, a template).
            summary = result.summary if result is not None else None
            by_file.setdefault(unit.path, {})[(unit.qualname, unit.start_line)] = summary or ""
            languages[unit.path] = unit.language
    if by_file and not any(any(s for s in wanted.values()) for wanted in by_file.values()):
        if trained and not set(languages.values()) & set(trained):
            raise CodelensError(f"the model was trained on {', '.join(trained)} only, so it suggests no docstrings "
                                f"for {', '.join(sorted(set(languages.values())))}",
                                hint="pass an adapter trained on code of that language (codelens train)")
        if report.stats.get("summaries_generated") or gate is not None and report.stats.get("cache_hits"):
            # Summaries were made (or come from the cache) but none is sure enough to be written.
            raise CodelensError(f"no summary passed the gate: {left_out(report.stats, gate) or 'none was sure enough'}",
                                hint="lower it with --summary-threshold (e.g. -100 shows every summary)")
        raise CodelensError("the model gave no summaries", hint="use an adapter trained with the summary task")
    folder = path if path.is_dir() else path.parent
    # Diffs name files from the project root (the git top level), where `git apply` runs, whatever folder
    # was scanned; a file is only ever written inside the scanned folder (links out of it are not followed).
    prefix = os.path.relpath(folder.resolve(), Path(config.root).resolve()) if config.root else "."
    diffs: list[bytes] = []
    written = count = 0
    for rel in sorted(by_file):
        file_path = folder / rel if path.is_dir() else path
        source = read_source(file_path, languages[rel], config.max_file_bytes)
        if source is None:
            warn(f"{rel}: cannot be read back; left unchanged", quiet)
            continue
        bom, text, encoding = source
        shown = rel if prefix == "." else posixpath.join(Path(prefix).as_posix(), rel)
        plan = plan_docstrings(shown, text, languages[rel], by_file[rel], overwrite)
        for qualname, reason in plan.skipped:
            if reason != "no usable summary" or not quiet:
                say(f"{rel}: {qualname}: skipped, {reason}", quiet)
        if not plan.changed:
            continue
        try:
            updated = bom + plan.updated.encode(encoding)
        except UnicodeEncodeError:
            warn(f"{rel}: a summary does not fit its {encoding} encoding; left unchanged", quiet)
            continue
        if write:
            try:
                # --write asks for the scanned files to be edited (force), but the guard still keeps the write
                # inside the scanned folder, off links and .git/, and off read-only files
                write_guarded(file_path, updated, root=folder, named_by_user=False, force=True, what="source file")
            except WriteRefused as exc:
                warn(f"{exc.message}; left unchanged", quiet)
                continue
            written += 1
        else:
            # In the file's own encoding (and with its byte-order mark), so that `git apply` matches its bytes.
            diffs.append(unified_diff(plan, first_line_prefix="\ufeff" if bom else "").encode(encoding))
        count += len(plan.inserted) + len(plan.replaced)
    dropped = left_out(report.stats, gate)
    if write:
        say(f"{count} docstring{'s' if count != 1 else ''} written in {written} file{'s' if written != 1 else ''}"
            + (f"; {dropped}" if dropped else ""), quiet)
    elif diffs:
        if dropped:
            say(dropped[0].upper() + dropped[1:], quiet)
        sys.stdout.flush()
        sys.stdout.buffer.write(b"".join(diffs))
        sys.stdout.buffer.flush()
    elif not quiet:
        say("no docstrings to add")


def left_out(stats: dict, gate: float | None) -> str | None:
    """How many generated summaries the scan kept back, and why, from its stats; None when none was."""
    from codelens.tasks.summary import TEMPLATE_REPEATS

    below, templates = stats.get("summaries_below_gate", 0), stats.get("summary_templates", 0)
    reasons = ([f"{below} below the confidence gate (summary-threshold {gate})"] if below else []) + (
        [f"{templates} template{'s' if templates != 1 else ''} (the same sentence for {TEMPLATE_REPEATS} or more "
         "functions)"] if templates else [])
    if not reasons:
        return None
    total = below + templates
    return f"{total} suggestion{'s' if total != 1 else ''} left out: {', '.join(reasons)}"
