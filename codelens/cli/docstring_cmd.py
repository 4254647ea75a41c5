"""`codelens docstring PATH`: a diff that adds the generated one-line docstrings; --write applies it."""

from __future__ import annotations

import codecs
import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from codelens.cli.config_options import config_options
from codelens.cli.options import MODEL_OPTIONS, NoCacheOpt, NoConfigOpt, QuietOpt, say, scan_config, scan_with_progress
from codelens.config import ScanConfig


def read_source(path: Path, language: str) -> tuple[bytes, str, str] | None:
    """(byte-order mark or b"", text, encoding) as discovery decodes it; None when it cannot be read."""
    from codelens.discovery import decode_source

    try:
        decoded = decode_source(path.read_bytes(), language)
    except OSError:
        return None
    if decoded is None:
        return None
    text, encoding, bom = decoded
    return codecs.BOM_UTF8 if bom else b"", text, encoding


@config_options(ScanConfig, MODEL_OPTIONS)
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

    config = scan_config(path, settings, no_cache, no_config)
    config = dataclasses.replace(config, summaries="all" if overwrite else "missing", staged=False, diff_base=None,
                                 baseline=None)
    outcome = scan_with_progress(path, config, quiet)
    report = outcome.report
    by_file: dict[str, dict[tuple[str, int], str]] = {}
    languages: dict[str, str] = {}
    for unit in report.units:
        result = report.results.get(unit.hash)
        if wants_docstring(unit, overwrite):
            summary = result.summary if result is not None else None
            by_file.setdefault(unit.path, {})[(unit.qualname, unit.start_line)] = summary or ""
            languages[unit.path] = unit.language
    if by_file and not any(any(s for s in wanted.values()) for wanted in by_file.values()):
        raise CodelensError("the model gave no summaries", hint="use an adapter trained with the summary task")
    root = path if path.is_dir() else path.parent
    diffs, written, count = [], 0, 0
    for rel in sorted(by_file):
        file_path = root / rel if path.is_dir() else path
        source = read_source(file_path, languages[rel])
        if source is None:
            say(f"[yellow]warning:[/] {rel}: cannot be read back; left unchanged", quiet)
            continue
        bom, text, encoding = source
        plan = plan_docstrings(rel, text, languages[rel], by_file[rel], overwrite)
        for qualname, reason in plan.skipped:
            if reason != "no usable summary" or not quiet:
                say(f"{rel}: {qualname}: skipped, {reason}", quiet)
        if not plan.changed:
            continue
        if write:
            try:
                file_path.write_bytes(bom + plan.updated.encode(encoding))
            except UnicodeEncodeError:
                say(f"[yellow]warning:[/] {rel}: a summary does not fit its {encoding} encoding; left unchanged", quiet)
                continue
            except OSError as exc:
                raise CodelensError(f"cannot write {file_path}: {exc.strerror}", hint="check its permissions") from exc
            written += 1
        else:
            diffs.append(unified_diff(plan))
        count += len(plan.inserted) + len(plan.replaced)
    if write:
        say(f"{count} docstring{'s' if count != 1 else ''} written in {written} file{'s' if written != 1 else ''}", quiet)
    elif diffs:
        typer.echo("".join(diffs), nl=False)
    elif not quiet:
        say("no docstrings to add")
