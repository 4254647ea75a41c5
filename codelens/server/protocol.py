"""The wire format between a scan and the background server: plain values, never code.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON holding one object with an
``op``. JSON, not pickle: a request is data that can only be read, whoever wrote it. Floats travel as
JSON numbers (Python writes the shortest text that reads back as the same double) and an embedding
as the base64 of its float32 bytes, so a result from the server is bit for bit the result this
process would have computed.

    client                                   server
    hello {protocol, codelens, build}  ──▶   hello {protocol, codelens, build, pid, models, ...}
    score {model, expect, settings,          alive (every HEARTBEAT_S while it loads or runs)
           functions, summarise}       ──▶   batch {keys, scored, tokens, summarised} per forward batch
                                             done | error {kind, message, hint}
    stop                               ──▶   stopping
"""

from __future__ import annotations

import base64
import json
import socket
import struct
from typing import Any

from codelens.core import FunctionText, LocatedBug
from codelens.server.place import ServerError

MAX_FRAME = 256 << 20
"""Largest frame either side accepts (256 MiB): a scan's misses are sent in one request, and a
request larger than this runs in the scan's own process."""
_HEADER = struct.Struct(">I")


class ProtocolError(ServerError):
    """A frame that is cut short, too large, not JSON, or not what the protocol allows at that point."""


def send(connection: socket.socket, message: dict) -> None:
    """Write one frame."""
    payload = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(payload) > MAX_FRAME:
        raise ProtocolError(f"a message of {len(payload)} bytes is larger than the protocol allows ({MAX_FRAME})")
    connection.sendall(_HEADER.pack(len(payload)) + payload)


def receive(connection: socket.socket) -> dict:
    """Read one frame: a dict with a string ``op``. Raises ProtocolError (ConnectionError when the other
    side closed before a frame began)."""
    header = _read_exactly(connection, _HEADER.size, allow_eof=True)
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ProtocolError(f"a frame of {size} bytes announced, more than the protocol allows ({MAX_FRAME})")
    payload = _read_exactly(connection, size)
    try:
        message = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"a frame that is not UTF-8 JSON: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise ProtocolError("a frame that is not an object with an 'op'")
    return message


def _read_exactly(connection: socket.socket, size: int, allow_eof: bool = False) -> bytes:
    chunks, left = [], size
    while left:
        chunk = connection.recv(min(left, 1 << 20))
        if not chunk:
            if allow_eof and left == size:
                raise ConnectionError("the other side closed the connection")
            raise ProtocolError(f"the connection closed {size - left} bytes into a {size}-byte read")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def encode_batch(batch) -> dict:
    """A ``ScoredBatch`` (keys are function hashes) as a ``batch`` message."""
    return {"op": "batch", "keys": list(batch.keys), "tokens": batch.tokens, "summarised": batch.summarised,
            "scored": [{"logit": s.logit, "embedding": base64.b64encode(s.embedding.astype("<f4").tobytes()).decode(),
                        "summary": s.summary, "summary_confidence": s.summary_confidence,
                        "bug": None if s.bug is None else [s.bug.start, s.bug.end, s.bug.kind, s.bug.text, s.bug.repair,
                                                           s.bug.site_probability, s.bug.repair_probability]}
                       for s in batch.scored]}


def decode_batch(message: dict):
    """The ``ScoredBatch`` a ``batch`` message carries; ProtocolError when it is malformed."""
    import numpy as np

    from codelens.model.forward import Scored, ScoredBatch

    try:
        keys, scored = message["keys"], message["scored"]
        if len(keys) != len(scored) or not all(isinstance(k, str) for k in keys):
            raise ValueError("keys and results differ")
        out = []
        for item in scored:
            bug = item["bug"]
            located = None if bug is None else LocatedBug(int(bug[0]), int(bug[1]), str(bug[2]), str(bug[3]),
                                                          _text(bug[4]), float(bug[5]), _number(bug[6]))
            embedding = np.frombuffer(base64.b64decode(item["embedding"], validate=True), dtype="<f4")
            out.append(Scored(float(item["logit"]), embedding.astype(np.float32), _text(item["summary"]), located,
                              _number(item["summary_confidence"])))
        return ScoredBatch(list(keys), out, int(message["tokens"]), bool(message["summarised"]))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ProtocolError(f"a malformed batch from the server: {exc}") from None


def _text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return value


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def encode_functions(functions: dict) -> list[list[str]]:
    """``{key: FunctionText}`` as ``[[key, code, language, indent], ...]``, in the dict's order (the order
    the engine batches them in)."""
    return [[key, f.code, f.language, f.indent] for key, f in functions.items()]


def decode_functions(rows: Any) -> dict[str, FunctionText]:
    """The inverse of ``encode_functions``, checking that every field is a string."""
    if not isinstance(rows, list):
        raise ProtocolError("'functions' must be a list")
    out: dict[str, FunctionText] = {}
    for row in rows:
        if not (isinstance(row, list) and len(row) == 4 and all(isinstance(v, str) for v in row)):
            raise ProtocolError("each function must be [key, code, language, indent], all strings")
        out[row[0]] = FunctionText(row[1], row[2], row[3])
    return out
