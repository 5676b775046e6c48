"""Every scheduled entry, with why it runs when it does. Times are America/Sao_Paulo (``TIMEZONE``).

Crontab entries, never long intervals: an interval restarts counting at every deploy, so a
service redeployed more often than every 6 h would never run its 6-hourly sweep, while a crontab
fires at the same wall-clock slots whatever the deploy history. RedBeat keeps each entry's last
run in Redis, and its lock lets only one beat fire a slot.

Each entry also states its ``period``: the health check calls a schedule stale when its last
successful run is older than the period plus a grace, and a test checks each period against
the crontab. Every message expires after one period, so a worker that was down for a day does
not wake up to a pile of identical sweeps: the next sweep's window reaches back to the end of
the last successful one instead (see :mod:`shared.pipeline.monitoring`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery.schedules import crontab

from shared import task_names
from shared.config import Settings


@dataclass(frozen=True, slots=True)
class ScheduledEntry:
    name: str
    task: str
    schedule: crontab
    period: timedelta
    why: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def as_beat_entry(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "schedule": self.schedule,
            "kwargs": dict(self.kwargs),
            "options": {"expires": int(self.period.total_seconds())},
        }


def scheduled_entries(settings: Settings) -> list[ScheduledEntry]:
    return [
        ScheduledEntry(
            "monitor-new-contracts", task_names.MONITOR_NEW_CONTRACTS,
            crontab(minute=0, hour="*/6"), timedelta(hours=6),
            "the main sweep of every watched órgão; 6 h keeps new contracts fresh within the "
            "Portal's daily budget (00:00 falls in the Portal's faster night window)",
            {"lookback_hours": settings.monitor_lookback_hours},
        ),
        ScheduledEntry(
            "monitor-priority-orgs", task_names.MONITOR_PRIORITY_ORGS,
            crontab(minute=30, hour="*/4"), timedelta(hours=4),
            "priority órgãos more often; at :30 so it never starts in the same minute as the "
            "6-hourly sweep and competes with it for the shared rate limit",
            {"lookback_hours": settings.priority_lookback_hours},
        ),
        ScheduledEntry(
            "refresh-sanctions", task_names.REFRESH_SANCTIONS,
            crontab(minute=40, hour=3), timedelta(days=1),
            "CEIS/CNEP change at most daily; 03:40 is inside the Portal's night window (higher "
            "rate) and before the 06:00 sweep, which then checks suppliers against fresh lists",
        ),
        ScheduledEntry(
            "reanalyze-historical", task_names.REANALYZE_HISTORICAL,
            crontab(minute=15, hour=1, day_of_week="sun"), timedelta(days=7),
            "re-runs the current detector version over stored contracts; weekly, on Sunday night "
            "when nobody is waiting for on-demand requests",
            {"months": settings.reanalysis_months},
        ),
        ScheduledEntry(
            "health-check-hourly", task_names.HEALTH_CHECK,
            crontab(minute=5), timedelta(hours=1),
            "liveness of Redis, the database, the Portal and the schedules; cheap, so hourly, at "
            ":05 so it sees the :00 sweeps already started",
        ),
        ScheduledEntry(
            "cleanup-stuck", task_names.CLEANUP_STUCK,
            crontab(minute="7,22,37,52"), timedelta(minutes=15),
            "fails investigations stuck pending/running (a lost message, a killed worker) so "
            "every investigation reaches a terminal state; off the quarter hours to spread load",
        ),
        ScheduledEntry(
            "build-training-dataset", task_names.BUILD_TRAINING_DATASET,
            crontab(minute=20, hour=4, day_of_week="mon"), timedelta(days=7),
            "feedback accumulates slowly; a weekly snapshot is enough and runs at night",
        ),
        ScheduledEntry(
            "metrics-report", task_names.METRICS_REPORT,
            crontab(minute=10, hour=7), timedelta(days=1),
            "a daily report at 07:10, after the night's sanctions refresh and the 06:00 sweep",
        ),
    ]


def build_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The ``beat_schedule`` of the beat process."""
    return {entry.name: entry.as_beat_entry() for entry in scheduled_entries(settings)}


def expected_periods(settings: Settings) -> dict[str, timedelta]:
    """Task name -> how often it should succeed; the health check's staleness reference.

    The priority sweep is left out when no priority órgão is configured: it then has nothing
    to do and records no run, which must not read as a stale schedule.
    """
    periods = {entry.task: entry.period for entry in scheduled_entries(settings)}
    if not settings.priority_orgaos:
        periods.pop(task_names.MONITOR_PRIORITY_ORGS, None)
    return periods
