"""Text from the scanned repository made safe to show on a terminal, and paths quoted the way git quotes them.

A file name, a comment or a summary can hold terminal control sequences (``ESC [ 2 K`` erases a line),
line breaks that forge a line of output, C1 controls that some terminals obey (``\\x9b`` is a CSI), and
Unicode direction overrides that make text read differently from what it is (Trojan Source). Everything
codelens prints for people from the repository goes through ``escape_controls``: each such character is
shown as a visible escape (``\\x1b``, ``\\n``, ``\\u202e``) and the rest of the text is left as it is.
"""

from __future__ import annotations

import re

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Unicode bidirectional formatting characters (marks, embeddings, overrides, isolates)."""
_UNSAFE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029{BIDI_CONTROLS}\\ud800-\\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_GIT_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\"}


def _shown(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a file name byte that is not UTF-8 (os.fsdecode's surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with control characters, line and paragraph separators, bidi controls and lone surrogates
    shown as escapes; text without them is returned as it is."""
    if text.isascii() and text.isprintable():  # nearly every string: no regular expression run
        return text
    return _UNSAFE.sub(_shown, text)


def needs_quoting(name: str) -> bool:
    """Whether git would quote ``name`` in a diff header, or its UTF-8 holds something a terminal obeys."""
    return '"' in name or "\\" in name or _UNSAFE.search(name) is not None


def git_quote(name: str) -> str:
    """``name`` as ``git diff`` writes a path that needs quoting: in double quotes, C escapes for ``"``,
    ``\\`` and control characters, and every byte of a non-ASCII character in octal (git's default
    ``core.quotepath``), so nothing a terminal obeys is written raw. Names that need none stay bare (as
    git does with ``core.quotepath=false``); ``git apply`` reads both forms."""
    if not needs_quoting(name):
        return name
    out = ['"']
    for byte in _bytes(name):
        if byte in _GIT_ESCAPES:
            out.append(_GIT_ESCAPES[byte])
        elif byte < 0x20 or byte >= 0x7F:
            out.append(f"\\{byte:03o}")
        else:
            out.append(chr(byte))
    out.append('"')
    return "".join(out)


def _bytes(name: str) -> bytes:
    """The bytes of a file name: UTF-8, with os.fsdecode's escaped bytes (U+DC80-U+DCFF) as the bytes they were."""
    return b"".join(bytes([ord(c) - 0xDC00]) if 0xDC80 <= ord(c) <= 0xDCFF else c.encode("utf-8", "surrogatepass")
                    for c in name)
