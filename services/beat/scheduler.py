"""RedBeat's scheduler, made to ride out a Redis outage instead of exiting.

RedBeat extends its lock and reads due entries from Redis on every tick, and lets any Redis error
escape the tick, which ends the beat process: a managed Redis restarting for maintenance would
take the only scheduler down with it until a person (or the platform) restarts it. Here a tick
that cannot reach Redis is logged and tried again after ``beat_max_loop_interval``; the schedule
and the lock live in Redis, so nothing is lost meanwhile. A lock that expired during a long outage
(and may since belong to another beat, e.g. the new one of a deploy) is taken back only if it is
free; until then this beat stands by and fires nothing, so no slot is fired twice.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from redbeat import RedBeatScheduler

log = logging.getLogger("vigia.beat")


class ReconnectingRedBeatScheduler(RedBeatScheduler):
    """A RedBeat scheduler whose tick survives Redis being unreachable or restarted."""

    _unreachable = False

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            interval = float(super().tick(*args, **kwargs))
        except redis.exceptions.LockError as error:
            return self._lock_lost(error)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            if not self._unreachable:
                log.warning("Redis is unreachable; beat keeps trying", extra={"error": str(error)[:300],
                                                                             "retry_in_s": self.max_interval})
            self._unreachable = True
            return float(self.max_interval)
        if self._unreachable:
            log.info("Redis is reachable again; beat resumes")
            self._unreachable = False
        return interval

    def _lock_lost(self, error: Exception) -> float:
        """The lock expired while Redis was away: take it back if free, else stand by."""
        lock = self.lock
        try:
            if lock is not None and lock.acquire(blocking=False):
                log.warning("beat lock was lost and is held again", extra={"error": str(error)[:300]})
                return 0.0
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            pass
        log.warning("beat lock is held by another beat; standing by", extra={"retry_in_s": self.max_interval})
        return float(self.max_interval)
