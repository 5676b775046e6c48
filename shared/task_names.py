"""Every Celery task name Vigia registers, sends or schedules, so no two processes can misspell one.

A name is ``vigia.<area>.<task>``. The worker registers the tasks under these names, beat and the
web send them by name without importing the task modules, the run records and the health check
read them back, and the Celery app routes each area to its queue, so a name is part of the
contract between processes and is spelled here alone.
"""

from __future__ import annotations

NAMESPACE = "vigia"  # every task name starts with "vigia."

# Areas: a task's area decides its queue (services.celery_app.TASK_ROUTES).
MONITORING = "vigia.monitoring"
ANALYSIS = "vigia.analysis"
MAINTENANCE = "vigia.maintenance"
SYSTEM = "vigia.system"
ALERTS = "vigia.alerts"

# Monitoring: the scheduled cycles and the per-órgão sweep they fan out.
MONITOR_NEW_CONTRACTS = "vigia.monitoring.monitor_new_contracts"
MONITOR_PRIORITY_ORGS = "vigia.monitoring.monitor_priority_orgs"
SWEEP_ORGAO = "vigia.monitoring.sweep_orgao"

# Analysis: an on-demand investigation, a batch of contracts, the weekly re-analysis.
INVESTIGATE = "vigia.analysis.investigate"
ANALYZE_CONTRACTS = "vigia.analysis.analyze_contracts"
REANALYZE_HISTORICAL = "vigia.analysis.reanalyze_historical"

# Maintenance.
REFRESH_SANCTIONS = "vigia.maintenance.refresh_sanctions"
HEALTH_CHECK = "vigia.maintenance.health_check"
CLEANUP_STUCK = "vigia.maintenance.cleanup_stuck"
BUILD_TRAINING_DATASET = "vigia.maintenance.build_training_dataset"
METRICS_REPORT = "vigia.maintenance.metrics_report"

# System and alerts.
PING = "vigia.system.ping"
DELIVER_ALERT = "vigia.alerts.deliver"

# The two monitoring cycles beat schedules: what the health check, doctor and alerts watch.
MONITOR_CYCLES: tuple[str, ...] = (MONITOR_NEW_CONTRACTS, MONITOR_PRIORITY_ORGS)


def is_ours(name: str) -> bool:
    """Whether ``name`` is one of Vigia's task names (Celery registers its own ``celery.*`` ones)."""
    return name.startswith(NAMESPACE + ".")
