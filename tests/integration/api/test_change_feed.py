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
from shared.domain import Severity
from shared.store.base import Store
from tests.integration.api.conftest import api_settings, make_contract, seed_investigation
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration

READ_KEY = "change-feed-read-key-0123456789"  # pragma: allowlist secret


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


def test_a_committed_write_notifies_what_it_touched_once_and_a_rollback_or_a_no_op_upsert_not_at_all(
    database_url: str, store: Store, orgao: str
) -> None:
    contract = make_contract(orgao)
    store.upsert_contracts([contract])
    # A sweep that reads a contract again refreshes its last_seen_at, which no answer shows: nothing.
    assert _sent_by(database_url, lambda conn: store.upsert_contracts([contract])) == []
    changed = dataclasses.replace(contract, objeto="Aquisição de outro material", content_hash="outro")
    # A changed contract no investigation shows (yet) changes no page either.
    assert _sent_by(database_url, lambda conn: store.upsert_contracts([changed])) == []

    seeded: list[Any] = []
    sent = _sent_by(database_url, lambda conn: seeded.append(seed_investigation(store, orgao)))
    ident = seeded[0].investigation.id
    # Its row (list pages of all, of its órgão and of its indicators, and its detail) as created
    # (no findings yet) and as completed, and its findings (its detail).
    indicators = ",".join(seeded[0].investigation.finding_indicators)
    assert indicators == "direct_award"
    assert set(sent) == {f"i {ident} {orgao} ", f"i {ident} {orgao} {indicators}", f"d {ident}"}, sent
    contract = dataclasses.replace(seeded[0].contract, objeto="Objeto corrigido", content_hash="corrigido")
    assert _sent_by(database_url, lambda conn: store.upsert_contracts([contract])) == [f"d {ident}"]

    def writes(conn: psycopg.Connection[Any]) -> None:
        with conn.transaction(force_rollback=True):
            conn.execute("UPDATE investigations SET summary = 'desfeito' WHERE id = %s", (ident,))
        for _ in range(3):  # three rows' worth in one transaction: delivered once
            conn.execute("UPDATE investigations SET progress = progress WHERE id = %s", (ident,))

    assert _sent_by(database_url, writes) == [f"i {ident} {orgao} {indicators}"]
    moved = f"{(int(orgao) + 1) % 100000:05d}"
    sent = _sent_by(database_url, lambda conn: conn.execute(
        "UPDATE investigations SET orgao_codigo = %s WHERE id = %s", (moved, ident)))
    # The órgão it left and the one it joined.
    assert sorted(sent) == sorted([f"i {ident} {orgao} {indicators}", f"i {ident} {moved} {indicators}"])
    with psycopg.connect(database_url, autocommit=True) as conn:  # as it was, for the other tests
        conn.execute("UPDATE investigations SET orgao_codigo = %s WHERE id = %s", (orgao, ident))


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


@pytest.mark.parametrize("reads", ["public", "with a read key"])
def test_a_write_ends_only_the_kept_pages_that_show_it(
    reads: str, database_url: str, redis_url: str, store: Store, orgao: str
) -> None:
    """Public reads are kept by the middleware in front of routing; with read keys, by the routes."""
    other_orgao = f"{(int(orgao) + 7) % 100000:05d}"
    one = seed_investigation(store, orgao)
    other = seed_investigation(store, other_orgao, findings=[("late_publication", Severity.LOW)])
    keyed = {"api_read_key_required": True, "api_read_keys": [READ_KEY]} if reads != "public" else {}
    settings = api_settings(database_url, redis_url, api_list_cache_seconds=1, **keyed)
    with TestClient(create_app(settings), headers={"X-API-Key": READ_KEY} if keyed else {}) as cached_client:
        _only_what_shows_it_changes(cached_client, database_url, one, other, orgao, other_orgao)


def _only_what_shows_it_changes(cached_client: TestClient, database_url: str, one: Any, other: Any,
                                orgao: str, other_orgao: str) -> None:
    app = cached_client.app
    public = app.state.public_pages  # type: ignore[attr-defined]
    resources = app.state.resources  # type: ignore[attr-defined]
    assert resources.changes is not None and resources.changes.wait_live(15)
    feed = resources.changes
    clock = [0.0]
    resources.pages._clock = lambda: clock[0]
    if public is not None:
        public._clock = lambda: clock[0]
    base = "/api/v1/investigations"
    urls = {
        "one": f"{base}/{one.investigation.id}", "other": f"{base}/{other.investigation.id}",
        "orgao": f"{base}?orgao={orgao}", "other orgao": f"{base}?orgao={other_orgao}",
        "all": f"{base}?contract_id={one.contract.id}",  # not filtered by órgão: any write may change it
        # Filtered by indicator (the contract only keeps other tests' rows out of it).
        "indicator": f"{base}?indicator=late_publication&contract_id={other.contract.id}",
    }

    def summaries() -> dict[str, str]:
        answers = {name: cached_client.get(url).json() for name, url in urls.items()}
        return {name: body["summary"] if "summary" in body else body["items"][0]["summary"]
                for name, body in answers.items()}

    def notified(sql: str, *params: Any) -> None:
        before = feed.generation
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql, params)
        wait_for(lambda: feed.generation > before, timeout=10, what="the change notification")
        clock[0] += 2.0  # past API_LIST_CACHE_SECONDS (within MAX_AGE_SECONDS): the feed decides

    first = summaries()
    assert set(first.values()) == {"Resumo de teste."}
    # Written with triggers off in that session: a page rebuilt from the database shows "silencioso".
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE investigations SET summary = 'silencioso' WHERE id IN (%s, %s)",
                     (one.investigation.id, other.investigation.id))

    # One of órgão `orgao` with a direct_award finding: neither the other órgão's nor late_publication's pages.
    notified("UPDATE investigations SET progress = progress WHERE id = %s", one.investigation.id)
    assert summaries() == {**first, "one": "silencioso", "orgao": "silencioso", "all": "silencioso"}

    notified("UPDATE findings SET explanation = explanation || '.' WHERE investigation_id = %s",
             other.investigation.id)
    assert summaries() == {**first, "one": "silencioso", "orgao": "silencioso", "all": "silencioso",
                           "other": "silencioso"}  # a finding shows in its detail only

    notified("UPDATE investigations SET progress = progress WHERE id = %s", other.investigation.id)
    assert set(summaries().values()) == {"silencioso"}
