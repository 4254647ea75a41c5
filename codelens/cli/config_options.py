"""Command-line options built from a config dataclass: its fields' types, defaults and docstrings.

A command declares which fields it takes; each becomes an option whose type (Enum choices, numbers,
repeatable lists, flags), help text (the field's docstring) and shown default come from the dataclass, so
``ScanConfig`` and ``TrainConfig`` stay the one source of their settings. Every option defaults to
None, meaning "not given": the config file or the dataclass default applies.

    @config_options(ScanConfig, SCAN_OPTIONS)
    def scan(path: ..., **settings): ...          # settings: {field name: value or None}
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from dataclasses import dataclass
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
