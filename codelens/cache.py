"""The result cache: model outputs per (function hash, model key) in one SQLite file.

An unchanged function is never run twice: the key covers everything that changes a result (base
fingerprint, adapter hash, prompt format, calibration, precision), so a new model or a retrained
adapter simply misses. The default location, <project root>/.codelens-cache/results.sqlite, is the
caller's choice; the folder gets a .gitignore, as pytest's and ruff's caches do.

Only real corruption moves a file aside (to <name>.corrupt, then a fresh cache starts). A cache that
cannot be written (read-only file or folder, full disk, a lock held too long) is read where it can be
and costs one warning; a cache file that is a symbolic link is never opened (a committed link could
point anywhere).

**The cache inside a repository is not trusted as it stands**: a repository can commit a
``.codelens-cache`` whose rows say anything (a forged "CL100 precision 1.00", a summary that ``docstring
--write`` would insert, a low score that hides a finding). So every row carries an HMAC-SHA256 of all its
fields under a secret key that lives in the user's own cache folder (``codelens.files.user_cache_dir``,
``cache-key``, created on first use, mode 0600), never in a repository: a row is used only when its
MAC checks out, that is, when codelens wrote it on this machine for this user. Any other row is a miss
(recomputed and overwritten) and costs one warning. Checking a MAC is a microsecond of hashlib, so a warm
re-scan stays fast and never imports torch.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import struct
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from codelens.core import LocatedBug, UnitResult
from codelens.errors import CodelensError

CACHE_DIR = ".codelens-cache"
CACHE_FILE = "results.sqlite"
_SCHEMA_VERSION = 4
"""4: an HMAC per row (3: a located bug and the summary's confidence per result); an older cache is dropped
and refilled."""
KEY_FILE = "cache-key"
"""The secret that binds cache rows to this user and machine, in ``codelens.files.user_cache_dir()``."""
# SQLite limits the number of bound parameters per statement (999 in older builds).
_CHUNK = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    unit_hash TEXT NOT NULL,
    key TEXT NOT NULL,
    defect_logit REAL NOT NULL,
    defect_probability REAL NOT NULL,
    embedding BLOB NOT NULL,
    summary TEXT,
    summary_confidence REAL,
    bug TEXT,
    created REAL NOT NULL,
    mac BLOB NOT NULL,
    PRIMARY KEY (unit_hash, key)
) WITHOUT ROWID
"""


def cache_secret() -> tuple[bytes, str | None]:
    """The user's cache key, created on first use; and a warning when it cannot be kept (a read-only home):
    then a key for this process alone, so rows written now are not reused by the next run."""
    import secrets

    from codelens.files import FileReadError, read_bounded, user_cache_dir

    path = user_cache_dir() / KEY_FILE
    for _ in range(2):
        try:
            key = bytes.fromhex(read_bounded(path, 256, "cache key").decode("ascii", "replace").strip())
            if len(key) >= 32:
                return key, None
        except (FileReadError, ValueError):
            pass
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            continue  # another codelens made it meanwhile (or it is damaged: read again, then say so)
        except OSError as exc:
            return secrets.token_bytes(32), (f"cannot keep the result cache's key in {path} ({exc.strerror or exc}): "
                                             "results are not reused by the next run")
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return secrets.token_bytes(32), (f"the result cache's key {path} is damaged: delete it (results computed so "
                                     "far are recomputed once)")


def _row_mac(secret: bytes, row: tuple) -> bytes | None:
    """HMAC-SHA256 of a row's fields (all but ``created``) in a fixed, unambiguous encoding; None when a field
    has a type codelens never stores (a forged or damaged row)."""
    unit_hash, key, logit, probability, embedding, summary, confidence, bug = row
    parts = []
    for value in (unit_hash, key, logit, probability, embedding, summary, confidence, bug):
        if value is None:
            parts.append(b"n")
        elif isinstance(value, str):
            data = value.encode("utf-8", "surrogatepass")
            parts.append(b"s%d:" % len(data) + data)
        elif isinstance(value, bytes):
            parts.append(b"b%d:" % len(value) + value)
        elif isinstance(value, float):
            parts.append(b"f" + struct.pack("<d", value))
        else:
            return None
    return hmac.digest(secret, b"|".join(parts), "sha256")


def default_cache_path(root: Path) -> Path:
    """Where a scan of ``root`` keeps its cache unless told otherwise."""
    return Path(root) / CACHE_DIR / CACHE_FILE


def result_key(base_fingerprint: str, adapter_hash: str, prompt, calibration, precision: str = "") -> str:
    """sha256 over everything besides the function itself that changes a result.

    prompt / calibration are the adapter's PromptFormat / Calibration dataclasses; precision names the
    dtype and quantisation (an NF4 result is not an fp32 result).
    """
    payload = {
        "base": base_fingerprint,
        "adapter": adapter_hash,
        "prompt": asdict(prompt),
        "calibration": asdict(calibration),
        "precision": precision,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


class ResultCache:
    """SQLite-backed store of UnitResults; safe for several processes (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.warnings: list[str] = []
        """Things the caller may want to tell the user (a corrupt cache moved aside); never raised."""
        self.read_only = False
        """True when the cache could be opened for reading only: hits are served, nothing is stored."""
        self.rejected = 0
        """Rows read whose MAC did not check out (not written by codelens for this user): treated as misses."""
        self._secret, problem = cache_secret()
        if problem:
            self.warnings.append(problem)
        for candidate in (self.path.parent, *(self.path.with_name(self.path.name + s) for s in ("", "-wal", "-shm"))):
            if candidate.is_symlink():
                raise CodelensError(f"{candidate} is a symbolic link; codelens does not follow links for its cache",
                                    hint="delete the link, or point the cache elsewhere with --cache-dir")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CodelensError(
                f"cannot create the result cache folder {self.path.parent}: {exc.strerror or exc}",
                hint="make the folder writable, or point the cache elsewhere with --cache-dir",
            ) from exc
        _write_gitignore(self.path.parent)
        self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if _is_busy(exc):
                raise CodelensError(f"the result cache {self.path} is locked by another process",
                                    hint="wait for the other codelens run to finish") from exc
            if _is_corrupt(exc):
                self._move_aside(exc)
                return self._connect()
            return self._open_read_only(exc)

    def _open_read_only(self, exc: Exception) -> sqlite3.Connection:
        """The cache for reading only (read-only file or folder); a CodelensError when even that fails."""
        hint = "make the cache folder and file writable, or point the cache elsewhere with --cache-dir"
        if not self.path.is_file():
            raise CodelensError(f"cannot create the result cache {self.path} ({exc})", hint=hint) from exc
        try:
            # immutable: no -wal / -shm files to create in a folder that may be read-only
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, timeout=30.0)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("SELECT 1 FROM results LIMIT 1").fetchall()
        except sqlite3.DatabaseError as second:
            raise CodelensError(f"cannot open the result cache {self.path} ({exc}; read-only: {second})",
                                hint=hint) from second
        if version != _SCHEMA_VERSION:
            conn.close()
            raise CodelensError(f"the result cache {self.path} is read-only and was written by another version",
                                hint=hint)
        self.read_only = True
        self.warnings.append(f"the result cache {self.path} cannot be written ({exc}): cached results are used, "
                             "new ones are not stored")
        return conn

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=30.0)
        try:
            conn.execute("PRAGMA trusted_schema=OFF")  # a committed file's triggers and views run nothing odd
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _SCHEMA_VERSION):
                # Written by another codelens version: results are cheap to recompute, so start over.
                conn.execute("DROP TABLE IF EXISTS results")
            conn.execute(_SCHEMA)
            conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            conn.commit()
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _move_aside(self, exc: Exception) -> None:
        aside = self.path.with_name(self.path.name + ".corrupt")
        try:
            self.path.replace(aside)
        except OSError:
            self.path.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
        self.warnings.append(f"the result cache {self.path} was corrupt ({exc}); moved it to {aside} and started afresh")

    def _reset(self, exc: Exception) -> None:
        self._conn.close()
        self._move_aside(exc)
        self._conn = self._connect()

    def get_many(self, hashes: Iterable[str], key: str) -> dict[str, UnitResult]:
        """Cached results for those of ``hashes`` stored under ``key`` (cached=True); misses are absent."""
        import numpy as np

        wanted = list(dict.fromkeys(hashes))
        found: dict[str, UnitResult] = {}
        try:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start:start + _CHUNK]
                rows = self._conn.execute(
                    "SELECT unit_hash, defect_logit, defect_probability, embedding, summary, summary_confidence, bug, mac "
                    "FROM results "
                    f"WHERE key = ? AND unit_hash IN ({','.join('?' * len(chunk))})",
                    [key, *chunk],
                ).fetchall()
                for row in rows:
                    unit_hash, logit, prob, blob, summary, confidence, bug, mac = row
                    expected = _row_mac(self._secret, (unit_hash, key, logit, prob, blob, summary, confidence, bug))
                    if expected is None or not isinstance(mac, bytes) or not hmac.compare_digest(expected, mac):
                        self.rejected += 1  # forged, copied from elsewhere or damaged: a miss, recomputed
                        continue
                    if len(blob) % 4:
                        continue  # a damaged row is a miss: it will be recomputed and overwritten
                    found[unit_hash] = UnitResult(
                        hash=unit_hash,
                        defect_probability=float(prob),
                        defect_logit=float(logit),
                        embedding=np.frombuffer(blob, dtype=np.float32).copy(),
                        summary=summary,
                        cached=True,
                        bug=_bug_from_json(bug),
                        summary_confidence=None if confidence is None else float(confidence),
                    )
        except sqlite3.DatabaseError as exc:
            if _is_corrupt(exc):
                self._reset(exc)
                return {}
            # Locked for too long by another process, or unreadable for now: recompute rather than wait.
            self._note_once(f"could not read the result cache {self.path} ({exc}); computing everything afresh")
            return found
        if self.rejected:
            self._note_once(f"the result cache {self.path} holds rows codelens did not write for you on this machine "
                            "(a committed or copied cache?): they are ignored and recomputed")
        return found

    def put_many(self, results: Iterable[UnitResult], key: str) -> bool:
        """Store (or replace) results under ``key``; False (and a warning) when they could not be stored."""
        import numpy as np

        if self.read_only:
            return False
        now = time.time()
        rows = []
        for r in results:
            fields = (r.hash, key, float(r.defect_logit), float(r.defect_probability),
                      np.asarray(r.embedding, dtype=np.float32).tobytes(), r.summary,
                      None if r.summary_confidence is None else float(r.summary_confidence), _bug_to_json(r.bug))
            rows.append((*fields, now, _row_mac(self._secret, fields)))
        sql = "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        for attempt in range(2):
            try:
                with self._conn:
                    self._conn.executemany(sql, rows)
                return True
            except sqlite3.DatabaseError as exc:
                failure = exc
            if attempt or not _is_corrupt(failure):
                break
            self._reset(failure)  # a damaged file is moved aside once; the write goes to a fresh one
        # A full disk, a read-only folder, a lock held too long: the results still reach the caller,
        # only their caching is lost, and the cache already there is left as it is.
        self._note_once(f"could not store results in the result cache {self.path} ({failure}); "
                        "the next scan computes them again")
        return False

    def _note_once(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "ResultCache":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _bug_to_json(bug: LocatedBug | None) -> str | None:
    return None if bug is None else json.dumps(asdict(bug), sort_keys=True)


def _bug_from_json(text: str | None) -> LocatedBug | None:
    """The stored located bug; a damaged one reads as none (the score itself is still good)."""
    if not text:
        return None
    try:
        return LocatedBug(**json.loads(text))
    except (ValueError, TypeError):
        return None


def _write_gitignore(folder: Path) -> None:
    """Keep the cache out of version control (a cache committed by mistake is megabytes of churn)."""
    from codelens.files import WriteRefused, write_guarded

    target = folder / ".gitignore"
    if os.path.lexists(target):
        return
    try:
        write_guarded(target, b"# Created by codelens: its result cache is local to this machine.\n*\n", root=None,
                      named_by_user=True, what="cache .gitignore")
    except WriteRefused:
        pass  # a read-only folder: the cache itself will say so


def _is_corrupt(exc: Exception) -> bool:
    """The file is damaged or not a database at all, as opposed to full, read-only, locked or unreachable."""
    name = getattr(exc, "sqlite_errorname", None)
    if name:
        return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
    return not isinstance(exc, sqlite3.OperationalError)


def _is_busy(exc: Exception) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()
