"""Summary targets: the first sentence of a function's docstring, cleaned to a PEP 257 one-liner.

A docstring is usable when its first paragraph starts with prose (not ``Args:``, a doctest, a field
list or a marker such as TODO) and its first sentence has 2 to MAX_SUMMARY_WORDS words. reST markup is
reduced to its text (``:func:`name``` -> ``name``, double back-quotes -> plain) and the sentence
ends with a period, as the one-line docstring codelens suggests does.
"""

from __future__ import annotations

import re

MAX_SUMMARY_WORDS = 20
MIN_SUMMARY_WORDS = 2
_SKIP_PREFIXES = (
    ">>>", ":", "@", "..", "args:", "arguments:", "parameters", "returns:", "return:", "raises:", "yields:",
    "example", "note:", "todo", "fixme", "xxx", "hack", "deprecated", "copyright", "see ", "overrides", "!",
    "#", "-", "*", "=", "|", "http",
)
"""Lower-case starts of a first paragraph that is not a summary sentence."""
_ROLE = re.compile(r":[a-zA-Z:]+:`(~?)([^`<]*?)\s*(?:<[^`]*>)?`")
_LITERAL = re.compile(r"``([^`]*)``|`([^`]*)`")
_SENTENCE_END = re.compile(r"[.!?](?=\s+[A-Z(\"'`]|\s*$)")


def first_sentence(docstring: str | None) -> str | None:
    """The cleaned first sentence of ``docstring``, or None when it is not a usable summary."""
    if not docstring:
        return None
    paragraph = re.split(r"\n\s*\n", docstring.strip(), maxsplit=1)[0]
    text = " ".join(paragraph.split())
    if not text or text.lower().startswith(_SKIP_PREFIXES):
        return None
    text = _ROLE.sub(lambda m: m.group(2).split(".")[-1] if m.group(1) else m.group(2), text)
    text = _LITERAL.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)
    end = _SENTENCE_END.search(text)
    sentence = text[: end.end()] if end else text
    sentence = sentence.strip().rstrip(":;,-").strip()
    if not sentence or not re.search(r"[A-Za-z]", sentence):
        return None
    words = sentence.split()
    if not MIN_SUMMARY_WORDS <= len(words) <= MAX_SUMMARY_WORDS:
        return None
    if sentence[-1] not in ".!?":
        sentence += "."
    return sentence[0].upper() + sentence[1:]
