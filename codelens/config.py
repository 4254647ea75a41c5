"""Scan settings: one dataclass, one source of defaults for the CLI and `[tool.codelens]`.

Precedence: built-in defaults < `[tool.codelens]` in the nearest pyproject.toml (or codelens.toml)
< command-line options. Adapter metadata supplies the thresholds unless a setting overrides them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from codelens.choices import Dtype, FailOn, Quantize, ReportFormat, SummaryMode, check_device, choice
from codelens.errors import ConfigError
from codelens.model.batching import DEFAULT_TOKEN_BUDGET

CONFIG_FILES = ("codelens.toml", "pyproject.toml")


@dataclass(frozen=True)
class PathOverride:
    """Settings for the files one glob matches: ``[tool.codelens.per-path."tests/**"]``.

    Globs are gitignore-style and relative to the scan root (``tests/**``, ``*_test.go``); when several
    match a file, later tables win key by key and ``disable`` lists add up.
    """

    pattern: str
    """Gitignore-style glob relative to the scan root."""
    fail_on: FailOn | None = None
    """fail-on for findings in these files (info, low, medium, high, never); None keeps the global one."""
    min_confidence: float | None = None
    """min-confidence for findings in these files (0..1); None keeps the global one."""
    disable: tuple[str, ...] = ()
    """Rule codes or names never reported in these files, e.g. ["CL300", "clone"]."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "disable", tuple(self.disable))
        if self.fail_on is not None:
            object.__setattr__(self, "fail_on", choice(FailOn, f'per-path."{self.pattern}".fail-on', self.fail_on))
        if self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f'per-path."{self.pattern}".min-confidence = {self.min_confidence} must be between 0 and 1')

    def matches(self, path: str) -> bool:
        """True when the glob matches ``path`` (relative to the scan root, forward slashes)."""
        return _glob(self.pattern).match_file(path)


@lru_cache(maxsize=256)
def _glob(pattern: str):
    from pathspec import GitIgnoreSpec

    return GitIgnoreSpec.from_lines([pattern])


@dataclass
class ScanConfig:
    """Everything `codelens scan` needs to know; every field can be set in `[tool.codelens]`."""

    model: str | None = None
    """Base model: a local folder or a Hugging Face hub id (default: the embedded codelens-nano)."""
    adapter: str | None = None
    """Adapter folder written by `codelens train` (default: the default model's own adapter)."""
    device: str = "auto"
    """auto, cpu, cuda or cuda:N."""
    quantize: Quantize = Quantize.NONE
    """Weight quantisation through bitsandbytes: none, int8 or nf4."""
    dtype: Dtype = Dtype.AUTO
    """Compute dtype: auto (bf16 where the hardware supports it), float32, bfloat16, float16."""
    trust_remote_code: bool = False
    """Allow a hub model's own Python code to run; off unless you trust the model's authors."""
    include: tuple[str, ...] = ()
    """Gitignore-style globs relative to the scan root; empty = every supported file."""
    exclude: tuple[str, ...] = ()
    """Gitignore-style globs to leave out, on top of the default excludes and .gitignore."""
    max_file_bytes: int = 1_000_000
    """Files larger than this are skipped with a warning (generated code, data dumps)."""
    format: ReportFormat = ReportFormat.TEXT
    """Output format: text, json, sarif, github, gitlab, junit or jsonl."""
    all_functions: bool = False
    """List every analysed function in the output, not only those with findings."""
    neighbours: int = 0
    """How many most-similar functions to list for each function (0 = none)."""
    summaries: SummaryMode = SummaryMode.MISSING
    """Which functions get a generated summary: missing (no docstring), all, none."""
    fail_on: FailOn = FailOn.LOW
    """Exit with 1 when a finding has at least this severity: info, low, medium, high, never."""
    min_confidence: float = 0.0
    """Drop findings whose confidence is below this (0..1)."""
    defect_threshold: float | None = None
    """Override the adapter's defect probability threshold (0..1)."""
    clone_threshold: float | None = None
    """Override the adapter's clone similarity threshold (-1..1)."""
    cache: bool = True
    """Reuse results of unchanged functions from the SQLite cache."""
    cache_dir: str | None = None
    """Cache folder (default: <scan root>/.codelens-cache)."""
    jobs: int = 0
    """Parser processes and model threads; 0 = chosen from the machine."""
    token_budget: int = DEFAULT_TOKEN_BUDGET
    """Most padded tokens in one model batch: bounds memory, trades against throughput."""
    staged: bool = False
    """Analyse only functions touched by staged changes (index vs HEAD)."""
    diff_base: str | None = None
    """Analyse only functions changed since this git revision (merge base with HEAD)."""
    baseline: str | None = None
    """A baseline file from `codelens baseline create`: findings recorded there are not reported."""
    ignore_suppressions: bool = False
    """Report findings even where a `codelens: ignore[...]` comment suppresses them (for audits)."""
    per_path: tuple[PathOverride, ...] = ()
    """Overrides of fail-on, min-confidence and disabled rules for files matching a glob (tests/**)."""
    source: str = field(default="defaults", compare=False)
    """Where the file-level settings came from (for `codelens config show`)."""

    def __post_init__(self) -> None:
        self.include = tuple(self.include)
        self.exclude = tuple(self.exclude)
        self.per_path = tuple(self.per_path)
        self.format = choice(ReportFormat, "format", self.format)
        self.summaries = choice(SummaryMode, "summaries", self.summaries)
        self.quantize = choice(Quantize, "quantize", self.quantize)
        self.dtype = choice(Dtype, "dtype", self.dtype)
        self.fail_on = choice(FailOn, "fail-on", self.fail_on)
        self.device = check_device("device", self.device)
        if self.neighbours < 0:
            raise ConfigError(f"neighbours = {self.neighbours} must be 0 or more")
        if self.max_file_bytes <= 0:
            raise ConfigError(f"max-file-bytes = {self.max_file_bytes} must be positive")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f"min-confidence = {self.min_confidence} must be between 0 and 1")
        if self.defect_threshold is not None and not 0.0 <= self.defect_threshold <= 1.0:
            raise ConfigError(f"defect-threshold = {self.defect_threshold} must be between 0 and 1")
        if self.clone_threshold is not None and not -1.0 <= self.clone_threshold <= 1.0:
            raise ConfigError(f"clone-threshold = {self.clone_threshold} must be between -1 and 1")
        if self.jobs < 0:
            raise ConfigError(f"jobs = {self.jobs} must be 0 (auto) or more")
        if self.token_budget < 64:
            raise ConfigError(f"token-budget = {self.token_budget} must be at least 64")

    def model_spec(self):
        """The ``codelens.model.loading.ModelSpec`` these settings ask for."""
        from codelens.model.loading import ModelSpec

        return ModelSpec(model=self.model, adapter=self.adapter, device=self.device, quantize=self.quantize,
                         dtype=self.dtype, trust_remote_code=self.trust_remote_code)

    def _matching(self, path: str) -> list[PathOverride]:
        return [o for o in self.per_path if o.matches(path)]

    def fail_on_for(self, path: str) -> FailOn:
        """fail-on for a finding in ``path``, per-path overrides applied."""
        values = [o.fail_on for o in self._matching(path) if o.fail_on is not None]
        return values[-1] if values else self.fail_on

    def reports(self, finding) -> bool:
        """False when a per-path override disables the finding's rule or wants more confidence."""
        matching = self._matching(finding.path)
        if not matching:
            return True
        disabled = {name.casefold() for o in matching for name in o.disable}
        if finding.code.casefold() in disabled or finding.rule.casefold() in disabled:
            return False
        floors = [o.min_confidence for o in matching if o.min_confidence is not None]
        return not floors or finding.confidence >= floors[-1]

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _field_names() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in fields(ScanConfig) if f.name != "source"}


def find_config_file(start: Path) -> tuple[Path, dict] | None:
    """The nearest codelens.toml, or pyproject.toml with a [tool.codelens] table, at or above ``start``."""
    import tomllib

    here = start.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        for name in CONFIG_FILES:
            path = folder / name
            if not path.is_file():
                continue
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"{path} cannot be read: {exc}", hint="fix the TOML syntax") from exc
            if name == "codelens.toml":
                return path, data.get("tool", {}).get("codelens", data)
            table = data.get("tool", {}).get("codelens")
            if table is not None:
                return path, table
        if (folder / ".git").exists():
            break  # never read settings from outside the repository being scanned
    return None


def _coerce(key: str, value: Any, f: dataclasses.Field, path: Path | str) -> Any:
    """Check a file value's type against the field's default, naming the key and file on error."""
    default = f.default
    expected: tuple[type, ...]
    if isinstance(default, bool):
        expected = (bool,)
    elif isinstance(default, int):
        expected = (int,)
    elif isinstance(default, float) or key in ("defect_threshold", "clone_threshold"):
        expected = (int, float)
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


_OVERRIDE_KEYS = ("fail-on", "min-confidence", "disable")


def _per_path(value: Any, path: Path | str) -> tuple[PathOverride, ...]:
    """``[tool.codelens.per-path."GLOB"]`` tables, validated, in file order."""
    from codelens.errors import CodelensError
    from codelens.rules import get_rule

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
            if key == "disable":
                item = [item] if isinstance(item, str) else item
                if not isinstance(item, list) or not all(isinstance(v, str) for v in item):
                    raise ConfigError(f"{where} must be a list of rule codes or names, got {item!r}")
                for name in item:
                    try:
                        get_rule(name)
                    except CodelensError as exc:
                        raise ConfigError(f"{where}: {exc.message}", hint=exc.hint) from None
            values[key] = item
        try:
            overrides.append(PathOverride(pattern, **values))
        except ConfigError as exc:
            exc.message = f"{path}: {exc.message}"
            raise
    return tuple(overrides)


def resolve_config(root: Path, cli: dict[str, Any], use_file: bool = True) -> ScanConfig:
    """Defaults, then the config file nearest ``root``, then the CLI values that were given (not None)."""
    values: dict[str, Any] = {}
    source = "defaults"
    if use_file:
        found = find_config_file(root)
        if found is not None:
            path, table = found
            values.update(settings_from_table(table, path))
            source = str(path)
            if values.get("baseline") and not Path(values["baseline"]).is_absolute():
                # a committed setting names a file of the repository, wherever codelens runs from
                values["baseline"] = str(path.parent / values["baseline"])
    values.update({k: v for k, v in cli.items() if v is not None})
    try:
        return ScanConfig(**values, source=source)
    except ConfigError as exc:
        if source != "defaults":
            exc.message = f"{exc.message} (settings from {source} and the command line)"
        raise

