"""The shared store: the same behaviour from memory, a SQLite file and a real Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from portal.state import MemoryStore, RedisStore, SqliteStore, Store


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        yield SqliteStore(str(tmp_path / "state.sqlite3"))
    else:
        server = request.getfixturevalue("redis_server")
        server.flush()
        yield RedisStore(server.url)


def test_claim_is_taken_once_until_released_or_expired(store: Store) -> None:
    assert store.claim("k", 5) is True
    assert store.claim("k", 5) is False
    store.release("k")
    assert store.claim("k", 0.2) is True
    time.sleep(0.3)
    assert store.claim("k", 5) is True


def test_records_hold_values_and_expire(store: Store) -> None:
    assert store.get("r") is None
    store.put("r", '{"a": 1}', 5)
    assert store.get("r") == '{"a": 1}'
    assert store.claim("r", 5, "other") is False
    store.put("r", "short", 0.2)
    time.sleep(0.3)
    assert store.get("r") is None


def test_counters_count_within_their_window(store: Store) -> None:
    assert [store.incr("c", 0.3) for _ in range(3)] == [1, 2, 3]
    time.sleep(0.4)
    assert store.incr("c", 0.3) == 1


def test_slots_never_exceed_the_limit_and_come_back(store: Store) -> None:
    taken = [store.take_slot("s", 3, 5) for _ in range(5)]
    assert sum(t is not None for t in taken) == 3 and store.slots_in_use("s") == 3
    store.give_slot("s", next(t for t in taken if t))
    assert store.slots_in_use("s") == 2
    assert store.take_slot("short", 1, 0.2) is not None
    assert store.take_slot("short", 1, 0.2) is None
    time.sleep(0.3)
    assert store.take_slot("short", 1, 0.2) is not None  # a killed holder's slot frees itself


def test_claims_race_to_exactly_one_winner(store: Store) -> None:
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def contend() -> None:
        barrier.wait()
        wins.append(store.claim("race", 5))

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1
