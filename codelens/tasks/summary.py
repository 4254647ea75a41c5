"""CL300 missing-docstring, with the model's one-line summary rewritten into PEP 257 form."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from typing import Iterable, Mapping, Sequence

from codelens.core import CodeUnit, UnitResult
from codelens.findings import Finding, Severity
from codelens.rules import rule_of

RULE = rule_of("summary")
"""The rule of this task's findings."""


MIN_DOC_LINES = 3
"""Functions with fewer non-blank lines are not asked for a docstring: the body says it all."""

_WRAPPERS = re.compile(r'^(?:"""|\'\'\'|/\*\*|/\*|//+|#+|\*|["\'`])\s*|\s*(?:"""|\'\'\'|\*/|["\'`])$')
_LABEL = re.compile(r"^(?:summary|docstring|description)\s*:\s*", re.I)
_FILLER = re.compile(
    r"^(?:(?:this|the|a)\s+(?:function|method|helper|routine)\s+(?:that\s+|which\s+)?"
    r"|(?:function|method|helper)\s+(?:that|which|to)\s+)", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_ADVERBS = {"always", "also", "only", "just", "simply", "then", "first", "recursively"}
_IRREGULAR = {"has": "have", "does": "do", "goes": "go", "caches": "cache"}
_NOT_VERBS = {"is", "was", "its", "this", "thus", "unless", "always", "yes", "us", "as", "plus", "minus",
              "class", "status", "process", "access", "address", "progress", "success", "analysis", "alias",
              "bytes", "series", "various", "previous", "news", "canvas", "basis", "bonus", "radius"}


def pep257_summary(text: str | None) -> str | None:
    """The model's summary as a PEP 257 summary line, or None when nothing usable is left.

    One sentence, whitespace folded, quote or comment markers and filler ("This function ...")
    removed, the first verb in the imperative ("Returns x" -> "Return x"), capitalised, ending
    with a period.
    """
    if not text:
        return None
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    line = " ".join(lines[0].split())
    for _ in range(3):  # markers can nest: '# "Return x."'
        line = _WRAPPERS.sub("", line).strip()
    line = _LABEL.sub("", line)
    line = _SENTENCE_END.split(line, maxsplit=1)[0]
    line = _FILLER.sub("", line).strip()
    line = _imperative(line)
    line = line.rstrip(" ,;:-")
    if not line or not any(ch.isalnum() for ch in line):
        return None
    line = line[0].upper() + line[1:]
    return line if line.endswith((".", "!", "?")) else line + "."


REPEATED_PHRASE_WORDS = 3
"""A summary that says the same run of this many words twice is degenerate ("return the list of the list
of ..."): it is never suggested, whatever its confidence."""


def repeats_phrase(text: str, n: int = REPEATED_PHRASE_WORDS) -> bool:
    """Whether ``text`` contains the same ``n`` consecutive words (case-insensitive) twice."""
    words = re.findall(r"\w+", text.lower())
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return len(grams) != len(set(grams))


def passes_gate(summary: str | None, confidence: float | None, gate: float | None) -> bool:
    """Whether a generated summary may be suggested: usable in PEP 257 form, no repeated phrase, and a
    mean token log-probability at or above ``gate`` (None: no gate; a summary without a confidence, from a
    model that does not report one, passes)."""
    line = pep257_summary(summary)
    if line is None or repeats_phrase(line):
        return False
    return gate is None or confidence is None or confidence >= gate


def gate_summaries(results: Mapping[str, UnitResult], gate: float | None, units: Iterable[CodeUnit] = (),
                   languages: Sequence[str] = ()) -> tuple[dict[str, UnitResult], int]:
    """``results`` with every summary no one may see removed, so that no report, finding or ``codelens
    docstring`` edit shows it; and how many fell below the gate.

    Removed: the summary of a function in no language of ``languages`` (the adapter's: its summaries there
    are not vouched for; empty: not known, so any; ``units`` are the functions ``results`` are for), and one
    that does not pass the gate (``passes_gate``).
    """
    untrained: set[str] = set()
    if languages:
        trained = {u.hash for u in units if u.language in languages}
        untrained = {u.hash for u in units} - trained
    out, below = {}, 0
    for key, result in results.items():
        if result.summary is not None and key in untrained:
            result = dataclasses.replace(result, summary=None)
        elif result.summary is not None and not passes_gate(result.summary, result.summary_confidence, gate):
            result, below = dataclasses.replace(result, summary=None), below + 1
        out[key] = result
    return out, below


TEMPLATE_REPEATS = 4
"""A suggestion the scan gives to this many different functions or more (the same sentence, case and
punctuation aside) is a template, not a summary of any of them ("Return a list of the file." for 41
functions): it is shown for none."""


def summary_key(sentence: str) -> str:
    """A suggestion with case, punctuation and spacing folded: what makes two suggestions the same."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in sentence.lower()).split())


def drop_templates(results: Mapping[str, UnitResult],
                   repeats: int = TEMPLATE_REPEATS) -> tuple[dict[str, UnitResult], int]:
    """``results`` without the summaries given, in PEP 257 form, to ``repeats`` or more different functions
    (results are one per distinct function), and how many summaries went."""
    keys = {digest: summary_key(pep257_summary(r.summary) or "") for digest, r in results.items() if r.summary}
    counts = Counter(keys.values())
    out, dropped = {}, 0
    for digest, result in results.items():
        if digest in keys and counts[keys[digest]] >= repeats:
            result, dropped = dataclasses.replace(result, summary=None), dropped + 1
        out[digest] = result
    return out, dropped


_NAME_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def name_summary(qualname: str) -> str | None:
    """The function's own name read as a summary line: ``get_user_name`` -> "Get user name.",
    ``parseHTTPHeader`` -> "Parse HTTP header."; None for a name without letters.

    The model-free baseline a generated summary has to beat (acronyms keep their capitals).
    """
    words = _NAME_WORD.findall(re.split(r"[.:]+", qualname)[-1])
    if not any(w.isalpha() for w in words):
        return None
    words = [w if len(w) > 1 and w.isupper() else w.lower() for w in words]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]]) + "."


def _imperative(line: str) -> str:
    """Turn a third-person first verb into the imperative, skipping a leading adverb; a second
    verb joined by "and" ("Reads and parses") follows the first."""
    words = line.split(" ")
    at = 1 if len(words) > 1 and words[0].lower() in _ADVERBS else 0
    base = _verb_base(words[at])
    if base != words[at] and len(words) > at + 2 and words[at + 1].lower() == "and":
        words[at + 2] = _verb_base(words[at + 2])
    words[at] = base
    return " ".join(words)


def _verb_base(word: str) -> str:
    lower = word.lower()
    if not lower.isalpha() or lower in _NOT_VERBS or len(lower) <= 3 and lower not in _IRREGULAR:
        return word
    if lower in _IRREGULAR:
        base = _IRREGULAR[lower]
    elif lower.endswith(("ss", "us", "is")) or not lower.endswith("s"):
        return word
    elif lower.endswith("ies") and len(lower) > 4:
        base = lower[:-3] + "y"
    elif lower.endswith(("sses", "shes", "ches", "xes", "zzes", "oes")):
        base = lower[:-2]
    else:
        base = lower[:-1]
    return word[0] + base[1:] if word[0].isupper() else base


def docstring_findings(units: Sequence[CodeUnit], results: Mapping[str, UnitResult],
                       min_lines: int = MIN_DOC_LINES) -> list[Finding]:
    """One CL300 finding per public function without a docstring, suggesting the model's summary.

    Skipped: functions that are not public (see ``is_public``) and functions with fewer than
    ``min_lines`` non-blank lines. A function without a summary (the summary task did not run, or
    ``gate_summaries`` took it away) is still reported, without a fix.
    """
    findings = []
    for unit in units:
        if unit.has_docstring or not asks_for_docstring(unit, min_lines):
            continue
        result = results.get(unit.hash)
        summary = pep257_summary(result.summary if result is not None else None)
        message = f"{unit.qualname} has no docstring"
        if summary:
            message += f'; suggested: "{summary}"'
        findings.append(Finding(
            code=RULE.code, rule=RULE.name, path=unit.path, start_line=unit.start_line,
            end_line=unit.end_line, qualname=unit.qualname, message=message, severity=Severity.INFO,
            confidence=1.0, unit_hash=unit.hash, fix=summary,
        ))
    return findings


def asks_for_docstring(unit: CodeUnit, min_lines: int = MIN_DOC_LINES) -> bool:
    """Whether CL300 wants a docstring on ``unit`` (when it has none): it is public, implements what it
    declares (not a ``CodeUnit.stub``: an ``@overload``, an abstract or Protocol method, a ``...`` body),
    and its body has at least ``min_lines`` non-blank lines."""
    if not is_public(unit) or unit.stub:
        return False
    return sum(1 for line in unit.body.splitlines() if line.strip()) >= min_lines


def is_public(unit: CodeUnit) -> bool:
    """Part of its module's API: not defined inside another function (a closure is not API), no leading
    underscore in its own name (private helpers, dunder methods, ``__init__`` included), and not left
    out by the module's exports (``CodeUnit.exported``: Python's ``__all__``, Go's capitalisation)."""
    if unit.nested_in_function or unit.exported is False:
        return False
    return not re.split(r"[.:]+", unit.qualname)[-1].startswith("_")
