"""The list/detail cache: same bytes within the TTL, or while the change feed has notified nothing
in what the page shows; nothing after; bounded in size."""

from __future__ import annotations

import pytest

from services.api.changes import INVESTIGATIONS, PROBE, ChangeFeed
from services.api.pagecache import PageCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_it_answers_within_the_ttl_and_forgets_after_it() -> None:
    clock = Clock()
    cache = PageCache(1.0, clock=clock)
    cache.put("list?orgao=26000", b"page", None)
    clock.now = 0.9
    assert cache.get("list?orgao=26000") == b"page"
    clock.now = 1.0
    assert cache.get("list?orgao=26000") is None


def test_it_keeps_at_most_max_entries_dropping_the_oldest() -> None:
    cache = PageCache(10, max_entries=2, clock=Clock())
    for key in ("a", "b", "c"):
        cache.put(key, key.encode(), None)
    assert [cache.get(k) for k in ("a", "b", "c")] == [None, b"b", b"c"]


def test_it_is_off_with_a_zero_ttl() -> None:
    cache = PageCache(0)
    cache.put("a", b"a", None)
    assert cache.get("a") is None


def test_it_builds_once_for_a_burst_of_identical_requests() -> None:
    import asyncio
    import threading

    cache = PageCache(10)
    calls: list[int] = []
    release = threading.Event()

    def build() -> bytes:
        calls.append(1)
        release.wait(5)
        return b"page"

    async def burst() -> list[bytes]:
        tasks = [asyncio.create_task(cache.get_or_build("list?", build)) for _ in range(8)]
        await asyncio.sleep(0)  # every request is waiting before the build finishes
        release.set()
        return list(await asyncio.gather(*tasks))

    assert asyncio.run(burst()) == [b"page"] * 8 and calls == [1]


def test_it_gives_every_waiter_the_builds_error_and_caches_nothing() -> None:
    import asyncio

    import pytest

    cache = PageCache(10)

    def broken() -> bytes:
        raise LookupError("no such page")

    async def burst() -> list[object]:
        return list(await asyncio.gather(*(cache.get_or_build("k", broken) for _ in range(3)), return_exceptions=True))

    results = asyncio.run(burst())
    assert all(isinstance(r, LookupError) for r in results)
    assert cache.get("k") is None
    with pytest.raises(LookupError):
        asyncio.run(cache.get_or_build("k", broken))


def test_it_serves_public_reads_before_routing_and_keeps_only_successes() -> None:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from fastapi.testclient import TestClient

    from services.api.pagecache import PublicReadCacheMiddleware

    app = FastAPI()
    calls: list[str] = []

    @app.get("/api/v1/investigations")
    def listing(orgao: str = "") -> JSONResponse:
        calls.append(orgao)
        return JSONResponse({"orgao": orgao, "n": len(calls)}, status_code=404 if orgao == "none" else 200)

    @app.get("/api/v1/stats")
    def stats() -> dict[str, int]:
        calls.append("stats")
        return {"n": len(calls)}

    app.add_middleware(PublicReadCacheMiddleware, cache=PageCache(60), prefix="/api/v1/investigations")
    with TestClient(app) as client:
        first = client.get("/api/v1/investigations", params={"orgao": "26000"}).json()
        assert client.get("/api/v1/investigations", params={"orgao": "26000"}).json() == first
        assert client.get("/api/v1/investigations", params={"orgao": "26001"}).json()["orgao"] == "26001"
        for _ in range(2):
            assert client.get("/api/v1/investigations", params={"orgao": "none"}).status_code == 404
            client.get("/api/v1/stats")
    assert calls == ["26000", "26001", "none", "stats", "none", "stats"]


def test_it_keeps_at_most_max_bytes_dropping_the_oldest() -> None:
    cache = PageCache(10, max_bytes=800, clock=Clock())
    for key in ("a", "b", "c"):
        cache.put(key, key.encode() * 100, None)
    cache.put("b", b"b" * 100, None)  # replacing an answer counts its bytes once: 300 bytes, not 400
    for key in ("d", "e", "f", "g", "h", "i"):  # 900 bytes in all: the oldest one goes
        cache.put(key, key.encode() * 100, None)
    assert [k for k in "abcdefghi" if cache.get(k) is not None] == list("bcdefghi")


def test_it_does_not_keep_an_answer_larger_than_an_eighth_of_its_bytes() -> None:
    cache = PageCache(10, max_bytes=800, clock=Clock())
    cache.put("big", b"x" * 101, None)
    cache.put("small", b"x" * 100, None)
    assert cache.get("big") is None and cache.get("small") == b"x" * 100


def Feed() -> ChangeFeed:  # noqa: N802 - reads as the class it returns
    """A real feed, not started: the tests hand it payloads as its listening thread would."""
    feed = ChangeFeed("postgresql://127.0.0.1:1/unused")
    feed.live = True
    return feed


def test_it_keeps_a_page_past_the_ttl_while_the_generation_it_was_built_under_holds() -> None:
    from services.api.changes import MAX_AGE_SECONDS

    clock, feed = Clock(), Feed()
    cache = PageCache(1.0, feed=feed, clock=clock)
    cache.put("a", b"a", cache.generation())
    clock.now = 30.0
    assert cache.get("a") == b"a"
    clock.now = MAX_AGE_SECONDS  # even unchanged, a page is rebuilt now and then
    assert cache.get("a") is None


def test_a_change_or_a_lost_feed_ends_a_page_past_the_ttl_but_not_within_it() -> None:
    clock, feed = Clock(), Feed()
    cache = PageCache(1.0, feed=feed, clock=clock)
    for key in ("changed", "lost"):
        cache.put(key, key.encode(), cache.generation())
    feed.record("*")
    clock.now = 0.5
    assert cache.get("changed") == b"changed"  # within the second: as a plain micro-cache
    clock.now = 2.0
    assert cache.get("changed") is None
    cache.put("lost", b"lost", cache.generation())
    feed.live = False
    clock.now = 4.0
    assert cache.generation() is None and cache.get("lost") is None


def test_a_page_built_while_the_generation_moved_is_not_kept_past_the_ttl() -> None:
    import asyncio

    clock, feed = Clock(), Feed()
    cache = PageCache(1.0, feed=feed, clock=clock)

    def build() -> bytes:  # a write commits while the query runs
        feed.record("i 0f5a4c1e-4c3b-4d0e-9a57-3a1c2b9e8d70 26000")
        return b"maybe stale"

    assert asyncio.run(cache.get_or_build("k", build)) == b"maybe stale"
    clock.now = 5.0
    assert cache.get("k") is None


def test_a_change_ends_only_the_pages_that_show_what_changed() -> None:
    from services.api.pagecache import list_scopes, page_scopes

    prefix = "/api/v1/investigations"
    one, other = "0f5a4c1e-4c3b-4d0e-9a57-3a1c2b9e8d70", "6b1e8f0a-2d4c-4e5f-8a9b-0c1d2e3f4a5b"
    clock, feed = Clock(), Feed()
    cache = PageCache(1.0, feed=feed, clock=clock)
    pages = {
        "all": (INVESTIGATIONS,),
        "orgao 26000": page_scopes(prefix, "orgao=26000&page=2", prefix=prefix),
        "orgao 26001": list_scopes("26001", "direct_award"),  # either filter is scope enough: the órgão
        "indicator": page_scopes(prefix, "indicator=late_publication", prefix=prefix),
        "twice": page_scopes(prefix, "indicator=late_publication&indicator=direct_award", prefix=prefix),
        "detail one": page_scopes(f"{prefix}/{one.upper()}", "", prefix=prefix),
        "detail other": page_scopes(f"{prefix}/{other}", "", prefix=prefix),
        "elsewhere": page_scopes(f"{prefix}/{one}/more", "", prefix=prefix),
    }

    def kept() -> set[str]:
        return {key for key in pages if cache.get(key) is not None}

    def rebuild() -> None:  # what is not kept is asked for again, then read past the TTL
        for key, scopes in pages.items():
            if cache.get(key) is None:
                cache.put(key, key.encode(), cache.generation(), scopes)
        clock.now += 2.0

    rebuild()
    feed.record(f"i {one} 26000 direct_award")  # one investigation of órgão 26000 written
    assert kept() == {"orgao 26001", "detail other", "indicator"}
    rebuild()
    feed.record(f"i {other} 26001 direct_award,late_publication")
    assert kept() == {"orgao 26000", "detail one"}
    rebuild()
    feed.record(f"d {other}")  # a finding of the other one (or its contract): its detail alone
    assert kept() == {"all", "orgao 26000", "orgao 26001", "detail one", "indicator"}
    rebuild()
    feed.record(f"{PROBE} 1234")  # another worker's probe: nothing changed but for pages that may show anything
    assert kept() == set(pages) - {"elsewhere", "twice"}
    rebuild()
    feed.record("investigations")  # what 20261207000200 sent, or anything unknown: everything
    assert kept() == set()


def test_the_feed_forgets_its_scopes_past_its_bound_by_counting_a_change_of_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.api import changes

    monkeypatch.setattr(changes, "MAX_SCOPES", 10)
    feed = Feed()
    feed.record("d 0")
    before = feed.generation
    for n in range(1, 9):  # 9 details and the scope of everything: at the bound
        feed.record(f"d {n}")
    assert feed.unchanged_since(before, ("orgao:26000", "inv:0"))
    feed.record("d 9")
    assert not feed.unchanged_since(before, ("orgao:26000",))
    assert feed.unchanged_since(feed.generation, ("orgao:26000", "inv:9"))
