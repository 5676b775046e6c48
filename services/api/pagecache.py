"""A cache of list pages and investigations: the same request gets the bytes the previous one
produced, without the database, for as long as nothing they show can have changed.

Public traffic is mostly the same few pages (the newest investigations, one órgão's), and what
they show changes only when the pipeline writes. Each kept page is tagged with the generation of
:class:`services.api.changes.ChangeFeed` it was built under (read before the query runs, so a
write that commits during the build counts as a change) and with the scopes it shows
(:func:`page_scopes`: a detail shows one investigation, a page filtered by órgão or indicator
the investigations of that órgão or with that indicator, any other list page any investigation). A page is served again

- within ``API_LIST_CACHE_SECONDS`` (1 s) of being built, whatever happened meanwhile: a burst
  of identical reads costs one query per second per worker even while a sweep writes; and
- while the feed is live and has notified no change in the page's scopes since it was built, up
  to :data:`~services.api.changes.MAX_AGE_SECONDS`: a page nothing has touched is built once,
  and a sweep writing one órgão's investigations leaves the other órgãos' pages and the details
  it does not write alone.

So a change reaches readers within a second at most, as with a plain one-second cache. Without a
live feed (Supabase through PostgREST, a transaction-mode pooler, the listening connection down)
only the first rule applies. Keys are the request's query string (or the investigation id); at
most ``max_entries`` and ``max_bytes`` are kept, the least recently built dropped first.
``API_LIST_CACHE_SECONDS=0`` turns it off.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool

from services.api.changes import (
    ANY,
    INVESTIGATIONS,
    MAX_AGE_SECONDS,
    ChangeFeed,
    detail_scope,
    indicator_scope,
    orgao_scope,
)
from shared.config import Settings


def public_cache_on(settings: Settings) -> bool:
    """Whether :class:`PublicReadCacheMiddleware` answers before routing (reads are public)."""
    return not settings.api_read_key_required and settings.api_list_cache_seconds > 0


def list_scopes(orgao: str | None, indicator: str | None) -> tuple[str, ...]:
    """What a list page shows: that órgão's investigations when filtered by one, else those with
    that indicator when filtered by one, else any. (Filtered by both, a change that shows in it
    is in both scopes, so either will do.)"""
    if orgao is not None:
        return (orgao_scope(orgao),)
    return (indicator_scope(indicator),) if indicator is not None else (INVESTIGATIONS,)


def page_scopes(path: str, query_string: str, *, prefix: str) -> tuple[str, ...]:
    """The scopes of the answer to ``GET path?query_string`` under the investigations ``prefix``,
    read as the routes read it: ``orgao`` or ``indicator`` once filters the list (given twice, the
    route takes one of them: scoped as any); ``/<uuid>`` is a detail. Anything else may show anything."""
    rest = path[len(prefix):] if path.startswith(prefix) else None
    if rest in ("", "/"):
        query = parse_qs(query_string, keep_blank_values=True)
        orgaos, indicators = query.get("orgao", []), query.get("indicator", [])
        if len(orgaos) > 1 or len(indicators) > 1:
            return (ANY,)
        return list_scopes(orgaos[0] if orgaos else None, indicators[0] if indicators else None)
    if rest is not None and rest.count("/") == 1:
        try:
            return (detail_scope(str(uuid.UUID(rest[1:]))),)
        except ValueError:
            pass
    return (ANY,)


class PageCache:
    def __init__(self, ttl_seconds: float, *, feed: ChangeFeed | None = None, max_entries: int = 4096,
                 max_bytes: int = 32_000_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.feed = feed  # set when the worker's resources open (see app.py's lifespan)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        # key -> (built at, generation it was built under or None, scopes it shows, body)
        self._entries: OrderedDict[str, tuple[float, int | None, tuple[str, ...], bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        # Builds under way, by key; touched only from the worker's event loop.
        self._building: dict[str, asyncio.Future[bytes]] = {}

    async def get_or_build(self, key: str, build: Callable[[], bytes], scopes: tuple[str, ...] = (ANY,)) -> bytes:
        """The cached bytes, or ``build()`` run once in the thread pool however many requests
        for the same key arrive meanwhile: a burst costs one query, not one per request.
        ``scopes`` are what the page shows (:func:`list_scopes`, :func:`page_scopes`)."""
        cached = self.get(key)
        if cached is not None:
            return cached
        if self.ttl_seconds <= 0:
            return await run_in_threadpool(build)
        pending = self._building.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._building[key] = future
        generation = self.generation()
        try:
            body = await run_in_threadpool(build)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved here: waiters re-raise it, none is required to
            raise
        finally:
            self._building.pop(key, None)
        self.put(key, body, generation, scopes)
        future.set_result(body)
        return body

    def generation(self) -> int | None:
        """The feed's generation while it is live, else None: read it before building a page."""
        feed = self.feed
        return feed.generation if feed is not None and feed.live else None

    def get(self, key: str) -> bytes | None:
        if self.ttl_seconds <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            built_at, generation, scopes, body = entry
            age = self._clock() - built_at
            if age < self.ttl_seconds:
                return body
            feed = self.feed
            if (generation is not None and age < MAX_AGE_SECONDS and feed is not None
                    and feed.unchanged_since(generation, scopes)):
                return body
            del self._entries[key]
            self._bytes -= len(body)
            return None

    def put(self, key: str, body: bytes, generation: int | None, scopes: tuple[str, ...] = (ANY,)) -> None:
        """Keep ``body`` for ``key``; ``generation`` is :meth:`generation` as read before building
        it, ``scopes`` what it shows."""
        if self.ttl_seconds <= 0 or len(body) > self.max_bytes // 8:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous[3])
            self._entries[key] = (self._clock(), generation, scopes, body)
            self._bytes += len(body)
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, _, _, dropped) = self._entries.popitem(last=False)
                self._bytes -= len(dropped)


class PublicReadCacheMiddleware:
    """The same micro-cache in front of routing, for deployments whose reads are public.

    A hit then costs what a static page costs: no query-parameter parsing, no dependencies, no
    thread pool. Only ``GET`` requests under ``prefix`` that answered 200 are kept, keyed by path
    and query string. With ``API_READ_KEY_REQUIRED=true`` it is not installed (an answer must not
    reach a caller who has not shown a key); the route-level cache still serves those.
    """

    def __init__(self, app: Any, *, cache: PageCache, prefix: str) -> None:
        self.app = app
        self.cache = cache
        self.prefix = prefix

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or not str(scope.get("path", "")).startswith(
            self.prefix
        ):
            await self.app(scope, receive, send)
            return
        key = scope["path"] + "?" + scope.get("query_string", b"").decode("latin-1")
        cached = self.cache.get(key)
        if cached is not None:
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(cached)).encode())]})
            await send({"type": "http.response.body", "body": cached})
            return
        status = 0
        chunks: list[bytes] = []
        generation = self.cache.generation()

        async def keep(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and status == 200:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    query_string = scope.get("query_string", b"").decode("latin-1")
                    self.cache.put(key, b"".join(chunks), generation,
                                   page_scopes(scope["path"], query_string, prefix=self.prefix))
            await send(message)

        await self.app(scope, receive, keep)
