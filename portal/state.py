"""Small shared state with expiry: claims, records, counters and counting semaphores.

Everything that must hold across gunicorn workers and across machines goes
through one `Store`: used-once token ids, upload locks, idempotency records,
sign-in throttles, staff sessions, the Kombo in-flight budget. Three stores
implement the same protocol:

- `MemoryStore`: one process (the dev server, unit tests). Refused under
  several workers, because each worker would have its own.
- `SqliteStore` (PORTAL_STATE_PATH): every process on one machine (WAL, one
  short transaction per call). The default of `portal serve`.
- `RedisStore` (PORTAL_REDIS_URL): every instance on every machine.

Values are short strings (JSON where structured); every key expires.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from typing import Any, Protocol

import redis
from flask import Flask, current_app


class Store(Protocol):
    """What the portal needs of shared state; every entry has a time to live in seconds."""

    #: True when other processes see the same state (False: this process only).
    shared: bool

    def claim(self, key: str, ttl: float, value: str = "1") -> bool:
        """Set `key` only if it is absent (or expired); False if someone holds it already."""

    def release(self, key: str) -> None:
        """Delete `key` (give a claim back, forget a record)."""

    def get(self, key: str) -> str | None:
        """The value of `key`, or None if absent or expired."""

    def put(self, key: str, value: str, ttl: float) -> None:
        """Set `key` to `value` for `ttl` seconds, whatever was there."""

    def incr(self, key: str, ttl: float) -> int:
        """Add one to a counter and return it; a new counter lives `ttl` seconds (a fixed window)."""

    def take_slot(self, name: str, limit: int, ttl: float) -> str | None:
        """Take one of `limit` slots of a counting semaphore; a slot frees itself after `ttl`
        (a killed worker's slots come back). Returns the slot's token, or None if all are taken."""

    def give_slot(self, name: str, token: str) -> None:
        """Return a slot taken with `take_slot`."""

    def slots_in_use(self, name: str) -> int:
        """How many slots of `name` are taken now."""


class MemoryStore:
    """A per-process store for the dev server and tests."""

    shared = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, tuple[str, float]] = {}
        self._slots: dict[str, dict[str, float]] = {}

    def _live(self, key: str, now: float) -> tuple[str, float] | None:
        entry = self._data.get(key)
        if entry is not None and entry[1] <= now:
            del self._data[key]
            return None
        return entry

    def _sweep(self, now: float) -> None:
        if len(self._data) > 10_000:
            self._data = {k: v for k, v in self._data.items() if v[1] > now}

    def claim(self, key: str, ttl: float, value: str = "1") -> bool:
        now = time.time()
        with self._lock:
            if self._live(key, now) is not None:
                return False
            self._sweep(now)
            self._data[key] = (value, now + ttl)
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._live(key, time.time())
            return None if entry is None else entry[0]

    def put(self, key: str, value: str, ttl: float) -> None:
        now = time.time()
        with self._lock:
            self._sweep(now)
            self._data[key] = (value, now + ttl)

    def incr(self, key: str, ttl: float) -> int:
        now = time.time()
        with self._lock:
            entry = self._live(key, now)
            count = 1 if entry is None else int(entry[0]) + 1
            self._data[key] = (str(count), now + ttl if entry is None else entry[1])
            return count

    def take_slot(self, name: str, limit: int, ttl: float) -> str | None:
        now = time.time()
        with self._lock:
            slots = {t: u for t, u in self._slots.get(name, {}).items() if u > now}
            self._slots[name] = slots
            if len(slots) >= limit:
                return None
            token = secrets.token_hex(8)
            slots[token] = now + ttl
            return token

    def give_slot(self, name: str, token: str) -> None:
        with self._lock:
            self._slots.get(name, {}).pop(token, None)

    def slots_in_use(self, name: str) -> int:
        now = time.time()
        with self._lock:
            return sum(1 for u in self._slots.get(name, {}).values() if u > now)


class SqliteStore:
    """A store shared by every process that opens the same file."""

    shared = True

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        db = self._db()
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT, until REAL)")
        db.execute("CREATE TABLE IF NOT EXISTS slots (name TEXT, token TEXT, until REAL)")
        db.execute("CREATE INDEX IF NOT EXISTS slots_name ON slots (name)")

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            # WAL + NORMAL stays consistent and skips an fsync per call; losing the last
            # writes on power loss is harmless for state that expires within hours.
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def _tx(self, fn: Any) -> Any:
        """Run fn(db) in one IMMEDIATE transaction (one writer at a time, across processes)."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return result

    def claim(self, key: str, ttl: float, value: str = "1") -> bool:
        now = time.time()

        def run(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM kv WHERE key = ? AND until <= ?", (key, now))
            cur = db.execute("INSERT OR IGNORE INTO kv VALUES (?, ?, ?)", (key, value, now + ttl))
            if secrets.randbelow(200) == 0:  # now and then, forget what has expired
                db.execute("DELETE FROM kv WHERE until <= ?", (now,))
            return cur.rowcount == 1

        return bool(self._tx(run))

    def release(self, key: str) -> None:
        self._db().execute("DELETE FROM kv WHERE key = ?", (key,))

    def get(self, key: str) -> str | None:
        row = (
            self._db()
            .execute("SELECT value FROM kv WHERE key = ? AND until > ?", (key, time.time()))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def put(self, key: str, value: str, ttl: float) -> None:
        self._db().execute(
            "INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (key, value, time.time() + ttl)
        )

    def incr(self, key: str, ttl: float) -> int:
        now = time.time()

        def run(db: sqlite3.Connection) -> int:
            db.execute("DELETE FROM kv WHERE key = ? AND until <= ?", (key, now))
            db.execute("INSERT OR IGNORE INTO kv VALUES (?, '0', ?)", (key, now + ttl))
            db.execute("UPDATE kv SET value = CAST(value AS INTEGER) + 1 WHERE key = ?", (key,))
            return int(db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()[0])

        return int(self._tx(run))

    def take_slot(self, name: str, limit: int, ttl: float) -> str | None:
        now = time.time()
        token = secrets.token_hex(8)

        def run(db: sqlite3.Connection) -> str | None:
            db.execute("DELETE FROM slots WHERE name = ? AND until <= ?", (name, now))
            (used,) = db.execute("SELECT COUNT(*) FROM slots WHERE name = ?", (name,)).fetchone()
            if used >= limit:
                return None
            db.execute("INSERT INTO slots VALUES (?, ?, ?)", (name, token, now + ttl))
            return token

        result = self._tx(run)
        return None if result is None else str(result)

    def give_slot(self, name: str, token: str) -> None:
        self._db().execute("DELETE FROM slots WHERE name = ? AND token = ?", (name, token))

    def slots_in_use(self, name: str) -> int:
        (used,) = (
            self._db()
            .execute("SELECT COUNT(*) FROM slots WHERE name = ? AND until > ?", (name, time.time()))
            .fetchone()
        )
        return int(used)


# Atomic on the Redis server: drop expired slots, then take one if fewer than the limit are taken.
_TAKE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""
_INCR = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisStore:
    """A store shared by every instance that talks to the same Redis."""

    shared = True

    def __init__(self, url: str, prefix: str = "portal:") -> None:
        self.prefix = prefix
        self._redis = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=5, socket_connect_timeout=3
        )
        self._take = self._redis.register_script(_TAKE_SLOT)
        self._incr = self._redis.register_script(_INCR)

    def _k(self, key: str) -> str:
        return self.prefix + key

    def ping(self) -> bool:
        """True when Redis answers."""
        return bool(self._redis.ping())

    def claim(self, key: str, ttl: float, value: str = "1") -> bool:
        return bool(self._redis.set(self._k(key), value, nx=True, px=_ms(ttl)))

    def release(self, key: str) -> None:
        self._redis.delete(self._k(key))

    def get(self, key: str) -> str | None:
        value = self._redis.get(self._k(key))
        return None if value is None else str(value)

    def put(self, key: str, value: str, ttl: float) -> None:
        self._redis.set(self._k(key), value, px=_ms(ttl))

    def incr(self, key: str, ttl: float) -> int:
        return int(self._incr(keys=[self._k(key)], args=[_ms(ttl)]))

    def take_slot(self, name: str, limit: int, ttl: float) -> str | None:
        now = time.time()
        token = secrets.token_hex(8)
        args: list[float | int | str] = [now, now + ttl, limit, token, _ms(ttl)]
        return token if self._take(keys=[self._k("slots:" + name)], args=args) else None

    def give_slot(self, name: str, token: str) -> None:
        self._redis.zrem(self._k("slots:" + name), token)

    def slots_in_use(self, name: str) -> int:
        return int(self._redis.zcount(self._k("slots:" + name), time.time(), "+inf"))


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def open_store(config: Any) -> Store:
    """The store the configuration asks for: Redis, else a SQLite file, else memory."""
    if config.get("REDIS_URL"):
        return RedisStore(config["REDIS_URL"])
    if config.get("STATE_PATH"):
        return SqliteStore(config["STATE_PATH"])
    return MemoryStore()


def init_app(app: Flask) -> None:
    """Attach the store the configuration asks for."""
    app.extensions["portal.state"] = open_store(app.config)


def get_store() -> Store:
    """The current app's store."""
    return current_app.extensions["portal.state"]
