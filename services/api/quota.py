"""How many on-demand investigations one API key may start per day (``API_ON_DEMAND_DAILY_QUOTA``).

Deduplication shares an equal open request, but a window shifted by a day is a new request: the
quota is what bounds the work (and the Portal budget) one write key can ask for. Only requests
that start an investigation count; one answered with an existing investigation is free. The
window is a fixed day from the key's first counted request (the ``limits`` library's fixed
window: https://limits.readthedocs.io/en/stable/strategies.html), counted in Redis so every web
worker and instance share it; without Redis (``ENABLE_CELERY_WORKERS=false``) each worker counts
in memory and holds ``1/WEB_CONCURRENCY`` of the quota, so the workers together never start more
than it (as the rate limits, :func:`services.api.ratelimit.worker_share`).
"""

from __future__ import annotations

import math
import time
from typing import Any

from limits import parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter

from services.api.ratelimit import worker_share
from shared import redis_keys

NAMESPACE = "on_demand"


class OnDemandQuota:
    def __init__(self, per_day: int, redis_client: Any | None = None, *, workers: int = 1) -> None:
        self.per_day = per_day
        self.item = parse(f"{per_day}/day")
        storage: Storage
        if redis_client is None:
            self.item = worker_share(self.item, workers)
        if redis_client is not None:
            # The web's own Redis client pool (its timeouts and TLS settings); the URI only names the kind.
            storage = RedisStorage("redis://", connection_pool=redis_client.connection_pool,
                                   key_prefix=redis_keys.API_QUOTA)
        else:
            storage = MemoryStorage()
        self.limiter = FixedWindowRateLimiter(storage)

    def retry_after(self, caller: str) -> int | None:
        """Seconds until ``caller`` may start another investigation; None when it may now."""
        if self.limiter.test(self.item, NAMESPACE, caller):
            return None
        stats = self.limiter.get_window_stats(self.item, NAMESPACE, caller)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def spend(self, caller: str) -> None:
        self.limiter.hit(self.item, NAMESPACE, caller)
