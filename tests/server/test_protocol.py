"""The wire format: JSON frames, and model outputs that come back bit for bit."""

from __future__ import annotations

import json
import socket
import struct

import numpy as np
import pytest

from codelens.core import FunctionText, LocatedBug
from codelens.model.forward import Scored, ScoredBatch
from codelens.server import protocol
from codelens.server.protocol import (
    ProtocolError,
    decode_batch,
    decode_functions,
    encode_batch,
    encode_functions,
    receive,
    send,
)


@pytest.fixture
def pair():
    left, right = socket.socketpair(socket.AF_UNIX)
    left.settimeout(5)
    right.settimeout(5)
    yield left, right
    left.close()
    right.close()


def test_a_frame_is_a_length_and_json(pair):
    left, right = pair
    send(left, {"op": "hello", "text": "déjà vu"})
    raw = right.recv(4)
    (size,) = struct.unpack(">I", raw)
    assert json.loads(right.recv(size).decode("utf-8")) == {"op": "hello", "text": "déjà vu"}
    send(left, {"op": "done"})
    assert receive(right) == {"op": "done"}


def test_a_closed_connection_before_a_frame_is_a_connection_error(pair):
    left, right = pair
    left.close()
    with pytest.raises(ConnectionError):
        receive(right)


@pytest.mark.parametrize("raw, message", [
    (struct.pack(">I", 10) + b'{"op"', "closed 5 bytes into a 10-byte read"),
    (struct.pack(">I", 4) + b"\xff\xfe[]", "not UTF-8 JSON"),
    (struct.pack(">I", 2) + b"[]", "not an object with an 'op'"),
    (struct.pack(">I", 12) + b'{"op": true}', "not an object with an 'op'"),
    (struct.pack(">I", protocol.MAX_FRAME + 1), "more than the protocol allows"),
])
def test_malformed_frames_are_protocol_errors(pair, raw, message):
    left, right = pair
    left.sendall(raw)
    left.shutdown(socket.SHUT_WR)
    with pytest.raises(ProtocolError, match=message):
        receive(right)


def test_a_message_over_the_limit_is_not_sent(pair, monkeypatch):
    monkeypatch.setattr(protocol, "MAX_FRAME", 64)
    with pytest.raises(ProtocolError, match="larger than the protocol allows"):
        send(pair[0], {"op": "score", "functions": "x" * 100})


def test_a_batch_comes_back_bit_for_bit():
    rng = np.random.default_rng(0)
    embedding = rng.standard_normal(16).astype(np.float32)
    bug = LocatedBug(3, 5, "comparison", "<", "<=", 0.123456789012345, 0.987654321)
    batch = ScoredBatch(["h1", "h2"], [Scored(-1.2345678901234567, embedding, "Return the sum.", bug, -0.3141592653589793),
                                       Scored(float("inf"), embedding[::-1].copy(), None, None, None)], 42, True)
    back = decode_batch(json.loads(json.dumps(encode_batch(batch))))
    assert back.keys == ["h1", "h2"] and back.tokens == 42 and back.summarised is True
    first, second = back.scored
    assert first.logit == -1.2345678901234567 and first.summary == "Return the sum." and first.bug == bug
    assert first.summary_confidence == -0.3141592653589793
    assert first.embedding.dtype == np.float32 and first.embedding.tobytes() == embedding.tobytes()
    assert first.embedding.flags.writeable
    assert second.logit == float("inf") and second.bug is None and second.summary is None
    assert second.embedding.tobytes() == embedding[::-1].tobytes()


@pytest.mark.parametrize("change", [
    lambda m: m.update(keys=["only-one"]),
    lambda m: m["scored"][0].update(embedding="not base64!"),
    lambda m: m["scored"][0].update(summary=7),
    lambda m: m["scored"][0].pop("logit"),
    lambda m: m["scored"][0].update(bug=[1, 2]),
])
def test_a_malformed_batch_is_a_protocol_error(change):
    batch = ScoredBatch(["a", "b"], [Scored(0.5, np.zeros(4, np.float32), None, None, None)] * 2, 3, False)
    message = json.loads(json.dumps(encode_batch(batch)))
    change(message)
    with pytest.raises(ProtocolError, match="malformed batch"):
        decode_batch(message)


def test_functions_travel_as_plain_strings_in_order():
    functions = {"k2": FunctionText("def f():\n    return 1\n", "python", "    "), "k1": FunctionText("x", "go")}
    rows = encode_functions(functions)
    assert rows == [["k2", "def f():\n    return 1\n", "python", "    "], ["k1", "x", "go", ""]]
    back = decode_functions(json.loads(json.dumps(rows)))
    assert list(back) == ["k2", "k1"] and back == functions


@pytest.mark.parametrize("rows", [{"k": "x"}, [["k", "x", "python"]], [["k", "x", "python", 4]], [{"__class__": "x"}]])
def test_functions_that_are_not_four_strings_are_refused(rows):
    with pytest.raises(ProtocolError):
        decode_functions(rows)
