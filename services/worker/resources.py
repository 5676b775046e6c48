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
from collections.abc import Callable
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


def _once(name: str, build: Callable[[], Any]) -> Any:
    """This process's ``name`` resource, built by ``build`` on first use (under the lock, so once)."""
    with _lock:
        if name not in _resources:
            _resources[name] = build()
        return _resources[name]


def get_redis() -> Any:
    """The process's Redis client (rate limiter, run state, heartbeats)."""

    def build() -> Any:
        from shared.config import get_settings
        from shared.redis_client import redis_client

        return redis_client(get_settings(), timeout=10, name=_process_name, health_check_interval=25,
                            retry_on_timeout=True)

    return _once("redis", build)


def get_store() -> Any:
    """The process's store: a database pool named after the process."""

    def build() -> Any:
        from shared.config import get_settings
        from shared.store import get_store as build_store

        return build_store(get_settings(), application_name=_process_name)

    return _once("store", build)


def get_context() -> PipelineContext:
    """Everything a task needs, for this process."""

    def build() -> PipelineContext:
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
        _resources["summaries"] = context.summaries  # closed with the rest
        return context

    context: PipelineContext = _once("context", build)
    return context
