"""PostgreSQL's change notifications and the page cache that trusts them, on the real database.

The triggers are checked with a plain LISTEN connection: notifications arrive in commit order,
so a marker sent after the writes under test closes the list of what they sent. The feed is
checked by its generation, and the cache by a write made with triggers off in that session (which
a rebuilt page would show and a kept page does not).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.changes import CHANNEL, ChangeFeed
from shared.store.base import Store
from tests.integration.api.conftest import api_settings, make_contract, seed_investigation
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration


def _sent_by(database_url: str, writes: Any) -> list[str]:
    """The payloads the committed writes of ``writes(conn)`` sent on the channel, in order."""
    with psycopg.connect(database_url, autocommit=True) as listener, psycopg.connect(database_url) as writer:
        listener.execute(f"LISTEN {CHANNEL}")
        writes(writer)
        writer.commit()
        writer.execute("SELECT pg_notify(%s, 'marker')", (CHANNEL,))
        writer.commit()
        payloads: list[str] = []
        for notify in listener.notifies(timeout=10):
            if notify.payload == "marker":
                return payloads
            payloads.append(notify.payload)
    raise AssertionError(f"the marker never arrived; got {payloads}")


def test_a_committed_write_notifies_once_per_table_and_a_rollback_or_a_no_op_upsert_not_at_all(
    database_url: str, store: Store, orgao: str
) -> None:
    contract = make_contract(orgao)
    store.upsert_contracts([contract])
    # A sweep that reads a contract again refreshes its last_seen_at, which no answer shows: nothing.
    assert _sent_by(database_url, lambda conn: store.upsert_contracts([contract])) == []
    changed = dataclasses.replace(contract, objeto="Aquisição de outro material", content_hash="outro")
    assert _sent_by(database_url, lambda conn: store.upsert_contracts([changed])) == ["contracts"]

    seeded: list[Any] = []
    sent = _sent_by(database_url, lambda conn: seeded.append(seed_investigation(store, orgao)))
    assert set(sent) == {"contracts", "investigations", "findings"}, sent
    ident = seeded[0].investigation.id

    def writes(conn: psycopg.Connection[Any]) -> None:
        with conn.transaction(force_rollback=True):
            conn.execute("UPDATE investigations SET summary = 'desfeito' WHERE id = %s", (ident,))
        for _ in range(3):  # three rows' worth in one transaction: delivered once
            conn.execute("UPDATE investigations SET progress = progress WHERE id = %s", (ident,))

    assert _sent_by(database_url, writes) == ["investigations"]


def test_the_feed_counts_a_commit_and_comes_back_after_its_connection_is_killed(database_url: str, orgao: str) -> None:
    feed = ChangeFeed(database_url, application_name="vigia-feed-test").start()
    try:
        assert feed.wait_live(15)
        before = feed.generation
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("UPDATE contracts SET objeto = objeto WHERE orgao_codigo = %s", (orgao,))  # no row: nothing
            conn.execute("SELECT pg_notify(%s, 'x')", (CHANNEL,))
        wait_for(lambda: feed.generation > before, timeout=10, what="the feed to count the notification")
        with psycopg.connect(database_url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'vigia-feed-test'"
            ).fetchall()
        assert killed and all(row[0] for row in killed)
        after_kill = feed.generation
        # Notifications sent while it was away are lost: it counts a change when it is back.
        wait_for(lambda: feed.live and feed.generation > after_kill, timeout=30, what="the feed to reconnect")
    finally:
        feed.close()
    assert not feed.live


@pytest.fixture
def cached_client(database_url: str, redis_url: str) -> Iterator[TestClient]:
    settings = api_settings(database_url, redis_url, api_list_cache_seconds=1)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_a_page_is_kept_past_its_second_until_what_it_shows_changes(
    cached_client: TestClient, database_url: str, store: Store, orgao: str
) -> None:
    ident = seed_investigation(store, orgao).investigation.id
    app = cached_client.app
    pages = app.state.public_pages  # type: ignore[attr-defined]
    resources = app.state.resources  # type: ignore[attr-defined]
    assert pages is not None and resources.changes is not None and resources.changes.wait_live(15)
    feed = resources.changes
    clock = [0.0]
    pages._clock = resources.pages._clock = lambda: clock[0]  # the public cache and the route's
    url = f"/api/v1/investigations/{ident}"
    first = cached_client.get(url).json()["summary"]
    assert first

    # Written with triggers off in that session: a page rebuilt from the database would show it.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE investigations SET summary = 'sem aviso' WHERE id = %s", (ident,))
    clock[0] = 30.0  # well past API_LIST_CACHE_SECONDS: kept only because nothing notified a change
    assert cached_client.get(url).json()["summary"] == first

    before = feed.generation
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE investigations SET summary = 'com aviso' WHERE id = %s", (ident,))
    wait_for(lambda: feed.generation > before, timeout=10, what="the change notification")
    assert cached_client.get(url).json()["summary"] == "com aviso"

    clock[0] = 30.5  # within the second, even a change is not looked at: bursts stay one query
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE investigations SET summary = 'recente' WHERE id = %s", (ident,))
    assert cached_client.get(url).json()["summary"] == "com aviso"
    clock[0] = 31.5
    wait_for(lambda: cached_client.get(url).json()["summary"] == "recente", timeout=10,
             what="the change to reach the page")
