"""Command-line options: built from a config dataclass, and the ones shared by the commands that scan.

A command declares which fields of a config dataclass it takes; each becomes an option whose type (Enum
choices, numbers, repeatable lists, flags), help text (the field's docstring) and shown default come from the
dataclass, so ``ScanConfig`` and ``TrainConfig`` stay the one source of their settings. Every option defaults
to None, meaning "not given": the config file or the dataclass default applies.

    @config_options(ScanConfig, SCAN_OPTIONS)
    def scan(path: ..., **settings): ...          # settings: {field name: value or None}

The commands that run a scan (`scan`, `baseline create`, `docstring`) take the field lists below
(``SCAN_OPTIONS``, ``MODEL_OPTIONS``, ``DECISION_OPTIONS``) and share ``scan_config`` and
``scan_with_progress``.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from rich.markup import escape

from codelens.field_docs import field_docs


@dataclass(frozen=True)
class Option:
    """How one dataclass field appears on a command line."""

    field: str
    """The dataclass field."""
    decls: tuple[str, ...] = ()
    """Option names; default ``--field-name``."""
    metavar: str | None = None
    help: str | None = None
    """Help text; default: the field's docstring."""
    default: Any = None
    """The default shown in --help when it differs from the dataclass's (None: the dataclass's)."""


def _base_type(annotation: Any) -> Any:
    """``X`` of ``X | None`` / ``Optional[X]``; list[str] for any tuple / list of strings."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = members[0] if len(members) == 1 else str
    if typing.get_origin(annotation) in (tuple, list):
        return list[str]
    return annotation


def _parameter(cls: type, option: Option, docs: dict[str, str], hints: dict[str, Any]) -> inspect.Parameter:
    f = next((f for f in dataclasses.fields(cls) if f.name == option.field), None)
    if f is None:
        raise ValueError(f"{cls.__name__} has no field {option.field!r}")
    kind = _base_type(hints[f.name])
    decls = option.decls or ("--" + f.name.replace("_", "-"),)
    default = option.default if option.default is not None else (
        f.default if f.default is not dataclasses.MISSING else None)
    show: bool | str = False
    if default is not None and kind is not bool and kind != list[str] and default != "":
        show = str(default.value if isinstance(default, enum.Enum) else default)
    # rich would read "[tool.codelens]" or "ignore[...]" in a help text as markup and drop it
    text = escape(option.help or docs.get(f.name, ""))
    info = typer.Option(*decls, help=text, metavar=option.metavar, show_default=show)
    return inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=Annotated[Optional[kind], info])


def config_options(cls: type, options: tuple[Option, ...]) -> Callable[[Callable], Callable]:
    """Give a command taking ``**settings`` one option per entry of ``options`` (see the module docstring)."""
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    extra = [_parameter(cls, option, docs, hints) for option in options]

    def decorate(command: Callable) -> Callable:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        clash = {p.name for p in own} & {p.name for p in extra}
        if clash:
            raise ValueError(f"{command.__name__} already has parameters {sorted(clash)}")
        command.__signature__ = signature.replace(parameters=own + extra)
        return command

    return decorate


def given(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings given on the command line (not None), lists as tuples."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items() if v is not None}


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
