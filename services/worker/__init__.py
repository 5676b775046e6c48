"""The worker process: ``celery -A services.worker -q worker -Q <queues> -E``.

Celery asks this package for ``app``; building it then validates the worker's settings (exiting
with one message if something is missing), configures logging and connects the worker's signal
handlers. Building it lazily matters: beat and Flower import the task modules below this
package, and must not run the worker's start-up checks. Nothing here connects to anything;
per-process clients are built in ``worker_process_init`` (see :mod:`services.worker.signals`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery


@lru_cache(maxsize=1)
def build_app() -> Celery:
    from services.bootstrap import bootstrap
    from services.celery_app import create_app

    settings = bootstrap("worker")
    app = create_app(settings, process="worker")
    from services.worker import signals  # noqa: F401  (connects the worker's signal handlers)
    from services.worker.tasks.alerts import send_through_worker
    from shared.observability.alerts import use_sender

    # Set before the pool forks, so every pool process publishes alerts as a task.
    use_sender(send_through_worker(app))

    return app


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
