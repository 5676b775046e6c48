"""Request rate limits per client address and per API key, reads and writes apart.

Every request under ``/api/`` counts against its client address (``ip:<addr>``: the connection's
peer, or the ``X-Forwarded-For`` entry the platform's proxies wrote, :mod:`services.api.proxy`)
and, when it carries a valid key, against that key too (``key:<hash>``, never the key). Reads
(GET, HEAD) use ``API_RATE_LIMIT_READS``, writes ``API_RATE_LIMIT_WRITES``. Past either, the
answer is 429 with ``Retry-After`` (seconds until the window lets one more through) and the
request does no work.

Counters live in Redis, so every gunicorn worker and every web instance share them (the
``limits`` library's sliding-window counter: https://limits.readthedocs.io/en/stable/strategies.html).
With ``ENABLE_CELERY_WORKERS=false`` the deployment has no Redis and each worker counts in its own
memory, so each holds ``1/WEB_CONCURRENCY`` of every limit (:func:`worker_share`): the process
group as a whole never lets more through than the setting says. A client whose connections all
reach one worker gets that worker's share; with several web instances each instance holds a
whole limit (they share nothing without Redis).
If Redis stops answering, requests pass (and a warning is logged): the broker's outage already
shows in ``/health/ready``, and an API that refuses every read because its limiter is down would
turn a Redis hiccup into an outage.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.auth import key_identity, key_matches
from shared import redis_keys
from shared.config import Settings
from shared.redis_client import connection_options

log = logging.getLogger("vigia.api.ratelimit")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LIMITED_PREFIX = "/api/"
REDIS_TIMEOUT_SECONDS = 0.5  # a slow limiter must not become the request's latency


@dataclass(frozen=True)
class Refusal:
    who: str  # "client" or "key"
    limit: str
    retry_after: int


def parse_limit(text: str, setting: str) -> RateLimitItem:
    """``600/minute`` and the like (https://limits.readthedocs.io/en/stable/quickstart.html#rate-limit-string-notation)."""
    try:
        return parse(text)
    except ValueError as error:
        raise ValueError(f"{setting} must look like 600/minute or 30/second, not {text!r}") from error


def worker_share(item: RateLimitItem, workers: int) -> RateLimitItem:
    """One worker's part of ``item`` when each of ``workers`` counts alone (at least 1)."""
    if workers <= 1:
        return item
    return type(item)(max(1, item.amount // workers), item.multiples, item.namespace)


def _storage(settings: Settings) -> Storage:
    if not settings.enable_celery_workers:
        return MemoryStorage()
    options = connection_options(settings, timeout=REDIS_TIMEOUT_SECONDS)
    return RedisStorage("async+" + settings.broker_url, implementation="redispy", key_prefix=redis_keys.API_RATE_LIMIT, **options)


class RateLimiter:
    """The counters; :meth:`check` counts one request and says whether it may go on."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.reads = parse_limit(settings.api_rate_limit_reads, "API_RATE_LIMIT_READS")
        self.writes = parse_limit(settings.api_rate_limit_writes, "API_RATE_LIMIT_WRITES")
        if not settings.enable_celery_workers:  # in-memory counters, one set per worker
            self.reads = worker_share(self.reads, settings.web_concurrency)
            self.writes = worker_share(self.writes, settings.web_concurrency)
        self._keys = [*settings.api_keys, *settings.api_read_keys]
        self._storage: Storage | None = None  # built inside the worker's event loop
        self._limiter: SlidingWindowCounterRateLimiter | None = None
        self._warned_at = 0.0

    def _strategy(self) -> SlidingWindowCounterRateLimiter:
        if self._limiter is None:
            self._storage = _storage(self.settings)
            self._limiter = SlidingWindowCounterRateLimiter(self._storage)
        return self._limiter

    async def check(self, method: str, client: str | None, key: str | None) -> Refusal | None:
        item, kind = (self.reads, "read") if method in READ_METHODS else (self.writes, "write")
        subjects = [("client", f"ip:{client or 'unknown'}")]
        if key and key_matches(key, self._keys):
            subjects.append(("key", key_identity(key)))
        limiter = self._strategy()
        try:
            for who, subject in subjects:
                if not await limiter.hit(item, kind, subject):
                    stats = await limiter.get_window_stats(item, kind, subject)
                    wait = max(1, math.ceil(stats.reset_time - time.time()))
                    return Refusal(who=who, limit=str(item), retry_after=wait)
        except Exception as error:  # the limiter's store is down: let the request through
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                log.warning("rate limiter unavailable, requests pass unlimited: %s", error)
        return None


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(LIMITED_PREFIX):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = None
        for name, value in scope.get("headers", []):
            if name == b"x-api-key":
                key = value.decode("latin-1")
                break
        refusal = await self.limiter.check(str(scope.get("method", "GET")), client[0] if client else None, key)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        await _too_many(send, refusal)


async def _too_many(send: Send, refusal: Refusal) -> None:
    from services.api.errors import ErrorOut
    from shared.logging import request_id_var

    subject = "this client address" if refusal.who == "client" else "this API key"
    message = f"too many requests from {subject} (limit {refusal.limit}); retry in {refusal.retry_after} s"
    body = ErrorOut(error="rate_limited", message=message, fields=[], request_id=request_id_var.get()).model_dump_json()
    headers: list[tuple[bytes, Any]] = [
        (b"content-type", b"application/json"),
        (b"retry-after", str(refusal.retry_after).encode()),
        (b"content-length", str(len(body.encode())).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})
