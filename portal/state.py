"""Small shared state with expiry: used-once token ids and in-flight upload locks.

Gunicorn runs several worker processes, and a replayed embed token or a double
submit may land on any of them, so with STATE_PATH set the state is a SQLite
file they share (WAL, one short transaction per call). Without it, a dict.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Protocol

from flask import Flask, current_app


class Store(Protocol):
    def claim(self, key: str, ttl: float) -> bool:
        """Take `key` for `ttl` seconds; False if someone holds it already."""

    def release(self, key: str) -> None:
        """Give `key` back before it expires."""


class MemoryStore:
    """A per-process store for the dev server and tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def claim(self, key: str, ttl: float) -> bool:
        now = time.time()
        with self._lock:
            if self._until.get(key, 0) > now:
                return False
            if len(self._until) > 10_000:
                self._until = {k: t for k, t in self._until.items() if t > now}
            self._until[key] = now + ttl
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._until.pop(key, None)


class SqliteStore:
    """A store shared by every process that opens the same file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, until REAL)")

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            # WAL + NORMAL stays consistent and skips an fsync per claim; losing the last claims
            # on power loss is harmless for locks and token ids that expire within minutes.
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def claim(self, key: str, ttl: float) -> bool:
        now = time.time()
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM claims WHERE until <= ?", (now,))
            cur = db.execute("INSERT OR IGNORE INTO claims VALUES (?, ?)", (key, now + ttl))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return cur.rowcount == 1

    def release(self, key: str) -> None:
        self._db().execute("DELETE FROM claims WHERE key = ?", (key,))


def init_app(app: Flask) -> None:
    """Attach the store the configuration asks for."""
    path = app.config["STATE_PATH"]
    app.extensions["portal.state"] = SqliteStore(path) if path else MemoryStore()


def get_store() -> Store:
    """The current app's store."""
    return current_app.extensions["portal.state"]
