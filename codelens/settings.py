"""Where scan settings come from, and how far each source is trusted.

Precedence, lowest first: built-in defaults < the user's own config file < the scanned repository's
config (`[tool.codelens]` in the nearest pyproject.toml, or codelens.toml) < the command line.

The scanned repository is untrusted (CI scans pull requests; hooks run on every commit), so its config
may not run code, choose what is loaded from outside itself, or make codelens write outside it:

- ``trust-remote-code``, ``ray``, ``server`` and ``server-idle-minutes`` are honoured only from the
  command line or the user's config;
- ``model`` and ``adapter`` from the repository must name folders inside the repository (no hub ids),
  and an adapter it names without a model may only name a shipped base or one inside the repository;
- ``baseline`` and ``cache-dir`` from the repository resolve against the config file's folder and must
  stay inside the repository.

A setting that breaks these rules is dropped with a note (the scan shows it as a warning) and the scan
goes on with the default. The command line and the user's config may point anywhere. The user's config
is ``$CODELENS_CONFIG`` if set, else ``$XDG_CONFIG_HOME/codelens/config.toml`` (``~/.config/...``): a
``[tool.codelens]`` table or bare keys, as in codelens.toml.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path
from typing import Any

from codelens.choices import FailOn
from codelens.config import PathOverride, ScanConfig, setting_fields
from codelens.errors import ConfigError
from codelens.files import CONFIG_LIMIT, FileReadError, is_inside, read_text_bounded
from codelens.gitscope import git_top

CONFIG_FILES = ("codelens.toml", "pyproject.toml")
TRUSTED_ONLY = ("trust_remote_code", "ray", "server", "server_idle_minutes")
"""Settings that run code, send the repository's code to run elsewhere (a Ray cluster) or start a
process that outlives the scan (the background server): never taken from the scanned repository."""
REPOSITORY_PATHS = ("model", "adapter", "baseline", "cache_dir")
"""Settings naming files or folders: from the repository they must stay inside it."""
_OVERRIDE_KEYS = ("fail-on", "min-confidence", "select", "ignore", "disable")
"""Keys of a per-path table; ``disable`` is the older name of ``ignore``, still read."""


def _field_names() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in setting_fields()}


def user_config_path() -> Path:
    """The user's own config file (it may not exist)."""
    explicit = os.environ.get("CODELENS_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "codelens" / "config.toml"


def user_config() -> tuple[Path, dict] | None:
    """The user's own config file and its ``[tool.codelens]`` table, or None when there is none.

    ``CODELENS_CONFIG`` names it on purpose, so a missing file, or one that is not a regular file (a FIFO
    would block the read), is an error rather than silently no settings; ``CODELENS_CONFIG=/dev/null``
    means "no user config". The default path may simply not exist.
    """
    path = user_config_path()
    explicit = bool(os.environ.get("CODELENS_CONFIG"))
    if explicit and os.path.abspath(path) == os.devnull:
        return None
    if not explicit and not os.path.lexists(path):
        return None
    try:
        data = _read_toml(path)
    except ConfigError as exc:
        if explicit:
            exc.message = f"CODELENS_CONFIG: {exc.message}"
            exc.hint = "point CODELENS_CONFIG at your codelens config file (TOML), or unset it"
        raise
    return path, data.get("tool", {}).get("codelens", data)


def _read_toml(path: Path) -> dict:
    """A config file, read bounded and without blocking (``codelens.files.read_text_bounded``), as TOML."""
    import tomllib

    try:
        return tomllib.loads(read_text_bounded(path, CONFIG_LIMIT, "config file"))
    except FileReadError as exc:
        raise ConfigError(exc.message, hint=exc.hint) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} cannot be read: {exc}", hint="fix the TOML syntax") from exc


def find_config_file(start: Path) -> tuple[Path, dict] | None:
    """The nearest codelens.toml, or pyproject.toml with a [tool.codelens] table, at or above ``start``
    and not above the repository's top level."""
    here = start.resolve()
    if not here.is_dir():
        here = here.parent
    found = git_top(here)
    top = found[0] if found else None
    for folder in (here, *here.parents):
        for name in CONFIG_FILES:
            path = folder / name
            if not os.path.lexists(path):
                continue
            if top is not None and not is_inside(path, top):
                raise ConfigError(f"{path} leads outside the repository ({top}) through a symbolic link",
                                  hint="replace the link with the file, or scan with --no-config")
            data = _read_toml(path)  # a FIFO or device named like a config file is an error, not a hang
            if name == "codelens.toml":
                return path, data.get("tool", {}).get("codelens", data)
            table = data.get("tool", {}).get("codelens")
            if table is not None:
                return path, table
        if folder == top:
            break  # never read settings from outside the repository being scanned
    return None


def project_root(start: Path, config_file: Path | None = None) -> Path:
    """The git top level holding ``start``; else the config file's folder; else ``start``'s folder."""
    found = git_top(start.resolve())
    if found is not None:
        return found[0]
    if config_file is not None:
        return config_file.resolve().parent
    here = start.resolve()
    return here if here.is_dir() else here.parent


def _coerce(key: str, value: Any, f: dataclasses.Field, path: Path | str) -> Any:
    """Check a file value's type against the field's default, naming the key and file on error."""
    default = f.default
    expected: tuple[type, ...]
    if isinstance(default, bool):
        expected = (bool,)
    elif isinstance(default, int):
        expected = (int,)
    elif isinstance(default, float) or key in ("defect_threshold", "clone_threshold", "summary_threshold"):
        expected = (int, float)
    elif default is None and str(f.type).startswith("int"):
        expected = (int,)
    elif isinstance(default, tuple):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: {key.replace('_', '-')} must be a list of strings, got {value!r}")
        return tuple(value)
    else:
        expected = (str,)
    if value is None or isinstance(value, bool) and bool not in expected or not isinstance(value, expected):
        names = " or ".join(t.__name__ for t in expected)
        raise ConfigError(f"{path}: {key.replace('_', '-')} must be {names}, got {value!r}")
    return value


def settings_from_table(table: dict, path: Path | str) -> dict[str, Any]:
    """Validate a `[tool.codelens]` table into ScanConfig keyword arguments (kebab or snake case keys)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.codelens] must be a table of settings, got {table!r}")
    known = _field_names()
    out: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        if key == "all":
            key = "all_functions"
        if key == "per_path":
            out[key] = _per_path(value, path)
            continue
        if key not in known:
            allowed = ", ".join(sorted(k.replace("_", "-") for k in known))
            raise ConfigError(f"{path}: unknown setting '{raw_key}' in [tool.codelens]", hint=f"known settings: {allowed}")
        out[key] = _coerce(key, value, known[key], path)
    return out


def _per_path(value: Any, path: Path | str) -> tuple[PathOverride, ...]:
    """``[tool.codelens.per-path."GLOB"]`` tables, validated, in file order."""
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError(f"{path}: per-path must be tables of settings keyed by glob",
                          hint='write [tool.codelens.per-path."tests/**"] followed by fail-on = "never"')
    overrides = []
    for pattern, table in value.items():
        values: dict[str, Any] = {}
        for raw_key, item in table.items():
            where = f'{path}: per-path."{pattern}".{raw_key}'
            if raw_key.replace("_", "-") not in _OVERRIDE_KEYS:
                raise ConfigError(f"{path}: unknown setting '{raw_key}' in per-path.\"{pattern}\"",
                                  hint=f"per-path tables accept: {', '.join(_OVERRIDE_KEYS)}")
            key = raw_key.replace("-", "_")
            if key == "fail_on" and not isinstance(item, str):
                raise ConfigError(f"{where} must be str, got {item!r}",
                                  hint=f"use one of: {', '.join(member.value for member in FailOn)}")
            if key == "min_confidence" and (isinstance(item, bool) or not isinstance(item, (int, float))):
                raise ConfigError(f"{where} must be a number between 0 and 1, got {item!r}")
            if key in ("select", "ignore", "disable"):
                item = [item] if isinstance(item, str) else item
                if not isinstance(item, list) or not all(isinstance(v, str) for v in item):
                    raise ConfigError(f"{where} must be a list of rule codes, prefixes or names, got {item!r}")
                key = "ignore" if key == "disable" else key
                item = [*values.get(key, ()), *item]
            values[key] = item
        try:
            overrides.append(PathOverride(pattern, **values))
        except ConfigError as exc:
            exc.message = f"{path}: {exc.message}"
            raise
    return tuple(overrides)


def untrusted(values: dict[str, Any], config_file: Path, root: Path) -> tuple[dict[str, Any], list[str]]:
    """The repository's settings that may be honoured (paths made absolute), and a note per dropped one."""
    kept, notes = dict(values), []
    where = f"{config_file}"
    for key in TRUSTED_ONLY:
        if kept.pop(key, None):
            notes.append(f"{where}: {key.replace('_', '-')} ignored: settings that run code come only from the "
                         f"command line or your own config ({user_config_path()})")
    for key in REPOSITORY_PATHS:
        value = kept.get(key)
        if not value:
            continue
        target = Path(value).expanduser()
        target = target if target.is_absolute() else config_file.parent / target
        if key in ("model", "adapter") and not target.exists():
            kept.pop(key)
            notes.append(f"{where}: {key} = {value!r} ignored: the repository's config may name only a folder "
                         f"inside the repository ({root}); pass --{key} on the command line for anything else")
        elif not is_inside(target, root):
            kept.pop(key)
            notes.append(f"{where}: {key.replace('_', '-')} = {value!r} ignored: it leads outside the repository "
                         f"({root}); pass --{key.replace('_', '-')} on the command line to use it")
        elif any(part.casefold() == ".git" for part in target.resolve().parts):
            kept.pop(key)  # .git/hooks/pre-commit as a baseline would become a script git runs
            notes.append(f"{where}: {key.replace('_', '-')} = {value!r} ignored: codelens never uses a path inside "
                         f".git/; pass --{key.replace('_', '-')} on the command line to use another path")
        elif key in ("model", "adapter") and (problem := _unsafe_entry(target, root)):
            kept.pop(key)  # transformers and peft read every file of the folder with plain, blocking reads
            notes.append(f"{where}: {key} = {value!r} ignored: {problem}; pass --{key} on the command line to use it")
        else:
            kept[key] = str(target)
    if "adapter" in kept and "model" not in kept:
        base = _recorded_base(Path(kept["adapter"]))
        if base is not None and not _base_allowed(base, root):
            kept.pop("adapter")
            notes.append(f"{where}: adapter ignored: its codelens.json names the base {base!r}, outside the "
                         f"repository ({root}); pass --adapter (or a model inside the repository) to use it")
    return kept, notes


MAX_MODEL_ENTRIES = 10_000
"""Most files and folders looked at in a model or adapter folder the repository names (a real one has tens)."""


def _unsafe_entry(folder: Path, root: Path) -> str | None:
    """Why a model or adapter folder the repository names cannot be loaded safely, or None: a FIFO, socket or
    device in it (the loaders would block on it or read it for ever), or a link out of the repository."""
    if not folder.is_dir():
        return None  # a file: loading says what is wrong with it
    seen = 0
    for base, dirs, files in os.walk(folder):
        for name in dirs + files:
            seen += 1
            if seen > MAX_MODEL_ENTRIES:
                return f"it holds more than {MAX_MODEL_ENTRIES:,} files"
            path = Path(base) / name
            if path.is_symlink() and not is_inside(path, root):
                return f"{path} leads outside the repository ({root})"
            try:
                mode = path.stat().st_mode
            except OSError:
                continue  # a dangling link: nothing to read there
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                return f"{path} is not a regular file (a pipe, socket or device)"
    return None


def _recorded_base(adapter: Path) -> str | None:
    """The base an adapter folder's codelens.json names (loading would follow it), if it can be read."""
    try:
        base = json.loads(read_text_bounded(adapter / "codelens.json", CONFIG_LIMIT, "adapter metadata")).get("base_model")
    except (FileReadError, ValueError, AttributeError):
        return None  # loading reports the broken adapter before it loads any base
    return base if isinstance(base, str) else None


def _base_allowed(base: str, root: Path) -> bool:
    """A repository's adapter may name a shipped model, or a base folder inside the repository (absolute: a
    relative one would resolve against wherever codelens runs), not a hub id or a folder elsewhere."""
    from codelens.model.loading import DEFAULT_MODEL, SHIPPED_MODELS

    if base == DEFAULT_MODEL or base in SHIPPED_MODELS:
        return True
    path = Path(base).expanduser()
    return path.is_absolute() and is_inside(path, root)


def user_settings() -> dict[str, Any]:
    """The user's own config file (``user_config_path``) as validated ScanConfig keyword arguments; {} when
    there is none."""
    user = user_config()
    return settings_from_table(user[1], user[0]) if user is not None else {}


def repository_model(chosen: tuple[str, ...], values: dict[str, Any]) -> bool:
    """Whether the model a scan loads was chosen by the repository's config: it named the model, or it named
    the adapter and nobody else named a model (the adapter's codelens.json then names the base)."""
    return "model" in chosen or ("adapter" in chosen and not values.get("model"))


def resolve_config(start: Path, cli: dict[str, Any], use_file: bool = True) -> ScanConfig:
    """Defaults < the user's config < the repository's config nearest ``start`` < the CLI values given."""
    values: dict[str, Any] = {}
    repository: dict[str, Any] = {}
    notes: list[str] = []
    sources = []
    found = None
    if use_file:
        user = user_config()
        if user is not None:
            values.update(settings_from_table(user[1], user[0]))
            sources.append(str(user[0]))
        found = find_config_file(start)
    root = project_root(start, found[0] if found else None)
    if found is not None:
        path, table = found
        repository, notes = untrusted(settings_from_table(table, path), path, root)
        values.update(repository)
        sources.append(str(path))
    given = {k: v for k, v in cli.items() if v is not None}
    values.update(given)
    # Which values the repository chose: its model never runs in the user's background server.
    chosen = tuple(sorted(k for k in repository if k not in given))
    if values.get("trust_remote_code") and repository_model(chosen, values):
        # The user's trust is for their own model: a model (or an adapter's base) the repository names could
        # run the repository's own code (an auto_map module) under it.
        values["trust_remote_code"] = False
        notes.append(f"trust-remote-code not applied: the model comes from the repository's config "
                     f"({values.get('model') or values.get('adapter')}); trust applies to your own model only, "
                     "so pass --model (and --adapter) on the command line to trust it")
    source = " and ".join(sources) or "defaults"
    try:
        return ScanConfig(**values, source=source, root=str(root), notes=tuple(notes), repository_keys=chosen)
    except ConfigError as exc:
        if sources:
            exc.message = f"{exc.message} (settings from {source} and the command line)"
        raise
