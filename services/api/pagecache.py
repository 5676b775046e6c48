"""A micro-cache of list pages and investigations: the same request within
``API_LIST_CACHE_SECONDS`` (1 s) gets the bytes the previous one produced, without the database.

Public traffic is mostly the same few pages (the newest investigations, one órgão's); a second
of staleness costs nobody anything and turns a burst of identical reads into one query per
second per worker. Keys are the request's query string (or the investigation id); at most
``max_entries`` are kept, the oldest dropped first. ``API_LIST_CACHE_SECONDS=0`` turns it off.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool


class PageCache:
    def __init__(self, ttl_seconds: float, *, max_entries: int = 1024, max_bytes: int = 8_000_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        # Builds under way, by key; touched only from the worker's event loop.
        self._building: dict[str, asyncio.Future[bytes]] = {}

    async def get_or_build(self, key: str, build: Callable[[], bytes]) -> bytes:
        """The cached bytes, or ``build()`` run once in the thread pool however many requests
        for the same key arrive meanwhile: a burst costs one query, not one per request."""
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
        try:
            body = await run_in_threadpool(build)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved here: waiters re-raise it, none is required to
            raise
        finally:
            self._building.pop(key, None)
        self.put(key, body)
        future.set_result(body)
        return body

    def get(self, key: str) -> bytes | None:
        if self.ttl_seconds <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() - entry[0] >= self.ttl_seconds:
                del self._entries[key]
                self._bytes -= len(entry[1])
                return None
            return entry[1]

    def put(self, key: str, body: bytes) -> None:
        if self.ttl_seconds <= 0 or len(body) > self.max_bytes // 8:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous[1])
            self._entries[key] = (self._clock(), body)
            self._bytes += len(body)
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= len(dropped)


class PublicReadCacheMiddleware:
    """The same micro-cache in front of routing, for deployments whose reads are public.

    A hit then costs what a static page costs: no query-parameter parsing, no dependencies, no
    thread pool. Only ``GET`` requests under ``prefix`` that answered 200 are kept, keyed by path
    and query string. With ``API_READ_KEY_REQUIRED=true`` it is not installed (an answer must not
    reach a caller who has not shown a key); the route-level cache still serves those.
    """

    def __init__(self, app: Any, *, ttl_seconds: float, prefix: str) -> None:
        self.app = app
        self.cache = PageCache(ttl_seconds)
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

        async def keep(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and status == 200:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self.cache.put(key, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, keep)
