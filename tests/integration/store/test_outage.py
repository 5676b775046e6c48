"""A database outage in the middle of a batch leaves no partial batch, and the error names the operation.

To stop a batch *in the middle* deterministically, another transaction inserts (without
committing) the id of the batch's last contract: the batch's INSERT writes the 499 rows before it,
then waits on that row. The test sees the wait in ``pg_stat_activity``, terminates the batch's
backend with ``pg_terminate_backend`` — the server-side view of an outage — and checks that none of
the batch landed, not even the versions of the contracts it changed.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from shared.domain import canonical_hash
from shared.store.base import Store, StoreError, StoreUnavailable
from tests.integration.store.factories import make_contract
from tests.support.postgrest import PostgrestStandIn
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration

BLOCKED_ID = 10_500


def batch_with_changes() -> tuple[list[Any], list[Any]]:
    existing = [make_contract(i) for i in range(1, 11)]
    changed = []
    for contract in existing:
        raw = {**contract.raw, "valorFinalCompra": "1.00"}
        changed.append(dataclasses.replace(contract, raw=raw, content_hash=canonical_hash(raw), valor_final=Decimal("1")))
    new = [make_contract(i) for i in range(10_011, 10_011 + 489)] + [make_contract(BLOCKED_ID)]
    return existing, changed + new


@contextmanager
def blocking_row(database_url: str, contract_id: int) -> Iterator[psycopg.Connection[Any]]:
    """An open transaction holding an uncommitted row with this id; rolled back on exit."""
    conn = psycopg.connect(database_url, application_name="vigia-store-blocker")
    try:
        conn.execute("INSERT INTO contracts (id, source, content_hash) VALUES (%s, 'portal', 'blocker')", (contract_id,))
        yield conn
    finally:
        conn.rollback()
        conn.close()


def waiting_insert_pid(db: psycopg.Connection[Any]) -> int | None:
    row = db.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
        "AND query ~* 'INSERT INTO \"?contracts' AND application_name <> 'vigia-store-blocker'"
    ).fetchone()
    return None if row is None else int(row[0])


def run_in_thread(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = call()
        except BaseException as error:  # handed to the test thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def landed(db: psycopg.Connection[Any], ids: list[int]) -> int:
    row = db.execute("SELECT count(*) FROM contracts WHERE id = ANY(%s) AND content_hash <> 'blocker'", (ids,)).fetchone()
    assert row is not None
    return int(row[0])


def test_it_leaves_no_partial_batch_when_the_connection_dies_midway(
    store: Store, db: psycopg.Connection[Any], store_database_url: str
) -> None:
    existing, batch = batch_with_changes()
    store.upsert_contracts(existing)
    new_ids = [c.id for c in batch[len(existing):]]

    with blocking_row(store_database_url, BLOCKED_ID):
        thread, outcome = run_in_thread(lambda: store.upsert_contracts(batch))
        pid = wait_for(lambda: waiting_insert_pid(db), timeout=30, what="the batch's INSERT to wait on the blocker")
        db.execute("SELECT pg_terminate_backend(%s)", (pid,))
        thread.join(timeout=60)
    assert not thread.is_alive()

    error = outcome.get("error")
    assert isinstance(error, StoreUnavailable), outcome
    assert str(error).startswith("upsert_contracts(500 contracts): ")
    assert "terminat" in str(error) or "connection" in str(error)
    assert landed(db, new_ids) == 0
    versions = db.execute("SELECT count(*) FROM contract_versions").fetchone()
    assert versions == (0,)
    hashes = {r[0]: r[1] for r in db.execute("SELECT id, content_hash FROM contracts WHERE id <= 10")}
    assert hashes == {c.id: c.content_hash for c in existing}

    # the store recovers on its own: the broken connection is not handed out again
    result = store.upsert_contracts(batch)
    assert result.changed == [c.id for c in existing] and len(result.new) == 490


def test_it_rolls_back_a_batch_whose_statement_fails_midway(
    db: psycopg.Connection[Any], store_database_url: str
) -> None:
    from shared.store.postgres import PostgresStore

    _, batch = batch_with_changes()
    store = PostgresStore(store_database_url, application_name="vigia-store-timeout", statement_timeout_ms=500)
    try:
        with blocking_row(store_database_url, BLOCKED_ID):
            with pytest.raises(StoreError, match=r"^upsert_contracts\(500 contracts\): .*statement timeout"):
                store.upsert_contracts(batch)
        assert landed(db, [c.id for c in batch]) == 0
        assert store.upsert_contracts(batch).new == [c.id for c in batch]
    finally:
        store.close()


def test_it_names_the_operation_when_the_database_cannot_be_reached() -> None:
    from shared.store.postgres import PostgresStore

    store = PostgresStore("postgresql://nobody@127.0.0.1:1/none", pool_timeout=1.0, connect_timeout=1)
    try:
        with pytest.raises(StoreUnavailable, match=r"^upsert_contracts\(1 contracts\): no database connection"):
            store.upsert_contracts([make_contract(1)])
        with pytest.raises(StoreUnavailable, match=r"^ping: "):
            store.ping()
    finally:
        store.close()


def test_it_names_the_operation_when_supabase_answers_with_a_proxy_error(
    db: psycopg.Connection[Any], postgrest: PostgrestStandIn
) -> None:
    from shared.store.supabase import SupabaseStore

    store = SupabaseStore(postgrest.url, postgrest.service_key)
    try:
        postgrest.fail_next(502)
        with pytest.raises(StoreUnavailable, match=r"^upsert_contracts\(2 contracts\): HTTP 502"):
            store.upsert_contracts([make_contract(1), make_contract(2)])
        assert store.count_contracts() == 0
    finally:
        store.close()


def test_it_names_the_operation_when_supabase_cannot_be_reached() -> None:
    from shared.store.supabase import SupabaseStore

    store = SupabaseStore("http://127.0.0.1:1", "key", timeout=2)
    try:
        with pytest.raises(StoreUnavailable, match=r"^open_run\(vigia.test\): cannot reach Supabase"):
            store.open_run("vigia.test", {})
    finally:
        store.close()
