"""The /stats and /orgaos summaries: loaded at start, refreshed behind a stale answer, aggregated
once for every worker that shares them."""

from __future__ import annotations

import threading
from typing import Any

from services.api import summaries
from services.api.summaries import Parts, Summary, SummaryCache
from tests.support.processes import wait_for


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Loader:
    """A summary's aggregate that counts its calls and answers what it is told to."""

    def __init__(self, *answers: Parts) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self) -> Parts:
        self.calls += 1
        return self.answers[min(self.calls, len(self.answers)) - 1]


class FakeShared:
    """SharedSummaries' contract in memory: copies by name and a lock only one worker holds."""

    def __init__(self) -> None:
        self.copies: dict[str, Summary] = {}
        self.held: set[str] = set()
        self.published = threading.Event()

    def read(self, key: str) -> Summary | None:
        return self.copies.get(key)

    def publish(self, key: str, summary: Summary, *, keep_seconds: float) -> None:
        self.copies[key] = summary
        self.published.set()

    def claim(self, key: str) -> Any | None:
        if key in self.held:
            return None
        self.held.add(key)
        shared = self

        class Lock:
            def release(self) -> None:
                shared.held.discard(key)

        return Lock()


def refreshed(cache: SummaryCache, key: str, parts: Parts) -> bool:
    return cache.peek(key) == parts


def test_it_loads_every_summary_at_start_so_no_read_waits() -> None:
    stats, orgaos = Loader((b'{"n":1}',)), Loader((b'{"a":1}', b'{"b":2}'))
    cache = SummaryCache(15, {"stats": stats, "orgaos": orgaos}, clock=Clock())
    warm = cache.start()
    assert warm is not None
    warm.join(5)
    assert not warm.is_alive()
    assert (stats.calls, orgaos.calls) == (1, 1)
    assert cache.peek("stats") == (b'{"n":1}',)
    assert cache.peek("orgaos") == (b'{"a":1}', b'{"b":2}')
    assert (stats.calls, orgaos.calls) == (1, 1)  # the reads came from memory


def test_it_keeps_answering_the_stale_value_while_one_background_refresh_runs() -> None:
    clock = Clock()
    release, started, loads = threading.Event(), threading.Event(), []

    def stats() -> Parts:
        loads.append(1)
        if len(loads) == 1:
            return (b"old",)
        started.set()
        release.wait(5)
        return (b"new",)

    cache = SummaryCache(10, {"stats": stats}, clock=clock)
    assert cache.load("stats") == (b"old",)
    clock.now += 11
    assert cache.peek("stats") == (b"old",)  # the reader does not wait for the database
    assert started.wait(5)
    assert cache.peek("stats") == (b"old",)  # a second stale read starts no second refresh
    release.set()
    wait_for(lambda: refreshed(cache, "stats", (b"new",)), timeout=5, interval=0.01, what="the refresh")
    assert len(loads) == 2


def test_it_counts_the_age_from_when_the_answer_was_computed_not_when_this_worker_got_it() -> None:
    clock, shared = Clock(), FakeShared()
    shared.copies["stats"] = Summary((b"theirs",), computed_at=clock.now)
    stats = Loader((b"mine",))
    cache = SummaryCache(15, {"stats": stats}, shared=shared, clock=clock)  # type: ignore[arg-type]
    clock.now += 10
    assert cache.load("stats") == (b"theirs",)  # 10 s old: fresh enough to start from
    assert stats.calls == 0
    clock.now += 6  # 16 s after it was computed, 6 s after this worker took it
    assert cache.peek("stats") == (b"theirs",)
    wait_for(lambda: refreshed(cache, "stats", (b"mine",)), timeout=5, interval=0.01, what="the refresh")
    assert stats.calls == 1 and shared.copies["stats"].parts == (b"mine",)


def test_it_aggregates_once_for_two_workers_and_the_other_takes_the_copy() -> None:
    clock, shared = Clock(), FakeShared()
    go, first_started = threading.Event(), threading.Event()

    def first_worker() -> Parts:
        first_started.set()
        go.wait(5)
        return (b"fresh",)

    def waits_for_the_copy(seconds: float) -> None:  # the second worker's poll: the first finishes
        go.set()
        assert shared.published.wait(5)

    second_loader = Loader((b"second's own",))
    first = SummaryCache(15, {"stats": first_worker}, shared=shared, clock=clock)  # type: ignore[arg-type]
    second = SummaryCache(15, {"stats": second_loader}, shared=shared, clock=clock,  # type: ignore[arg-type]
                          sleep=waits_for_the_copy)
    loader = threading.Thread(target=first.load, args=("stats",))
    loader.start()
    assert first_started.wait(5)
    assert second.load("stats") == (b"fresh",)
    loader.join(5)
    assert first.peek("stats") == (b"fresh",)
    assert second_loader.calls == 0
    assert not shared.held  # the lock is given back


def test_it_aggregates_itself_when_the_lock_holder_never_publishes() -> None:
    clock, shared = Clock(), FakeShared()
    shared.held.add("stats")  # a worker that died holding it

    def waits(seconds: float) -> None:
        clock.now += seconds * 100

    stats = Loader((b"mine",))
    cache = SummaryCache(15, {"stats": stats}, shared=shared, clock=clock, sleep=waits)  # type: ignore[arg-type]
    assert cache.load("stats") == (b"mine",)
    assert stats.calls == 1


def test_it_tries_a_failed_refresh_again_only_after_a_pause() -> None:
    clock, calls = Clock(), []

    def stats() -> Parts:
        calls.append(1)
        if len(calls) == 1:
            return (b"first",)
        raise RuntimeError("database away")

    cache = SummaryCache(60, {"stats": stats}, clock=clock)
    cache.load("stats")
    clock.now += 61
    assert cache.peek("stats") == (b"first",)
    wait_for(lambda: len(calls) == 2 and not cache._entries["stats"].refreshing, timeout=5, interval=0.01,
             what="the failed refresh")
    assert cache.peek("stats") == (b"first",)  # the previous answer, and no new refresh yet
    assert len(calls) == 2 and not cache._entries["stats"].refreshing
    clock.now += summaries.RETRY_SECONDS
    assert cache.peek("stats") == (b"first",)
    wait_for(lambda: len(calls) == 3, timeout=5, interval=0.01, what="the retried refresh")


def test_it_starts_when_the_database_is_away_and_the_first_read_loads() -> None:
    calls = []

    def stats() -> Parts:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        return (b"back",)

    cache = SummaryCache(15, {"stats": stats}, clock=Clock())
    warm = cache.start()
    assert warm is not None
    warm.join(5)
    assert not warm.is_alive() and cache.peek("stats") is None
    assert cache.load("stats") == (b"back",)
    assert cache.peek("stats") == (b"back",)


def test_it_reads_through_with_a_zero_ttl() -> None:
    stats = Loader((b"one",), (b"two",))
    cache = SummaryCache(0, {"stats": stats})
    assert cache.start() is None
    assert cache.peek("stats") is None
    assert [cache.load("stats") for _ in range(2)] == [(b"one",), (b"two",)]
