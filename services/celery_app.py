"""The one Celery application that the worker, beat and Flower processes share.

Built by :func:`create_app` from settings, never at import of this module: each process package
(``services.worker``, ``services.beat``, ``services.flower``) validates its own settings and then
calls it. Tasks live in ``services.worker.tasks`` and are routed by name to the queues in
:data:`QUEUES`; the Procfile's worker consumes every one of them (a test checks it).
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals
from kombu import Queue

from shared import task_names
from shared.config import Settings
from shared.logging import configure_logging
from shared.redis_client import ssl_options

# Every queue a task may be routed to. Separate queues keep a long sweep from delaying a health
# check or an on-demand request; one worker consumes them all by default.
QUEUES: tuple[str, ...] = ("default", "monitoring", "analysis", "maintenance")

# Task area -> queue. A task's name is ``vigia.<area>.<task>`` (shared.task_names).
TASK_ROUTES: dict[str, dict[str, str]] = {
    f"{task_names.MONITORING}.*": {"queue": "monitoring"},
    f"{task_names.ANALYSIS}.*": {"queue": "analysis"},
    f"{task_names.MAINTENANCE}.*": {"queue": "maintenance"},
    f"{task_names.SYSTEM}.*": {"queue": "default"},
    # Short webhook POSTs: on the queue no sweep or analysis occupies.
    f"{task_names.ALERTS}.*": {"queue": "default"},
}

TASK_MODULES: tuple[str, ...] = (
    "services.worker.tasks.system",
    "services.worker.tasks.monitoring",
    "services.worker.tasks.analysis",
    "services.worker.tasks.maintenance",
    "services.worker.tasks.alerts",
)


def create_app(settings: Settings, *, process: str, main: str = "vigia", include_tasks: bool = True) -> Celery:
    """The Celery app for one process role (``worker``, ``beat``, ``flower``, ``web``, ``cli``).

    ``include_tasks=False`` leaves the task modules unimported: a process that only sends tasks
    by name (beat) needs neither them nor what they import (pipeline, detection, store).
    """

    def use_our_logging(**_: Any) -> None:
        # Connecting this signal stops Celery from installing its own handlers: ours print JSON.
        configure_logging(process)

    signals.setup_logging.connect(use_our_logging, weak=False)
    app = Celery(main, include=list(TASK_MODULES) if include_tasks else [])
    broker = settings.broker_url
    # Longest a task may stay unacknowledged before Redis hands it to another worker: above the
    # hard time limit and the longest countdown we use (Portal 429 waits), or it would run twice.
    visibility_timeout = settings.broker_visibility_timeout_seconds or max(settings.task_time_limit * 2, 3600)
    # Kombu scans for such abandoned messages every interval x throttle seconds (100 s by
    # default); a short visibility timeout needs a matching scan, or redelivery lags behind it.
    restore_interval = max(1, min(10, visibility_timeout // 10))
    restore_throttle = 1 if visibility_timeout < 600 else 10
    app.conf.update(
        broker_url=broker,
        result_backend=broker,
        # TLS for ``rediss://`` brokers (Upstash, managed Redis), as every other Redis client has it.
        broker_use_ssl=ssl_options(settings),
        redis_backend_use_ssl=ssl_options(settings),
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            "unacked_restore_interval": restore_interval,
            "unacked_restore_throttle": restore_throttle,
            "socket_timeout": 30,
            "socket_connect_timeout": 10,
            "retry_on_timeout": True,
            "health_check_interval": 25,
        },
        result_backend_transport_options={"retry_policy": {"timeout": 5.0}},
        redis_socket_keepalive=True,
        redis_retry_on_timeout=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        timezone=settings.timezone,
        enable_utc=True,
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="default",
        task_routes=TASK_ROUTES,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        task_track_started=True,
        task_send_sent_event=True,
        worker_send_task_events=True,
        result_expires=settings.result_expires_seconds,
        result_extended=False,
        worker_concurrency=settings.worker_concurrency,
        worker_max_tasks_per_child=200,
        # A pool process grown past this (in KiB) is replaced once its task ends, so a slow leak
        # cannot creep up to a small plan's memory limit (a big sweep peaks near 130 MB).
        worker_max_memory_per_child=256 * 1024,
        worker_soft_shutdown_timeout=settings.worker_soft_shutdown_timeout,
        worker_enable_soft_shutdown_on_idle=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    return app
