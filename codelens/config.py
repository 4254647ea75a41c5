"""Scan settings: one dataclass, one source of defaults for the CLI and `[tool.codelens]`.

Where values come from, and how far each source is trusted, is ``codelens.settings``. Adapter metadata
supplies the thresholds unless a setting overrides them.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any

from codelens.choices import FailOn, ReportFormat, ServerMode, SummaryMode, choice
from codelens.core import Thresholds
from codelens.errors import ConfigError
from codelens.model.forward import DEFAULT_TOKEN_BUDGET
from codelens.model.options import ModelOptions, ModelSpec

MAX_FILE_BYTES = 1 << 30
"""Largest --max-file-bytes: tree-sitter offsets are 32-bit, and no source file a person wrote comes near."""
MAX_JOBS = 256
"""Most parser processes and model threads: more cannot help on any machine, and a huge count makes
OpenMP abort the process."""


@dataclass(frozen=True)
class PathOverride:
    """Settings for the files one glob matches: ``[tool.codelens.per-path."tests/**"]``.

    Globs are gitignore-style and relative to the scan root (``tests/**``, ``*_test.go``); when several
    match a file, later tables win key by key, and their ``select`` / ``ignore`` apply in turn on top of
    the top-level selection (``codelens.rules.selected_rules``).
    """

    pattern: str
    """Gitignore-style glob relative to the scan root."""
    fail_on: FailOn | None = None
    """fail-on for findings in these files (info, low, medium, high, never); None keeps the global one."""
    min_confidence: float | None = None
    """min-confidence for findings in these files (0..1); None keeps the global one."""
    select: tuple[str, ...] = ()
    """Rules reported in these files instead of the top-level selection: codes, prefixes or names (["CL2"]);
    empty: the selection stands."""
    ignore: tuple[str, ...] = ()
    """Rules not reported in these files: codes, prefixes or names, e.g. ["CL300", "clone"]."""

    def __post_init__(self) -> None:
        from codelens.rules import check_selectors

        for name in ("select", "ignore"):
            object.__setattr__(self, name, check_selectors(getattr(self, name), f'per-path."{self.pattern}".{name}'))
        if self.fail_on is not None:
            object.__setattr__(self, "fail_on", choice(FailOn, f'per-path."{self.pattern}".fail-on', self.fail_on))
        if self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f'per-path."{self.pattern}".min-confidence = {self.min_confidence} must be between 0 and 1')
        check_glob(self.pattern, "per-path")

    def matches(self, path: str) -> bool:
        """True when the glob matches ``path`` (relative to the scan root, forward slashes)."""
        return _glob(self.pattern).match_file(path)


@lru_cache(maxsize=256)
def _glob(pattern: str):
    from pathspec import GitIgnoreSpec

    return GitIgnoreSpec.from_lines([pattern])


def check_glob(pattern: str, setting: str) -> None:
    """A ConfigError naming ``pattern`` when it is not a gitignore-style glob pathspec can read (one ending in
    a lone backslash escapes nothing): from the command line or a config file, a clear error, not a crash."""
    try:
        _glob(pattern)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{setting} glob {pattern!r} is not a valid pattern ({exc})",
                          hint="a backslash escapes the next character: drop a trailing one, or write \\\\ for a "
                               "literal backslash") from None


@dataclass
class ScanConfig(ModelOptions):
    """Everything `codelens scan` needs to know; every field can be set in `[tool.codelens]`. The model settings
    (model, device, quantize, dtype, trust-remote-code) are ``ModelOptions``'."""

    adapter: str | None = None
    """Adapter folder written by `codelens train` (default: the default model's own adapter)."""
    include: tuple[str, ...] = ()
    """Gitignore-style globs relative to the scan root; empty = every supported file."""
    exclude: tuple[str, ...] = ()
    """Gitignore-style globs to leave out, on top of the default excludes and .gitignore."""
    max_file_bytes: int = 1_000_000
    """Files larger than this are skipped with a warning (generated code, data dumps)."""
    format: ReportFormat = ReportFormat.TEXT
    """Output format: text (findings with their source lines), concise (one line per finding), json, sarif,
    github, gitlab, junit, jsonl or html."""
    all_functions: bool = False
    """List every analysed function in the output, not only those with findings."""
    statistics: bool = False
    """Print the number of findings per rule (text, or JSON with --format json) instead of the findings."""
    blocking_only: bool = False
    """Show only the findings that block (reach fail-on) in full, and the others as one line of counts:
    what a pre-commit hook prints."""
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
    summary_threshold: float | None = None
    """Override the adapter's summary confidence gate: the mean token log-probability (<= 0) from which a
    generated summary is suggested; a very low value (-100) shows every summary."""
    select: tuple[str, ...] = ()
    """Rules to report: codes, code prefixes or names (CL100, CL1, CL, likely-defect), as in ruff; empty:
    every rule. A rule no file reports costs no model time (no summaries without CL300)."""
    ignore: tuple[str, ...] = ()
    """Rules not to report (codes, prefixes or names); the most specific of select and ignore decides."""
    defect_tests: bool = False
    """Report likely defects (CL100) in test code too (tests/, test_*.py, *_test.go, *.spec.ts, src/test/,
    ...); off: test functions are not rated."""
    summary_tests: bool = False
    """Ask for docstrings (CL300) in test code too; off: test functions get no summary."""
    clone_tests: bool = False
    """Report clones in test code too (tests/, test_*.py, *_test.go, *.spec.ts, src/test/, ...); off: test
    functions take no part in clone search."""
    clone_min_lines: int = 3
    """Functions with fewer non-blank lines (docstring aside) take part in no clone pair."""
    clone_min_tokens: int | None = None
    """Functions with fewer tokens take part in no clone pair; default: 16 for exact copies, 25 for renamed
    and semantic clones."""
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
    """Overrides of fail-on, min-confidence and rule selection for files matching a glob (tests/**)."""
    ray: str | None = None
    """Run the model on a Ray cluster: auto (the one this machine joined with `ray start`), HOST:PORT or
    ray://HOST:PORT. Needs the ray extra (pip install 'codelens[ray]'); never from the repository's config."""
    server: ServerMode = ServerMode.AUTO
    """Run the model in your background server (`codelens server`), which keeps it loaded between scans:
    auto (use one that runs; in a git hook, start one on first use), on (start one wherever a scan needs
    it), off (in this process). Only for models your own settings name; never from the repository's config."""
    server_idle_minutes: float = 30.0
    """Minutes without a request after which a background server this scan starts exits."""
    source: str = field(default="defaults", compare=False, metadata={"internal": True})
    """Where the file-level settings came from (for `codelens config show`)."""
    root: str | None = field(default=None, compare=False, metadata={"internal": True})
    """The project root: the git top level, else the config file's folder, else the scanned folder. The
    cache lives under it and paths set by the repository's own config must stay inside it."""
    notes: tuple[str, ...] = field(default=(), compare=False, metadata={"internal": True})
    """Settings of the repository's config that were not honoured, and why (shown as warnings)."""
    repository_keys: tuple[str, ...] = field(default=(), compare=False, metadata={"internal": True})
    """Settings whose value the scanned repository's config chose: a model it names runs in the scan's own
    process, never in the user's background server."""

    def __post_init__(self) -> None:
        self.include = tuple(self.include)
        self.exclude = tuple(self.exclude)
        self.per_path = tuple(self.per_path)
        self.check_model_options()
        self.format = choice(ReportFormat, "format", self.format)
        self.summaries = choice(SummaryMode, "summaries", self.summaries)
        self.fail_on = choice(FailOn, "fail-on", self.fail_on)
        self.server = choice(ServerMode, "server", self.server)
        if not self.server_idle_minutes > 0:
            raise ConfigError(f"server-idle-minutes = {self.server_idle_minutes} must be more than 0")
        from codelens.rules import check_selectors

        self.select = check_selectors(self.select, "select")
        self.ignore = check_selectors(self.ignore, "ignore")
        if self.clone_min_lines < 1:
            raise ConfigError(f"clone-min-lines = {self.clone_min_lines} must be at least 1")
        if self.clone_min_tokens is not None and self.clone_min_tokens < 1:
            raise ConfigError(f"clone-min-tokens = {self.clone_min_tokens} must be at least 1")
        if self.statistics and self.format not in (ReportFormat.TEXT, ReportFormat.JSON):
            raise ConfigError(f"statistics are printed as text or json, not {self.format}",
                              hint="pass --format text or --format json with --statistics")
        if self.neighbours < 0:
            raise ConfigError(f"neighbours = {self.neighbours} must be 0 or more")
        if not 0 < self.max_file_bytes <= MAX_FILE_BYTES:
            raise ConfigError(f"max-file-bytes = {self.max_file_bytes} must be between 1 and {MAX_FILE_BYTES} (1 GiB)",
                              hint="the default, 1000000, skips only files no person wrote")
        for name in ("include", "exclude"):
            for pattern in getattr(self, name):
                check_glob(pattern, name)
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f"min-confidence = {self.min_confidence} must be between 0 and 1")
        if self.defect_threshold is not None and not 0.0 <= self.defect_threshold <= 1.0:
            raise ConfigError(f"defect-threshold = {self.defect_threshold} must be between 0 and 1")
        if self.clone_threshold is not None and not -1.0 <= self.clone_threshold <= 1.0:
            raise ConfigError(f"clone-threshold = {self.clone_threshold} must be between -1 and 1")
        if self.summary_threshold is not None and not self.summary_threshold <= 0.0:
            raise ConfigError(f"summary-threshold = {self.summary_threshold} must be at most 0 (a mean log-probability)")
        if not 0 <= self.jobs <= MAX_JOBS:
            raise ConfigError(f"jobs = {self.jobs} must be between 0 (auto) and {MAX_JOBS}",
                              hint="leave it at 0: one per CPU core")
        if self.token_budget < 64:
            raise ConfigError(f"token-budget = {self.token_budget} must be at least 64")
        if self.ray is not None and not _is_ray_address(self.ray):
            raise ConfigError(f"ray = {self.ray!r} is not a Ray cluster address",
                              hint="use --ray auto (the cluster this machine joined), --ray HOST:PORT or "
                                   "--ray ray://HOST:PORT")

    def model_spec(self) -> ModelSpec:
        """The ``ModelSpec`` these settings ask for."""
        return ModelSpec.of(self, self.adapter)

    def thresholds(self, adapter: Thresholds) -> Thresholds:
        """The adapter's decision points with these settings' overrides (defect-, clone-, summary-threshold);
        every other field as the adapter has it."""
        overrides = {name: value for name, value in (("defect", self.defect_threshold), ("clone", self.clone_threshold),
                                                     ("summary", self.summary_threshold)) if value is not None}
        return dataclasses.replace(adapter, **overrides)

    def _matching(self, path: str) -> list[PathOverride]:
        return [o for o in self.per_path if o.matches(path)]

    def fail_on_for(self, path: str) -> FailOn:
        """fail-on for a finding in ``path``, per-path overrides applied."""
        values = [o.fail_on for o in self._matching(path) if o.fail_on is not None]
        return values[-1] if values else self.fail_on

    def rules_for(self, path: str) -> frozenset[str]:
        """The rule codes reported in ``path``: select / ignore, then those of each matching per-path table."""
        from codelens.rules import selected_rules

        codes = selected_rules(self.select, self.ignore)
        for override in self._matching(path):
            codes = selected_rules(override.select, override.ignore, codes)
        return codes

    def tests_for(self, task: str) -> bool:
        """Whether ``task`` (defect, clone, summary) reports on test code: its ``*-tests`` setting."""
        return bool(getattr(self, f"{task}_tests"))

    def reports(self, finding) -> bool:
        """False when the finding's rule is not selected for its file, or a per-path override wants more
        confidence."""
        if finding.code not in self.rules_for(finding.path):
            return False
        floors = [o.min_confidence for o in self._matching(finding.path) if o.min_confidence is not None]
        return not floors or finding.confidence >= floors[-1]

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in setting_fields()}


_RAY_ADDRESS = re.compile(r"(?:ray://)?(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):(\d{1,5})")


def _is_ray_address(value: str) -> bool:
    """``auto``, ``HOST:PORT`` or ``ray://HOST:PORT`` (an IPv6 host in brackets), the port 1-65535."""
    if value == "auto":
        return True
    match = _RAY_ADDRESS.fullmatch(value)
    return match is not None and 1 <= int(match.group(1)) <= 65535


def setting_fields() -> list[dataclasses.Field]:
    """The fields of ScanConfig a user sets (not where they came from, the root or the notes)."""
    return [f for f in fields(ScanConfig) if not f.metadata.get("internal")]
