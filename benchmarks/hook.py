"""Hook benchmark: `codelens scan` on a one-file change with a warm cache, against loading the model.

What pre-commit pays on a commit that touches one file of a 500-function repository: a fresh
interpreter runs `codelens scan . --quiet --format text <file>` (the entry of .pre-commit-hooks.yaml)
with the result cache warm from an earlier full scan, and one function of that file changed. The
reference is the floor any model-backed hook pays: a fresh interpreter that imports codelens and
loads the same model and adapter through ``load_model`` and does nothing else. Issue 4's target: the
hook takes at most 3x that. Both are timed from outside (interpreter start-up included), alternately,
median of ``REPEATS``.

The repository is generated (50 files x 10 functions, deterministic): ten kinds of small everyday
function (parsing, retries, merging, counting, ...) with per-file names and constants, half with a
docstring, committed to git. Each timed hook run changes the same function to a value not seen
before, so the run has exactly one function to compute and every other one comes from the cache.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from string import Template

from benchmarks.common import BenchContext, Figure, check, ratio_of

FILES = 50
FUNCTIONS_PER_FILE = 10
"""50 x 10 = the issue's 500-function repository (at most len(TEMPLATES) per file: one of each kind)."""
REPEATS = 3
TARGET = "<= 3"
CHANGED_FILE = 7
CHANGED_FUNCTION = 3
"""Which file and which of its functions the one-file change edits (clamped to the sizes in use)."""

NOUNS = ("order", "invoice", "user", "session", "report", "ticket", "payment", "device", "account", "message",
         "upload", "profile", "job", "event", "metric", "record", "build", "release", "token", "channel",
         "cart", "review", "shipment", "backup", "alert", "invite", "coupon", "route", "sensor", "batch",
         "course", "booking", "article", "comment", "folder", "contract", "vendor", "survey", "badge", "quota",
         "lease", "parcel", "playlist", "recipe", "schedule", "tenant", "voucher", "widget", "webhook", "zone")
"""One per file, so no two generated functions are the same text (wrapping adds a number past 50 files)."""
ATTRS = ("status", "owner", "region", "kind", "priority")

TEMPLATES = (
    '''def parse_${noun}_settings(text):
    ${doc}settings = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        settings[key.strip()] = value.strip()[:${k}0]
    return settings
''',
    '''def clamp_${noun}_count(value, low=${k}, high=${k}00):
    ${doc}if value < low:
        return low
    if value > high:
        return high
    return value
''',
    '''def group_${noun}s_by_${attr}(items, limit=${k}000):
    ${doc}groups = {}
    for item in items[:limit]:
        groups.setdefault(item.get("${attr}"), []).append(item)
    return groups
''',
    '''def fetch_${noun}_with_retry(fetch, attempts=${k}, delay=0.${k}):
    ${doc}import time

    last_error = None
    for attempt in range(attempts):
        try:
            return fetch()
        except OSError as error:
            last_error = error
            time.sleep(delay * (attempt + 1))
    raise RuntimeError("${noun}: gave up after %d attempts" % attempts) from last_error
''',
    '''def moving_${noun}_average(values, window=${k}):
    ${doc}if window <= 0:
        raise ValueError("window must be positive")
    averages, total = [], 0
    for index, value in enumerate(values):
        total += value
        if index >= window:
            total -= values[index - window]
        averages.append(total / min(index + 1, window))
    return averages
''',
    '''def ${noun}_slug(title, max_words=${k}):
    ${doc}words = [word for word in title.lower().split() if word.isalnum()]
    return "-".join(words[:max_words]) or "${noun}"
''',
    '''def merge_${noun}_options(defaults, overrides, depth=${k}):
    ${doc}merged = dict(defaults)
    for key, value in overrides.items():
        if value is None:
            continue
        if depth and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_${noun}_options(merged[key], value, depth - 1)
        else:
            merged[key] = value
    return merged
''',
    '''def count_${noun}_words(text, minimum=${k}):
    ${doc}counts = {}
    for word in text.split():
        word = word.strip(".,;:!?").lower()
        if len(word) >= minimum:
            counts[word] = counts.get(word, 0) + 1
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
''',
    '''def chunk_${noun}s(items, size=${k}):
    ${doc}if size < 1:
        raise ValueError("size must be at least 1")
    return [items[start:start + size] for start in range(0, len(items), size)]
''',
    '''def load_${noun}_file(path, default=None, max_bytes=${k}_000_000):
    ${doc}import json
    import os

    if not os.path.exists(path):
        return default
    if os.path.getsize(path) > max_bytes:
        raise ValueError("%s: larger than %d bytes" % (path, max_bytes))
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
''',
)
DOCSTRINGS = ("Read key=value lines into a dict, skipping comments.", "Keep a count within bounds.",
              "Group records by one of their fields.", "Call fetch until it succeeds or the attempts run out.",
              "Running mean over a sliding window.", "A URL-safe name made of the first words of a title.",
              "Nested options, overrides winning, None meaning unset.", "Word frequencies, most frequent first.",
              "Split a list into consecutive pieces.", "Parse a JSON file, or a default when it is missing.")


def function_source(file_index: int, function_index: int, bump: int = 0) -> str:
    """One generated function; ``bump`` changes its constant (an edit that keeps the line count)."""
    kind = (function_index + file_index) % len(TEMPLATES)
    k = (file_index * 7 + function_index * 3) % 9 + 1 + bump
    doc = f'"""{DOCSTRINGS[kind]}"""\n    ' if (file_index + function_index) % 2 == 0 else ""
    noun = NOUNS[file_index % len(NOUNS)] + (str(file_index // len(NOUNS)) if file_index >= len(NOUNS) else "")
    # Each slot of a file takes a different kind, so the noun alone keeps a file's names apart.
    return Template(TEMPLATES[kind]).substitute(noun=noun, attr=ATTRS[file_index % len(ATTRS)], k=k, doc=doc)


def module_source(file_index: int, functions: int, bumps: dict[int, int] | None = None) -> str:
    """A generated file of ``functions`` functions; ``bumps`` maps a function's index to its edit."""
    bumps = bumps or {}
    parts = [function_source(file_index, i, bumps.get(i, 0)) for i in range(functions)]
    return f'"""Helpers for module {file_index} (generated by the hook benchmark)."""\n\n\n' + "\n\n".join(parts)


def build_repo(dest: Path, files: int = FILES, functions: int = FUNCTIONS_PER_FILE) -> Path:
    """Write ``files`` x ``functions`` generated functions under ``dest`` and commit them to a new git repository."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        (dest / f"mod_{f:02d}.py").write_text(module_source(f, functions), encoding="utf-8")
    (dest / ".gitignore").write_text(".codelens-cache/\n", encoding="utf-8")
    # No user or system git configuration: the commit must not depend on who runs the benchmark.
    env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="bench",
               GIT_AUTHOR_EMAIL="bench@example.invalid", GIT_COMMITTER_NAME="bench",
               GIT_COMMITTER_EMAIL="bench@example.invalid")
    for command in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-q", "-m", "generated"]):
        subprocess.run(command, cwd=dest, env=env, check=True, capture_output=True)
    return dest


def codelens_command() -> list[str]:
    """The `codelens` console script next to this interpreter (what pre-commit runs), else the same via -c."""
    script = Path(sys.executable).parent / "codelens"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from codelens.cli.main import main; sys.exit(main(sys.argv[1:]))"]


def _run(command: list[str], cwd: Path | None = None) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - start
    if result.returncode not in (0, 1):  # 1: findings at or above --fail-on, a normal hook outcome
        raise RuntimeError(f"{' '.join(command[:3])} ... exited {result.returncode}: {result.stderr.strip()[-500:]}")
    return result, seconds


def load_probe(base: str, adapter: str, device: str) -> list[str]:
    """A fresh interpreter that imports codelens, loads the model, prints the seconds it measured inside."""
    code = ("import time; start = time.perf_counter()\n"
            "from codelens.model.loading import ModelSpec, load_model\n"
            f"load_model(ModelSpec(model={base!r}, adapter={adapter!r}, device={device!r}))\n"
            "print(time.perf_counter() - start)")
    return [sys.executable, "-c", code]


SUMMARY_LINE = re.compile(r"Scanned (\d+) functions? in \d+ files?; (\d+) cache hits")


def scanned_counts(text_report: str) -> dict:
    """Functions and cache hits from the text report's closing line (empty when it is not there)."""
    match = SUMMARY_LINE.search(text_report)
    return {"functions": int(match[1]), "cache_hits": int(match[2])} if match else {}


def run(ctx: BenchContext) -> list[Figure]:
    base, adapter, source = ctx.default_pair()
    files, functions = FILES, FUNCTIONS_PER_FILE
    repo = build_repo(ctx.workdir / "hook-repo", files, functions)
    changed_index, slot = min(CHANGED_FILE, files - 1), min(CHANGED_FUNCTION, functions - 1)
    changed = repo / f"mod_{changed_index:02d}.py"
    scan = [*codelens_command(), "scan", ".", "--model", base, "--adapter", adapter, "--device", ctx.device,
            "--jobs", str(ctx.threads)]

    report_path = ctx.workdir / "hook-warm-up.json"
    _, warm_up_s = _run([*scan, "--quiet", "--format", "json", "--output", str(report_path)], cwd=repo)
    warm_up = json.loads(report_path.read_text(encoding="utf-8"))["stats"]

    loads, inside, hooks, counts = [], [], [], []
    for n in range(REPEATS):
        result, seconds = _run(load_probe(base, adapter, ctx.device))
        loads.append(seconds)
        inside.append(float(result.stdout.strip().splitlines()[-1]))
        changed.write_text(module_source(changed_index, functions, {slot: 10 * (n + 1)}), encoding="utf-8")
        result, seconds = _run([*scan, "--quiet", "--format", "text", changed.name], cwd=repo)
        hooks.append(seconds)
        counts.append(scanned_counts(result.stdout))
    hook_s, load_s = statistics.median(hooks), statistics.median(loads)
    ratio = ratio_of(hook_s, load_s)
    detail = {"model": source, "files": files, "functions": warm_up["functions"], "changed_file": changed.name,
              "warm_up": {"seconds": round(warm_up_s, 2), "computed": warm_up["computed"],
                          "summaries": warm_up["summaries_generated"]},
              "hook_s": [round(s, 3) for s in hooks], "load_process_s": [round(s, 3) for s in loads],
              "load_inside_s": [round(s, 3) for s in inside], "hook_counts": counts}
    return [Figure("hook", f"one-file change, {warm_up['functions']} functions, warm cache", hook_s, "s",
                   "fresh process: import codelens + load_model", load_s, ratio, TARGET, check(ratio, TARGET),
                   f"`codelens scan . --quiet --format text {changed.name}`, median of {REPEATS}; {source}", detail)]
