"""Clients and pools of one worker process, built in ``worker_process_init``, closed at its end.

Each pool process gets its own Redis client, store (a PostgreSQL pool named ``vigia-worker``),
Portal client (sharing the Redis rate limiter with every other process) and summary writer,
bundled as the :class:`~shared.pipeline.context.PipelineContext` the tasks pass to ``shared``
services. Building them connects to nothing, so a database that is down at start-up does not
keep the worker from starting; a process the worker did not initialise (``vigia run --inline``,
tests) builds them on first use, so the same task code runs anywhere.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.pipeline.context import PipelineContext

log = logging.getLogger("vigia.worker.resources")

_lock = threading.RLock()
_resources: dict[str, Any] = {}
_process_name = "vigia-worker"


def open_process_resources(process: str) -> None:
    """Called once per pool process: drop anything inherited across fork, then build the context."""
    global _process_name
    _process_name = f"vigia-{process}"
    close_process_resources()
    try:
        get_context()
    except Exception as error:  # e.g. no database configured: the first task reports it
        log.error("worker resources not built at start-up: %s", error)


def close_process_resources() -> None:
    with _lock:
        items = list(_resources.items())
        _resources.clear()
    # The context closes the Portal client; the store and Redis close after it.
    for name, resource in sorted(items, key=lambda item: item[0] != "context"):
        closer = getattr(resource, "close", None)
        if callable(closer):
            try:
                closer()
            except Exception as error:  # closing must never stop a shutdown
                log.warning("closing %s failed: %s", name, error)


def get_redis() -> Any:
    """The process's Redis client (rate limiter, run state, heartbeats)."""
    with _lock:
        client = _resources.get("redis")
        if client is None:
            from shared.config import get_settings
            from shared.redis_client import redis_client

            client = redis_client(get_settings(), timeout=10, name=_process_name, health_check_interval=25,
                                  retry_on_timeout=True)
            _resources["redis"] = client
        return client


def get_store() -> Any:
    with _lock:
        store = _resources.get("store")
        if store is None:
            from shared.config import get_settings
            from shared.store import get_store as build_store

            store = build_store(get_settings(), application_name=_process_name)
            _resources["store"] = store
        return store


def get_context() -> PipelineContext:
    """Everything a task needs, for this process."""
    with _lock:
        context = _resources.get("context")
        if context is None:
            from shared.config import get_settings
            from shared.llm import SummaryWriter
            from shared.pipeline.context import PipelineContext
            from shared.portal.client import PortalClient

            settings = get_settings()
            redis_client = get_redis()
            context = PipelineContext(
                settings=settings,
                store=get_store(),
                redis=redis_client,
                summaries=SummaryWriter.from_settings(settings),
                portal_factory=lambda: PortalClient.from_settings(settings, redis_client),
            )
            _resources["context"] = context
            _resources["summaries"] = context.summaries
        return context
