"""Clients and pools of one worker process, built in ``worker_process_init``, closed at its end.

Tasks reach them through the accessors below. A process that was not initialised by the worker
(``vigia run --inline``, tests) builds them on first use, so the same task code runs anywhere.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("vigia.worker.resources")

_lock = threading.Lock()
_resources: dict[str, Any] = {}
_process_name = "vigia-worker"


def open_process_resources(process: str) -> None:
    """Called once per pool process; opening is lazy so an unused client costs nothing."""
    global _process_name
    _process_name = f"vigia-{process}"
    close_process_resources()


def close_process_resources() -> None:
    with _lock:
        items = list(_resources.items())
        _resources.clear()
    for name, resource in items:
        closer = getattr(resource, "close", None)
        if callable(closer):
            try:
                closer()
            except Exception as error:  # closing must never stop a shutdown
                log.warning("closing %s failed: %s", name, error)


def get_redis() -> Any:
    """The process's Redis client (rate limiter, locks, heartbeats)."""
    with _lock:
        client = _resources.get("redis")
        if client is None:
            import redis

            from shared.config import get_settings

            client = redis.Redis.from_url(
                get_settings().broker_url,
                socket_timeout=10,
                socket_connect_timeout=10,
                retry_on_timeout=True,
                health_check_interval=25,
                client_name=_process_name,
            )
            _resources["redis"] = client
        return client
