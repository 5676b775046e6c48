"""The list/detail micro-cache: same bytes within the TTL, nothing after it, bounded in size."""

from __future__ import annotations

from services.api.pagecache import PageCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_it_answers_within_the_ttl_and_forgets_after_it() -> None:
    clock = Clock()
    cache = PageCache(1.0, clock=clock)
    cache.put("list?orgao=26000", b"page")
    clock.now = 0.9
    assert cache.get("list?orgao=26000") == b"page"
    clock.now = 1.0
    assert cache.get("list?orgao=26000") is None


def test_it_keeps_at_most_max_entries_dropping_the_oldest() -> None:
    cache = PageCache(10, max_entries=2, clock=Clock())
    for key in ("a", "b", "c"):
        cache.put(key, key.encode())
    assert [cache.get(k) for k in ("a", "b", "c")] == [None, b"b", b"c"]


def test_it_is_off_with_a_zero_ttl() -> None:
    cache = PageCache(0)
    cache.put("a", b"a")
    assert cache.get("a") is None
