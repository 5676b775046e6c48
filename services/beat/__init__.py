"""The beat process: ``celery -A services.beat beat``; the only scheduler of a deployment.

RedBeat keeps the schedule and a lock in Redis, so when an old and a new beat overlap during a
deploy only the lock holder fires, and a restart keeps each entry's last run (no file on disk).
Entries are crontabs (see :mod:`services.beat.schedule`), so a redeploy never starves them.
"""

from services.beat.schedule import build_schedule
from services.bootstrap import bootstrap
from services.celery_app import create_app

settings = bootstrap("beat")
app = create_app(settings, process="beat")
app.conf.update(
    beat_scheduler="redbeat.RedBeatScheduler",
    redbeat_redis_url=settings.broker_url,
    redbeat_key_prefix="vigia:redbeat:",
    # The lock outlives a missed tick by a little; a dead beat frees it within this many seconds.
    redbeat_lock_key="vigia:redbeat::lock",
    redbeat_lock_timeout=60,
    beat_max_loop_interval=5,
    beat_schedule=build_schedule(settings),
)
if settings.broker_url.startswith("rediss://"):
    app.conf.redbeat_redis_use_ssl = app.conf.broker_use_ssl

__all__ = ["app", "settings"]
