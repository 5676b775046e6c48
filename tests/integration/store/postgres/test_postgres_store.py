"""What only the PostgreSQL backend promises: lazy per-process pools, its application_name, thread safety."""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

import psycopg
import pytest

from shared.store.postgres import PostgresStore
from tests.integration.store.factories import make_contract
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration


def connections_named(db: psycopg.Connection[Any], name: str) -> int:
    row = db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s", (name,)
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_it_connects_only_on_first_use_and_names_its_connections(
    db: psycopg.Connection[Any], store_database_url: str
) -> None:
    store = PostgresStore(store_database_url, application_name="vigia-lazy-test", min_size=1, max_size=2)
    try:
        assert connections_named(db, "vigia-lazy-test") == 0
        store.ping()
        assert connections_named(db, "vigia-lazy-test") >= 1
    finally:
        store.close()
    # a closed connection's backend leaves pg_stat_activity a moment later
    wait_for(lambda: connections_named(db, "vigia-lazy-test") == 0, timeout=10, what="the pool's connections to close")


def test_it_sets_the_statement_timeout_on_its_connections(store_database_url: str) -> None:
    store = PostgresStore(store_database_url, application_name="vigia-timeout-test", statement_timeout_ms=1234)
    try:
        with store._op("check") as conn:
            row = conn.execute("SHOW statement_timeout").fetchone()
        assert row is not None and row["statement_timeout"] == "1234ms"
    finally:
        store.close()


def test_it_upserts_the_same_batch_from_many_threads_consistently(
    db: psycopg.Connection[Any], store_database_url: str
) -> None:
    store = PostgresStore(store_database_url, application_name="vigia-threads-test", max_size=4)
    batch = [make_contract(i) for i in range(1, 201)]
    results: list[Any] = []
    errors: list[BaseException] = []

    def upsert() -> None:
        try:
            results.append(store.upsert_contracts(batch))
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=upsert) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        store.close()
    assert not errors
    # exactly one thread inserted each contract; the others saw it unchanged
    assert sorted(len(r.new) for r in results) == [0, 0, 0, 200]
    assert all(len(r.new) + len(r.unchanged) == 200 and not r.changed for r in results)
    assert store_count(db) == 200


def store_count(db: psycopg.Connection[Any]) -> int:
    row = db.execute("SELECT count(*) FROM contracts").fetchone()
    assert row is not None
    return int(row[0])


def _count_in_child(store: PostgresStore, queue: Any) -> None:
    try:
        queue.put(store.count_contracts())
    except BaseException as error:  # reported to the parent
        queue.put(repr(error))


def test_it_builds_a_new_pool_in_a_forked_child(db: psycopg.Connection[Any], store_database_url: str) -> None:
    store = PostgresStore(store_database_url, application_name="vigia-fork-test")
    try:
        store.upsert_contracts([make_contract(1), make_contract(2)])
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_count_in_child, args=(store, queue))
        child.start()
        child.join(timeout=60)
        assert child.exitcode == 0
        assert queue.get(timeout=10) == 2
        # the parent's pool was left alone by the child and still works
        assert store.count_contracts() == 2
    finally:
        store.close()
