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
A Redis round trip for every request would cost more than the request (on two cores it halved
what a cached page could serve), so each worker takes its hits from Redis in leases
(:class:`_Lease`): a client asking often gets a batch of hits counted in Redis at once, spends
them from memory for up to ``LEASE_SECONDS``, and doubles its next batch while it keeps spending
them, up to ``1/LEASE_SHARE`` of the limit a worker. A lease is counted before it is spent, so
the group never lets through more than the limit; what a worker leased and did not spend is
lost, which can make a limit stricter by at most ``WEB_CONCURRENCY/LEASE_SHARE`` of it. A client
under a hundredth of the limit leases one hit at a time, exactly as without leases. A refusal is
remembered for up to a second, so a client past its limit costs no Redis work while it floods,
and a 429 is answered after ``REFUSAL_DELAY_SECONDS``, so a flood of them cannot take the CPU
that other clients' requests need (each flooding connection gets at most four answers a second).
If Redis stops answering, requests pass (and a warning is logged): the broker's outage already
shows in ``/health/ready``, and an API that refuses every read because its limiter is down would
turn a Redis hiccup into an outage.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
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
LEASE_SECONDS = 1.0  # how long leased hits stay spendable
LEASE_SHARE = 100  # a lease is at most 1/100 of the limit a worker
REFUSAL_MEMORY_SECONDS = 1.0  # a refused client is refused from memory for up to this long
MAX_SUBJECTS = 10_000  # lease states kept a worker; expired ones are dropped past this
REFUSAL_DELAY_SECONDS = 0.25  # a 429 is answered this late (see RateLimitMiddleware)


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
        self._leases: dict[tuple[str, str], _Lease] = {}

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
        try:
            for who, subject in subjects:
                refusal = await self._take(item, kind, who, subject)
                if refusal is not None:
                    return refusal
        except Exception as error:  # the limiter's store is down: let the request through
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                log.warning("rate limiter unavailable, requests pass unlimited: %s", error)
        return None

    async def _take(self, item: RateLimitItem, kind: str, who: str, subject: str) -> Refusal | None:
        """One hit for ``subject``: from its lease if it holds one, else a new lease from the store."""
        lease = self._leases.get((kind, subject))
        now = time.monotonic()
        if lease is None:
            if len(self._leases) >= MAX_SUBJECTS:
                self._leases = {name: held for name, held in self._leases.items() if held.expires > now}
            lease = self._leases[(kind, subject)] = _Lease()
        if lease.take(now):
            return None
        remembered = lease.remembered_refusal(now)
        if remembered is not None:
            return remembered
        async with lease.lock:  # one store call at a time a subject; the others wait for its lease
            now = time.monotonic()
            if lease.take(now):
                return None
            limiter = self._strategy()
            size = lease.next_size(now, self._lease_cap(item))
            granted = await limiter.hit(item, kind, subject, cost=size)
            if not granted and size > 1:  # not room for a whole lease: maybe for this one request
                size = 1
                granted = await limiter.hit(item, kind, subject)
            if granted:
                lease.grant(now, size - 1)
                return None
            stats = await limiter.get_window_stats(item, kind, subject)
            refusal = Refusal(who=who, limit=str(item), retry_after=max(1, math.ceil(stats.reset_time - time.time())))
            lease.refuse(refusal, now)
            return refusal

    def _lease_cap(self, item: RateLimitItem) -> int:
        if isinstance(self._storage, MemoryStorage):  # memory is as cheap as a lease: count exactly
            return 1
        return max(1, item.amount // LEASE_SHARE)


@dataclass
class _Lease:
    """Hits one worker has counted in the store for one subject and not spent yet."""

    tokens: int = 0
    expires: float = 0.0
    size: int = 1  # the next lease's size: doubled while leases are spent, halved when one expires unspent
    refused: Refusal | None = None
    refused_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def take(self, now: float) -> bool:
        if self.tokens > 0 and self.expires > now:
            self.tokens -= 1
            return True
        return False

    def next_size(self, now: float, cap: int) -> int:
        if self.expires > now:  # spent before it expired: the client asks faster than the lease
            self.size = min(cap, self.size * 2)
        elif self.tokens > 0:  # expired with hits left: ask for fewer
            self.size = max(1, self.size // 2)
        self.size = min(self.size, cap)
        return self.size

    def grant(self, now: float, tokens: int) -> None:
        self.tokens, self.expires, self.refused = tokens, now + LEASE_SECONDS, None

    def refuse(self, refusal: Refusal, now: float) -> None:
        self.tokens, self.size, self.expires = 0, 1, now
        self.refused, self.refused_at = refusal, now

    def remembered_refusal(self, now: float) -> Refusal | None:
        """The last refusal, its Retry-After brought up to date, while it is fresh enough to repeat."""
        if self.refused is None:
            return None
        elapsed = now - self.refused_at
        if elapsed >= min(REFUSAL_MEMORY_SECONDS, self.refused.retry_after):
            return None
        return Refusal(self.refused.who, self.refused.limit, max(1, math.ceil(self.refused.retry_after - elapsed)))


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
        # A client that does not wait for Retry-After and keeps its connections busy would
        # otherwise take as much CPU in 429s as it is refused: answered a moment later, each of its
        # connections asks at most 1/REFUSAL_DELAY_SECONDS times a second.
        await asyncio.sleep(REFUSAL_DELAY_SECONDS)
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
