"""Every scheduled entry, with why it runs when it does. Times are America/Sao_Paulo.

Crontab entries, never long intervals: an interval restarts counting at every deploy, so a
service redeployed more often than every 6 h would never run its 6-hourly sweep.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from shared.config import Settings


def build_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        # Liveness of the whole deployment; cheap, so hourly.
        "health-check-hourly": {
            "task": "vigia.maintenance.health_check",
            "schedule": crontab(minute=5),
        },
    }
