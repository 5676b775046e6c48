"""``/stats`` and ``/orgaos`` answered from memory: no request waits for their aggregates.

Both aggregate whole tables (at a million investigations each takes PostgreSQL 0.6–0.8 s of one
core), so every gunicorn worker holds the serialised answers and keeps them current off the
request path:

- **At start** the lifespan loads every summary before the worker takes a connection
  (:meth:`SummaryCache.start`): from the copy another worker shared in Redis when it is fresh,
  else from the database. If that takes more than ``WARM_SECONDS`` (the database is away) the
  worker starts anyway and the load goes on behind it; only a request that comes before the
  first answer lands waits for it.
- **Past ``API_SUMMARY_TTL_SECONDS``**, counted from when the answer was computed (in whichever
  process), the next read starts one refresh in a background thread, and every reader keeps
  the previous answer until the new one lands.
- **Shared through Redis**: a refresh first takes a fresh copy another worker published; only
  the worker holding the summary's lock aggregates while the others wait for its copy (serving
  the old answer meanwhile), so a deployment aggregates once per TTL, not once per worker.

Freshness: while a summary is read, its answer is at most ``API_SUMMARY_TTL_SECONDS`` plus one
refresh (about a second at a million rows) old; after a quiet spell the first read gets the last
answer, however old, and starts the refresh. ``API_SUMMARY_TTL_SECONDS=0`` reads through on
every call (the tests do).

A summary is a tuple of JSON texts: ``stats`` has one, ``orgaos`` one per órgão, riskiest first,
loaded once at the largest page size, so ``?limit=n`` is its first n rows and no limit costs an
aggregate of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared import redis_keys
from shared.pipeline.errors import describe

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.store.base import Store

log = logging.getLogger("vigia.api.summaries")

Parts = tuple[bytes, ...]

# How long a worker's start waits for its first answers before serving without them.
WARM_SECONDS = 10.0
# The lock of the worker that aggregates: held for at most this long (a crashed holder frees it
# then); the others wait as long for its copy, then aggregate themselves.
LOCK_SECONDS = 30.0
POLL_SECONDS = 0.1
# After a failed refresh (the database away) the next one starts no sooner than this (or the
# TTL, if shorter): not one thread per request while readers keep the previous answer.
RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Summary:
    parts: Parts
    computed_at: float  # seconds since the epoch, comparable between processes


class SharedSummaries:
    """The copies in Redis that web workers (and instances) hand each other, and the lock that
    elects the one that aggregates. Redis errors are logged and mean "aggregate here"."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def read(self, key: str) -> Summary | None:
        try:
            at, body = self.redis.hmget(f"{redis_keys.API_SUMMARY}{key}", ["at", "body"])
        except Exception as error:
            log.warning("could not read the shared %s summary: %s", key, describe(error))
            return None
        if at is None or body is None:
            return None
        # JSON texts hold no raw newline (the encoder escapes them), so one separates the parts.
        return Summary(tuple(bytes(body).split(b"\n")) if body else (), float(at))

    def publish(self, key: str, summary: Summary, *, keep_seconds: float) -> None:
        name = f"{redis_keys.API_SUMMARY}{key}"
        try:
            with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(name, mapping={"at": repr(summary.computed_at), "body": b"\n".join(summary.parts)})
                pipe.pexpire(name, max(1, int(keep_seconds * 1000)))
                pipe.execute()
        except Exception as error:
            log.warning("could not share the %s summary: %s", key, describe(error))

    def claim(self, key: str) -> Any | None:
        """The lock for aggregating ``key`` (release it when done), or None when another worker
        holds it. When Redis fails, a stand-in lock comes back: the caller aggregates."""
        lock = self.redis.lock(f"{redis_keys.API_SUMMARY_LOCK}{key}", timeout=LOCK_SECONDS, blocking=False)
        try:
            return lock if lock.acquire() else None
        except Exception as error:
            log.warning("could not take the %s summary lock: %s", key, describe(error))
            return _NO_LOCK


class _NoLock:
    def release(self) -> None:
        pass


_NO_LOCK = _NoLock()


@dataclass
class _Entry:
    summary: Summary | None = None
    refreshing: bool = False
    retry_at: float = 0.0  # after a failed refresh, when the next may start


class SummaryCache:
    def __init__(
        self,
        ttl_seconds: float,
        loaders: Mapping[str, Callable[[], Parts]] | None = None,
        *,
        shared: SharedSummaries | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._loaders = dict(loaders or {})
        self._shared = shared
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._entries = {key: _Entry() for key in self._loaders}
        # One load per key at a time: a request before the first answer waits for the warm's.
        self._loading = {key: threading.Lock() for key in self._loaders}

    def start(self) -> threading.Thread | None:
        """Load every summary in a thread (None with a zero TTL, which caches nothing); the
        lifespan joins it for up to ``WARM_SECONDS``."""
        if self.ttl_seconds <= 0 or not self._loaders:
            return None
        thread = threading.Thread(target=self._warm, name="summaries-warm", daemon=True)
        thread.start()
        return thread

    def peek(self, key: str) -> Parts | None:
        """The answer in memory, at once (on the event loop); a stale one starts its refresh.
        None only before the first answer exists: then :meth:`load`, in the thread pool."""
        if self.ttl_seconds <= 0:
            return None
        with self._lock:
            entry = self._entries[key]
            summary = entry.summary
            if summary is None:
                return None
            start_refresh = not entry.refreshing and self._stale(summary) and self._clock() >= entry.retry_at
            if start_refresh:
                entry.refreshing = True
        if start_refresh:
            threading.Thread(target=self._refresh, args=(key,), name=f"summary-{key}", daemon=True).start()
        return summary.parts

    def load(self, key: str) -> Parts:
        """The answer, loading it if there is none yet (blocks: call it from a thread)."""
        if self.ttl_seconds <= 0:
            return self._loaders[key]()
        with self._loading[key]:
            with self._lock:
                summary = self._entries[key].summary
            if summary is None:
                summary = self._fetch(key)
                self._store(key, summary)
            return summary.parts

    def _stale(self, summary: Summary) -> bool:
        return self._clock() - summary.computed_at >= self.ttl_seconds

    def _warm(self) -> None:
        for key in self._loaders:
            try:
                self.load(key)
            except Exception as error:  # the first request loads it again
                log.warning("loading the %s summary at start failed: %s", key, describe(error))

    def _refresh(self, key: str) -> None:
        retry_at = 0.0
        try:
            with self._loading[key]:
                self._store(key, self._fetch(key))
        except Exception as error:  # readers keep the previous answer; a later stale read retries
            log.warning("refreshing the %s summary failed: %s", key, describe(error))
            retry_at = self._clock() + min(RETRY_SECONDS, self.ttl_seconds)
        finally:
            with self._lock:
                self._entries[key].refreshing = False
                self._entries[key].retry_at = retry_at

    def _fetch(self, key: str) -> Summary:
        """A fresh answer: another worker's copy when it is, else this worker's aggregate if it
        wins the lock, else the copy of the worker that won (waited for, up to its lock's life)."""
        shared = self._shared
        if shared is None:
            return self._aggregate(key)
        deadline = self._clock() + LOCK_SECONDS
        while True:
            copy = shared.read(key)
            if copy is not None and not self._stale(copy):
                return copy
            lock = shared.claim(key)
            if lock is not None:
                try:
                    summary = self._aggregate(key)
                    shared.publish(key, summary, keep_seconds=2 * self.ttl_seconds)
                    return summary
                finally:
                    _release(lock, key)
            if self._clock() >= deadline:
                return self._aggregate(key)
            self._sleep(POLL_SECONDS)

    def _aggregate(self, key: str) -> Summary:
        computed_at = self._clock()  # the rows are as of the start of the query, not its end
        return Summary(self._loaders[key](), computed_at)

    def _store(self, key: str, summary: Summary) -> None:
        with self._lock:
            entry = self._entries[key]
            if entry.summary is None or summary.computed_at >= entry.summary.computed_at:
                entry.summary = summary


def _release(lock: Any, key: str) -> None:
    try:
        lock.release()
    except Exception as error:  # expired while aggregating: another worker may hold it now
        log.warning("releasing the %s summary lock failed: %s", key, describe(error))


def summary_cache(settings: Settings, store: Store, redis: Any | None) -> SummaryCache:
    """The web worker's summaries: ``stats`` and the ``orgaos`` ranking at the largest page."""
    from services.api.schemas.reports import from_ranking, from_stats

    def stats() -> Parts:
        return (from_stats(store.stats()).model_dump_json().encode(),)

    def orgaos() -> Parts:
        rows = store.orgao_ranking(limit=settings.api_max_page_size)
        return tuple(from_ranking(row).model_dump_json().encode() for row in rows)

    return SummaryCache(settings.api_summary_ttl_seconds, {"stats": stats, "orgaos": orgaos},
                        shared=None if redis is None else SharedSummaries(redis))
