"""Per-process wiring for the worker: resources, log context, and a heartbeat.

* ``worker_process_init``: each pool process builds its own clients (never shared across fork).
* ``task_prerun``/``task_postrun``: every log line inside a task carries ``task_id`` and ``task_name``.
* ``worker_ready``: the main process starts writing a heartbeat key in Redis that ``vigia doctor``
  and the deploy tests read: a worker is alive when its key is fresh. It also makes SIGTERM a
  bounded shutdown (:func:`sigterm_starts_soft_shutdown`).
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from celery import signals

from services.worker import resources
from shared import redis_keys
from shared.logging import configure_logging, task_id_var, task_name_var

log = logging.getLogger("vigia.worker")

HEARTBEAT_PREFIX = redis_keys.WORKER_HEARTBEAT
HEARTBEAT_INTERVAL_SECONDS = 15
HEARTBEAT_TTL_SECONDS = 60

_task_tokens: dict[str, tuple[Any, Any]] = {}
_heartbeat_stop = threading.Event()
_heartbeat_thread: threading.Thread | None = None


@signals.worker_process_init.connect
def _init_process(**_: Any) -> None:
    configure_logging("worker")
    resources.open_process_resources("worker")


@signals.worker_process_shutdown.connect
def _shutdown_process(**_: Any) -> None:
    resources.close_process_resources()


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id is None:
        return
    _task_tokens[task_id] = (task_id_var.set(task_id), task_name_var.set(getattr(task, "name", None)))


@signals.task_postrun.connect
def _task_finished(task_id: str | None = None, **_: Any) -> None:
    tokens = _task_tokens.pop(task_id or "", None)
    if tokens:
        task_name_var.reset(tokens[1])
        task_id_var.reset(tokens[0])


def heartbeat_key(hostname: str) -> str:
    return HEARTBEAT_PREFIX + hostname


def heartbeat_client() -> Any:
    """The heartbeat thread's own Redis client: a slow task on the shared one must not delay a beat."""
    from shared.config import get_settings
    from shared.redis_client import redis_client

    return redis_client(get_settings(), timeout=5, name="vigia-worker-heartbeat")


@signals.worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    app = getattr(sender, "app", None)
    controller = getattr(sender, "controller", None)
    if controller is not None:
        sigterm_starts_soft_shutdown(controller)
    log.info("worker ready", extra={"hostname": hostname})

    def beat() -> None:
        import redis

        client = heartbeat_client()
        while not _heartbeat_stop.is_set():
            try:
                client.set(heartbeat_key(hostname), "alive", ex=HEARTBEAT_TTL_SECONDS)
            except redis.RedisError as error:  # the broker blipped; the next beat retries
                log.warning("worker heartbeat not written: %s", error)
            _heartbeat_stop.wait(HEARTBEAT_INTERVAL_SECONDS)
        try:
            client.delete(heartbeat_key(hostname))
        except redis.RedisError:
            pass
        client.close()

    del app
    global _heartbeat_thread
    _heartbeat_thread = threading.Thread(target=beat, name="vigia-heartbeat", daemon=True)
    _heartbeat_thread.start()


def sigterm_starts_soft_shutdown(controller: Any) -> None:
    """Make SIGTERM Celery's cold shutdown preceded by its soft shutdown.

    Running tasks then get ``WORKER_SOFT_SHUTDOWN_TIMEOUT`` seconds; what still runs is cancelled
    and, being unacknowledged (late acks), goes back to its queue at once for the next worker.
    Celery's own SIGTERM is a *warm* shutdown that waits for running tasks however long they take:
    a sweep step may run for minutes, past any platform's grace, and the platform's SIGKILL then
    leaves the message to the broker's visibility timeout (an hour). Celery offers this behaviour
    as ``REMAP_SIGTERM=SIGQUIT``, but reads that when billiard is imported, before any code of ours
    runs; installing it here makes it hold however the worker is started.
    """
    import os

    from celery.apps import worker as celery_worker

    if os.environ.get("REMAP_SIGTERM") == "SIGQUIT":
        return  # Celery already does it

    def cold(worker: Any) -> None:
        from celery.worker import state

        # A second SIGTERM during the wait cancels the running tasks at once, as with REMAP_SIGTERM.
        celery_worker.install_worker_term_hard_handler(worker, sig="SIGTERM",
                                                       callback=celery_worker.during_soft_shutdown)
        if not state.reserved_requests and not state.scheduled_requests:
            # Nothing running, waiting or held for a countdown: the grace would be a plain
            # sleep, which the soft shutdown takes even when idle (for held tasks' sake).
            worker.app.conf.worker_soft_shutdown_timeout = 0
        celery_worker.on_cold_shutdown(worker)

    try:
        celery_worker.install_worker_term_hard_handler(controller, sig="SIGTERM", callback=cold)
    except ValueError as error:  # not the main thread (an embedded worker in a test): keep Celery's
        log.warning("SIGTERM keeps Celery's warm shutdown: %s", error)


@signals.worker_shutdown.connect
def _stop_heartbeat(**_: Any) -> None:
    # Join, so the key is deleted before the process exits: a stopped worker must not look alive.
    _heartbeat_stop.set()
    if _heartbeat_thread is not None:
        _heartbeat_thread.join(timeout=5)
