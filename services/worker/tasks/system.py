"""Tasks about the worker itself."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from celery import shared_task

from shared import task_names

log = logging.getLogger("vigia.tasks.system")


@shared_task(name=task_names.PING, acks_late=True, ignore_result=False)
def ping(payload: str = "pong") -> dict[str, Any]:
    """Round trip through the real broker: the smoke test of a deployment."""
    log.info("ping received", extra={"payload": payload})
    return {"payload": payload, "hostname": socket.gethostname(), "pid": os.getpid()}
