"""Housekeeping: stuck investigations and runs, the training dataset, and the daily metrics report."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import Any

from shared import task_names
from shared.detection import DETECTOR_VERSION
from shared.domain import RunStatus
from shared.pipeline.context import PipelineContext
from shared.pipeline.state import RunState

log = logging.getLogger("vigia.pipeline.maintenance")

# Runs still "running" after this long lost a sub-task or their worker; the weekly re-analysis
# walks 26 windows one after another, so it gets longer.
STALE_RUN = {task_names.REANALYZE_HISTORICAL: timedelta(days=2)}
DEFAULT_STALE_RUN = timedelta(hours=12)
FEATURE_VERSION_PREFIX = "features-v1"


def cleanup_stuck(ctx: PipelineContext) -> tuple[dict[str, int], dict[str, Any]]:
    now = ctx.clock()
    minutes = ctx.settings.stuck_investigation_minutes
    failed = ctx.store.fail_stuck_investigations(
        older_than=now - timedelta(minutes=minutes),
        reason=f"sem progresso há mais de {minutes} minutos (mensagem perdida ou worker interrompido); "
               "peça a investigação de novo",
    )
    closed = []
    for run in ctx.store.last_runs(status=RunStatus.RUNNING, limit=500):
        limit = STALE_RUN.get(run.task, DEFAULT_STALE_RUN)
        if now - run.started_at > limit and RunState(ctx.redis, run.id).claim_close(seconds=3600):
            ctx.store.close_run(run.id, status=RunStatus.FAILED,
                                error=f"did not finish within {limit} (a sub-task or its worker was lost)")
            closed.append(run.id)
    if failed or closed:
        log.warning("stuck work failed", extra={"investigations": failed[:50], "runs": closed})
    return {"investigations_failed": len(failed), "runs_failed": len(closed)}, {
        "investigations": failed[:200], "runs": closed}


def build_training_dataset(ctx: PipelineContext) -> tuple[dict[str, int], dict[str, Any]]:
    samples = ctx.store.training_samples()
    if not samples:
        return {"samples": 0}, {"skipped": "no feedback recorded yet"}
    dataset = ctx.store.save_dataset(feature_version=f"{FEATURE_VERSION_PREFIX}+{DETECTOR_VERSION}", samples=samples)
    log.info("training dataset saved", extra={"dataset_id": dataset.id, "total": dataset.total,
                                              "positive": dataset.positive, "negative": dataset.negative})
    return ({"samples": dataset.total, "positive": dataset.positive, "negative": dataset.negative},
            {"dataset_id": dataset.id, "checksum": dataset.checksum, "feature_version": dataset.feature_version})


def metrics_report(ctx: PipelineContext, *, hours: int = 24) -> tuple[dict[str, int], dict[str, Any]]:
    since = ctx.clock() - timedelta(hours=hours)
    stats = ctx.store.stats()
    recent = [r for r in ctx.store.last_runs(limit=1000) if r.started_at >= since]
    by_status = Counter(str(r.status) for r in recent)
    by_task: dict[str, Counter[str]] = {}
    for run in recent:
        by_task.setdefault(run.task, Counter())[str(run.status)] += 1
    finished = by_status.get("succeeded", 0) + by_status.get("failed", 0)
    report = {
        "period_hours": hours,
        "runs": dict(by_status),
        "runs_by_task": {task: dict(counts) for task, counts in sorted(by_task.items())},
        "success_rate": round(by_status.get("succeeded", 0) / finished, 4) if finished else None,
        "investigations_by_status": stats.investigations_by_status,
        "findings_by_indicator": stats.findings_by_indicator,
        "contracts_seen": sum(int(r.counters.get("contracts_seen", 0)) for r in recent),
        "investigations_created": sum(int(r.counters.get("investigations_created", 0)) for r in recent),
    }
    log.info("metrics report", extra={"report": report})
    counters = {"runs": len(recent), "runs_failed": by_status.get("failed", 0)}
    return counters, report
