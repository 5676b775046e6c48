"""The beat process: ``celery -A services.beat -q beat``; the only scheduler of a deployment.

RedBeat keeps the schedule and a lock in Redis, so when an old and a new beat overlap during a
deploy only the lock holder fires, and a restart keeps each entry's last run (no file on disk).
Entries are crontabs (see :mod:`services.beat.schedule`), so a redeploy never starves them.

Celery asks this package for ``app``; only then are the beat's settings validated (exiting with
one message if something is missing). Importing :mod:`services.beat.schedule` alone — as
``vigia schedule`` and the tests do — runs no start-up check.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from shared import redis_keys

if TYPE_CHECKING:
    from celery import Celery

    from shared.config import Settings

# Redis keys of the schedule and of the lock that makes one beat the only one firing.
REDBEAT_KEY_PREFIX = redis_keys.REDBEAT
REDBEAT_LOCK_KEY = redis_keys.REDBEAT_LOCK


@lru_cache(maxsize=1)
def build_app() -> Celery:
    from services.bootstrap import bootstrap
    from services.celery_app import create_app

    settings = bootstrap("beat")
    # Beat sends every entry by name (routed by TASK_ROUTES), so it imports no task module: the
    # pipeline, detection and store code they pull in would only cost memory here.
    app = create_app(settings, process="beat", include_tasks=False)
    configure_redbeat(app, settings)
    return app


def configure_redbeat(app: Celery, settings: Settings) -> None:
    """Make ``app`` a beat scheduling with RedBeat on ``REDIS_URL``, with the broker's TLS policy."""
    from services.beat.schedule import build_schedule
    from shared.redis_client import ssl_options

    app.conf.update(
        # RedBeat, riding out a Redis restart instead of exiting (see services.beat.scheduler).
        beat_scheduler="services.beat.scheduler:ReconnectingRedBeatScheduler",
        redbeat_redis_url=settings.broker_url,
        redbeat_key_prefix=REDBEAT_KEY_PREFIX,
        redbeat_lock_key=REDBEAT_LOCK_KEY,
        # A dead beat frees the lock within this many seconds; the standby then takes over.
        redbeat_lock_timeout=60,
        # RedBeat's own Redis client does not take the broker's transport options, so they are
        # set here: a dead connection fails within seconds instead of hanging the scheduler.
        redbeat_redis_options={"socket_timeout": 10, "socket_connect_timeout": 10, "health_check_interval": 25},
        beat_max_loop_interval=5,
        beat_schedule=build_schedule(settings),
    )
    tls = ssl_options(settings)
    if tls is not None:
        app.conf.redbeat_redis_use_ssl = tls


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
