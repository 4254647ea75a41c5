"""`codelens config show`: the settings a scan of PATH would use, as TOML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Inspect codelens settings.", no_args_is_help=True)


@app.command("show")
def show(
    path: Annotated[Path, typer.Argument(help="The folder or file a scan would get.")] = Path("."),
) -> None:
    """Print the settings a scan of PATH would use, as TOML.

    Built-in defaults, then [tool.codelens] from the nearest pyproject.toml or codelens.toml; the
    output can be pasted into pyproject.toml.
    """
    typer.echo(render_settings(path), nl=False)


def toml_value(value: Any) -> str:
    """A value in TOML syntax (strings as JSON strings, which TOML reads the same)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def render_settings(path: Path) -> str:
    """The settings as a commented ``[tool.codelens]`` TOML document."""
    from codelens.config import setting_fields
    from codelens.errors import CodelensError
    from codelens.escapes import escape_controls
    from codelens.settings import (find_config_file, resolve_config, settings_from_table, untrusted, user_config_path,
                                   user_config)

    if not path.exists():  # a mistyped path would otherwise show the settings of whatever folder holds it
        raise CodelensError(f"{path} does not exist", hint="pass the folder or file you would scan")
    config = resolve_config(path, {})
    found = find_config_file(path)
    from_file = set(untrusted(settings_from_table(found[1], found[0]), found[0], Path(config.root))[0]) if found else set()
    lines = [f"# codelens settings for {path.resolve()}"]
    if config.source != "defaults":
        lines.append(f"# from {config.source} (keys marked 'from file'); the rest are built-in defaults")
    else:
        lines.append("# no codelens.toml or [tool.codelens] in a pyproject.toml found: built-in defaults")
    lines.append(f"# your own settings, trusted (the repository's are not): {user_config_path()}")
    lines.append("# command-line options override these per run")
    lines += [f"# {escape_controls(note)}" for note in config.notes]  # a note quotes the repository's values
    lines.append("[tool.codelens]")
    user = user_config()
    if user is not None and str(user[0]) in config.source:
        from_file |= set(settings_from_table(user[1], user[0]))
    for f in setting_fields():
        if f.name == "per_path":
            continue
        key = "all" if f.name == "all_functions" else f.name.replace("_", "-")
        value = getattr(config, f.name)
        mark = "  # from file" if f.name in from_file else ""
        lines.append(f"# {key} is not set{mark}" if value is None else f"{key} = {toml_value(value)}{mark}")
    for override in config.per_path:
        lines.append("")
        lines.append(f"[tool.codelens.per-path.{toml_value(override.pattern)}]")
        if override.fail_on is not None:
            lines.append(f"fail-on = {toml_value(override.fail_on)}")
        if override.min_confidence is not None:
            lines.append(f"min-confidence = {toml_value(override.min_confidence)}")
        for name in ("select", "ignore"):
            if getattr(override, name):
                lines.append(f"{name} = {toml_value(getattr(override, name))}")
    return "\n".join(lines) + "\n"
