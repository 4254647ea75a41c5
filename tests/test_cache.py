"""The SQLite result cache: round trips, key isolation, and survival of a corrupt file."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from codelens.cache import ResultCache, default_cache_path, result_key
from codelens.core import Calibration, UnitResult
from codelens.model.adapter_meta import PromptFormat


def _result(name: str, summary: str | None = "Add two numbers.", dim: int = 4) -> UnitResult:
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    return UnitResult(hash=name, defect_probability=0.25, defect_logit=-1.0986,
                      embedding=rng.standard_normal(dim).astype(np.float32), summary=summary, cached=False)


def test_round_trip(tmp_path):
    with ResultCache(tmp_path / "c" / "results.sqlite") as cache:
        stored = [_result("a"), _result("b", summary=None)]
        cache.put_many(stored, "k1")
        got = cache.get_many(["a", "b", "missing"], "k1")
    assert set(got) == {"a", "b"}
    for original in stored:
        back = got[original.hash]
        assert back.cached is True
        assert back.defect_logit == original.defect_logit
        assert back.defect_probability == original.defect_probability
        assert back.summary == original.summary
        assert back.embedding.dtype == np.float32
        np.testing.assert_array_equal(back.embedding, original.embedding)


def test_keys_are_separate_and_put_replaces(tmp_path):
    cache = ResultCache(tmp_path / "results.sqlite")
    cache.put_many([_result("a", summary=None)], "k1")
    assert cache.get_many(["a"], "k2") == {}
    cache.put_many([_result("a", summary="Now with a summary.")], "k1")
    assert cache.get_many(["a"], "k1")["a"].summary == "Now with a summary."
    cache.close()


def test_persists_across_opens_in_wal_mode(tmp_path):
    path = tmp_path / "results.sqlite"
    with ResultCache(path) as cache:
        cache.put_many([_result("a")], "k")
    with ResultCache(path) as cache:
        assert "a" in cache.get_many(["a"], "k")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_many_hashes_beyond_sqlite_parameter_limit(tmp_path):
    with ResultCache(tmp_path / "results.sqlite") as cache:
        cache.put_many([_result(f"h{i}", dim=2) for i in range(1200)], "k")
        got = cache.get_many([f"h{i}" for i in range(1300)], "k")
    assert len(got) == 1200


def test_corrupt_file_is_moved_aside(tmp_path):
    path = tmp_path / "results.sqlite"
    path.write_bytes(b"this is not an sqlite database" * 200)
    cache = ResultCache(path)
    assert (tmp_path / "results.sqlite.corrupt").read_bytes().startswith(b"this is not")
    assert len(cache.warnings) == 1 and "moved it to" in cache.warnings[0]
    cache.put_many([_result("a")], "k")
    assert "a" in cache.get_many(["a"], "k")
    cache.close()


def test_damaged_row_is_a_miss(tmp_path):
    path = tmp_path / "results.sqlite"
    with ResultCache(path) as cache:
        cache.put_many([_result("a"), _result("b")], "k")
    conn = sqlite3.connect(path)
    conn.execute("UPDATE results SET embedding = ? WHERE unit_hash = 'a'", (b"\x01\x02\x03",))
    conn.commit()
    conn.close()
    with ResultCache(path) as cache:
        assert set(cache.get_many(["a", "b"], "k")) == {"b"}


def test_other_schema_version_starts_over(tmp_path):
    path = tmp_path / "results.sqlite"
    with ResultCache(path) as cache:
        cache.put_many([_result("a")], "k")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.commit()
    conn.close()
    with ResultCache(path) as cache:
        assert cache.get_many(["a"], "k") == {}


def test_default_location(tmp_path):
    assert default_cache_path(tmp_path) == tmp_path / ".codelens-cache" / "results.sqlite"


def test_result_key_covers_every_input():
    base = result_key("fp", "ah", PromptFormat(), Calibration(), "float32/none")
    assert base == result_key("fp", "ah", PromptFormat(), Calibration(), "float32/none")
    assert len(base) == 64
    variants = [
        result_key("fp2", "ah", PromptFormat(), Calibration(), "float32/none"),
        result_key("fp", "ah2", PromptFormat(), Calibration(), "float32/none"),
        result_key("fp", "ah", PromptFormat(max_code_tokens=10), Calibration(), "float32/none"),
        result_key("fp", "ah", PromptFormat(), Calibration(defect_temperature=2.0), "float32/none"),
        result_key("fp", "ah", PromptFormat(), Calibration(), "bfloat16/nf4"),
    ]
    assert len({base, *variants}) == 6


def test_unwritable_location_is_a_codelens_error(tmp_path):
    from codelens.errors import CodelensError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CodelensError, match="cannot create the result cache folder"):
        ResultCache(blocker / "sub" / "results.sqlite")


def test_full_disk_keeps_the_cache_and_warns(tmp_path):
    path = tmp_path / "results.sqlite"
    cache = ResultCache(path)
    assert cache.put_many([_result("a")], "k") is True
    pages = cache._conn.execute("PRAGMA page_count").fetchone()[0]
    cache._conn.execute(f"PRAGMA max_page_count={pages}")  # any growth now fails with SQLITE_FULL
    assert cache.put_many([_result(f"big{i}", dim=4096) for i in range(50)], "k") is False
    assert len(cache.warnings) == 1
    assert cache.warnings[0].startswith(f"could not store results in the result cache {path} (database or disk is full)")
    assert not (tmp_path / "results.sqlite.corrupt").exists()  # not mistaken for corruption
    assert "a" in cache.get_many(["a"], "k")  # what was there is still there
    cache.put_many([_result(f"big{i}", dim=4096) for i in range(50)], "k")
    assert len(cache.warnings) == 1  # said once
    cache.close()


def test_corrupt_file_found_while_writing_is_replaced(tmp_path):
    path = tmp_path / "results.sqlite"
    cache = ResultCache(path)
    cache.close()
    path.write_bytes(b"garbage" * 1000)
    cache._conn = sqlite3.connect(str(path))
    assert cache.put_many([_result("a")], "k") is True
    assert (tmp_path / "results.sqlite.corrupt").exists() and "moved it to" in cache.warnings[0]
    assert "a" in cache.get_many(["a"], "k")
    cache.close()
