"""One rate limiter for the Portal key, shared by every process and thread through Redis.

The Portal's budget is per key (default 90 requests/min from 06:00 to 23:59 and 300/min from
00:00 to 05:59, Brasília time), so every process that calls the API must draw from one budget.
The limiter is a GCRA (generic cell rate algorithm) kept in one Redis key: a Lua script reads
Redis's own clock, reserves the caller the next free slot and says how long to wait for it, in one
atomic step — so callers in any number of processes are spaced ``60 / rate`` seconds apart and
served in arrival order, with no polling. The rate is chosen per call from the time of day; it runs
at ``headroom`` (95 %) of the budget so network jitter can never push a minute over it. A 429
(:meth:`RateLimiter.penalize`) pushes every caller back by ``Retry-After`` and multiplies the rate
by ``PORTAL_429_RATE_FACTOR`` for ``PORTAL_429_COOLDOWN_SECONDS``, for all processes at once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from shared import redis_keys
from shared.portal.errors import RateLimited

if TYPE_CHECKING:
    from shared.config import Settings

log = logging.getLogger("vigia.portal.ratelimit")

NAMESPACE = redis_keys.PORTAL_RATE

# KEYS[1] = the theoretical arrival time (µs), KEYS[2] = the cool-down factor (present while cooling).
# ARGV[1] = interval between requests (µs) at the full rate, ARGV[2] = burst tolerance (µs),
# ARGV[3] = longest wait (µs) worth reserving. Returns {reserved (1|0), wait (µs)}.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local factor = tonumber(redis.call('GET', KEYS[2]) or '1')
if factor and factor > 0 and factor < 1 then interval = interval / factor end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tonumber(ARGV[2]) - now
if wait < 0 then wait = 0 end
if wait > tonumber(ARGV[3]) then return {0, math.floor(wait)} end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.floor((new_tat - now) / 1000) + 60000)
return {1, math.floor(wait)}
"""

# ARGV[1] = Retry-After (µs), ARGV[2] = rate factor during the cool-down, ARGV[3] = cool-down (ms).
_PENALIZE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local resume = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < resume then
  tat = resume
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 60000)
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
end
return 1
"""


# Not settings: the share of the budget used (so network jitter never pushes a minute over it) and
# the longest a caller may block on a slot before it is told to reschedule instead.
HEADROOM = 0.95
MAX_WAIT_SECONDS = 600.0


@dataclass(frozen=True)
class RateSchedule:
    """Requests per minute by time of day: ``night_per_min`` in [night_start, night_end) hours."""

    day_per_min: int
    night_per_min: int
    night_start_hour: int
    night_end_hour: int
    timezone: tzinfo

    def per_minute(self, at: datetime) -> int:
        hour = at.astimezone(self.timezone).hour
        start, end = self.night_start_hour, self.night_end_hour
        in_night = start <= hour < end if start <= end else (hour >= start or hour < end)
        return self.night_per_min if in_night else self.day_per_min

    @classmethod
    def from_settings(cls, settings: Settings) -> RateSchedule:
        return cls(
            day_per_min=settings.portal_rate_day_per_min,
            night_per_min=settings.portal_rate_night_per_min,
            night_start_hour=settings.portal_night_start_hour,
            night_end_hour=settings.portal_night_end_hour,
            timezone=ZoneInfo(settings.timezone),
        )


@dataclass(frozen=True)
class LimiterPolicy:
    """What both limiters apply: the budget by time of day, the headroom, and how a 429 slows it.

    A 429 pauses callers for its ``Retry-After``, then runs the budget at ``cooldown_factor`` of
    itself for ``cooldown_seconds``; a wait longer than ``max_wait`` seconds is refused.
    """

    schedule: RateSchedule
    cooldown_seconds: float
    cooldown_factor: float
    headroom: float = HEADROOM
    max_wait: float = MAX_WAIT_SECONDS

    def __post_init__(self) -> None:
        if not 0 < self.headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")

    @classmethod
    def from_settings(cls, settings: Settings, **changes: Any) -> LimiterPolicy:
        """The policy the settings describe; ``changes`` replace fields (e.g. ``max_wait``)."""
        policy = cls(
            schedule=RateSchedule.from_settings(settings),
            cooldown_seconds=float(settings.portal_429_cooldown_seconds),
            cooldown_factor=settings.portal_429_rate_factor,
        )
        return replace(policy, **changes) if changes else policy


class Limiter(Protocol):
    """What the transport asks of a limiter: a slot before each request, a pause after a 429."""

    def acquire(self) -> float: ...

    def penalize(self, retry_after: float) -> None: ...


def key_id_for(api_key: str | None) -> str:
    """The limiter's name for a key: a short hash, so the key itself never sits in Redis."""
    if not api_key:
        return "anonymous"
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


class RateLimiter:
    """The shared per-key budget. ``acquire()`` before every request; ``penalize()`` after a 429."""

    def __init__(
        self,
        redis_client: Any,
        policy: LimiterPolicy,
        *,
        key_id: str = "anonymous",
        burst: int = 1,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.redis, self.policy, self.burst = redis_client, policy, burst
        self._now, self._sleep = now, sleep
        # A hash tag keeps both keys in one slot, so the scripts also run on Redis Cluster.
        self.tat_key = f"{NAMESPACE}:{{{key_id}}}:tat"
        self.cooldown_key = f"{NAMESPACE}:{{{key_id}}}:cooldown"
        self._acquire = redis_client.register_script(_ACQUIRE)
        self._penalize = redis_client.register_script(_PENALIZE)

    @classmethod
    def from_settings(cls, settings: Settings, redis_client: Any, *, key_id: str | None = None) -> RateLimiter:
        """The deployment's limiter for the configured key (``key_id`` names another budget)."""
        key = settings.transparency_api_key.get_secret_value() if settings.transparency_api_key else None
        if key_id is None:
            key_id = key_id_for(key) if key else "simulator"
        return cls(redis_client, LimiterPolicy.from_settings(settings), key_id=key_id)

    def budget_per_minute(self) -> int:
        """The published budget for this moment (before headroom and any cool-down)."""
        return self.policy.schedule.per_minute(self._now())

    def interval_seconds(self) -> float:
        """Seconds between requests at the current full rate (cool-downs stretch it further)."""
        return 60.0 / (self.budget_per_minute() * self.policy.headroom)

    def cooling_down(self) -> bool:
        return bool(self.redis.exists(self.cooldown_key))

    def acquire(self) -> float:
        """Block until this caller may send one request; return the seconds waited.

        Raises RateLimited (without using a slot) when the wait would exceed ``max_wait``, e.g.
        after a 429 with a long Retry-After, so a task can reschedule itself instead of blocking.
        """
        interval_us = int(self.interval_seconds() * 1_000_000)
        tolerance_us = interval_us * (self.burst - 1)
        reserved, wait_us = self._acquire(
            keys=[self.tat_key, self.cooldown_key],
            args=[interval_us, tolerance_us, int(self.policy.max_wait * 1_000_000)],
        )
        wait = int(wait_us) / 1_000_000
        if not int(reserved):
            raise RateLimited(
                f"the shared Portal budget is booked for the next {wait:.0f} s "
                f"(longer than the {self.policy.max_wait:.0f} s a caller may wait)",
                retry_after=wait,
            )
        if wait > 0:
            self._sleep(wait)
        return wait

    def penalize(self, retry_after: float) -> None:
        """After a 429: every caller waits ``retry_after`` s, then runs slower for the cool-down."""
        self._penalize(
            keys=[self.tat_key, self.cooldown_key],
            args=[int(retry_after * 1_000_000), repr(self.policy.cooldown_factor),
                  int(self.policy.cooldown_seconds * 1000)],
        )
        log.warning(
            "Portal answered 429: shared budget paused and slowed",
            extra={"retry_after": retry_after, "cooldown_seconds": self.policy.cooldown_seconds,
                   "rate_factor": self.policy.cooldown_factor},
        )

    def reset(self) -> None:
        """Forget reservations and cool-downs (tests, or an operator after changing the key)."""
        self.redis.delete(self.tat_key, self.cooldown_key)


class LocalRateLimiter:
    """The same GCRA in this process's memory, for a deployment without Redis.

    With ``ENABLE_CELERY_WORKERS=false`` the web runs on-demand investigations itself and has no
    Redis: every investigation thread of the process draws from one instance, and each process
    takes ``share`` of the per-key budget (``1 / WEB_CONCURRENCY``), so the gunicorn workers
    together stay within it. A 429 pauses and slows this process as :meth:`RateLimiter.penalize`
    does the deployment.
    """

    def __init__(
        self,
        policy: LimiterPolicy,
        *,
        share: float = 1.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        import threading

        self.policy = policy
        self.share = share
        self._now, self._clock, self._sleep = now, clock, sleep
        self._lock = threading.Lock()
        self._tat = 0.0  # the earliest time the next request may go
        self._cooldown_until = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalRateLimiter:
        """This process's share of the key's budget: one of ``WEB_CONCURRENCY`` web workers."""
        return cls(LimiterPolicy.from_settings(settings), share=1 / settings.web_concurrency)

    def interval_seconds(self) -> float:
        policy = self.policy
        interval = 60.0 / (policy.schedule.per_minute(self._now()) * policy.headroom * self.share)
        if self._clock() < self._cooldown_until:
            interval /= policy.cooldown_factor
        return interval

    def acquire(self) -> float:
        with self._lock:
            now = self._clock()
            start = max(self._tat, now)
            wait = start - now
            if wait > self.policy.max_wait:
                raise RateLimited(
                    f"this process's Portal budget is booked for the next {wait:.0f} s "
                    f"(longer than the {self.policy.max_wait:.0f} s a caller may wait)",
                    retry_after=wait,
                )
            self._tat = start + self.interval_seconds()
        if wait > 0:
            self._sleep(wait)
        return wait

    def penalize(self, retry_after: float) -> None:
        with self._lock:
            now = self._clock()
            self._tat = max(self._tat, now + retry_after)
            self._cooldown_until = now + self.policy.cooldown_seconds
        log.warning("Portal answered 429: this process's budget paused and slowed",
                    extra={"retry_after": retry_after, "cooldown_seconds": self.policy.cooldown_seconds})
