"""The first monitoring cycle of a fresh ``vigia dev`` stack, so a newcomer sees results at once.

Beat fires the monitoring cycle every 6 hours; a fresh stack would show nothing until then. Once
the worker answers a ping, this sends what an operator would send by hand — the sanctions
refresh, then one ``monitor_new_contracts`` over the whole simulated data set — through the real
broker to the real worker, follows the run until it closes, and reports how many contracts were
read and how many investigations the database now holds. A database that already holds
investigations is left alone (the stack was run before).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared import task_names
from shared.config import Settings

MONITOR = task_names.MONITOR_NEW_CONTRACTS
SANCTIONS = task_names.REFRESH_SANCTIONS
# The simulator's data set spans a few years of vigência; this lookback reaches all of it.
EVERYTHING_HOURS = 24 * 365 * 8


class Stopped(Exception):
    """``vigia dev`` is stopping: give up quietly."""


@dataclass(frozen=True)
class CycleReport:
    skipped: str | None = None  # why no cycle ran
    run_status: str | None = None
    contracts: int = 0
    investigations: int = 0
    seconds: float = 0.0
    error: str | None = None


def settings_for(env: dict[str, str]) -> Settings:
    """The stack's own settings (from the environment its children get, not this shell's .env)."""
    return Settings(
        _env_file=None,
        environment="development",
        redis_url=env["REDIS_URL"],
        database_url=env.get("DATABASE_URL") or None,
        transparency_api_url=env.get("TRANSPARENCY_API_URL") or Settings.model_fields["transparency_api_url"].default,
    )


def _until(condition: Callable[[], Any], stop: threading.Event, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stop.is_set():
            raise Stopped
        result = condition()
        if result:
            return result
        stop.wait(0.5)
    raise TimeoutError(f"{what} took longer than {timeout:.0f} s")


def run_first_cycle(env: dict[str, str], stop: threading.Event, *, timeout: float = 600.0) -> CycleReport:
    from services.celery_app import create_app
    from shared.domain import RunStatus
    from shared.store import get_store
    from shared.store.base import InvestigationFilter

    settings = settings_for(env)
    store = get_store(settings, application_name="vigia-dev-first-cycle")
    client = create_app(settings, process="cli", include_tasks=False)
    try:
        existing = store.list_investigations(InvestigationFilter(), limit=1).total
        if existing:
            return CycleReport(skipped=f"the database already holds investigations: {existing}", investigations=existing)
        _until(lambda: client.control.ping(timeout=1.0), stop, timeout, "the worker's first answer")
        started = time.monotonic()
        sanctions = client.send_task(SANCTIONS)
        _until(sanctions.ready, stop, timeout, "the sanctions refresh")
        if sanctions.failed():
            return CycleReport(error=f"the sanctions refresh failed: {sanctions.result!r}")
        cycle = client.send_task(MONITOR, kwargs={"lookback_hours": EVERYTHING_HOURS})
        _until(cycle.ready, stop, timeout, "the monitoring cycle's start")
        if cycle.failed() or not isinstance(cycle.result, dict) or "run_id" not in cycle.result:
            return CycleReport(error=f"the monitoring cycle did not start: {cycle.result!r}")
        run_id = int(cycle.result["run_id"])

        def closed() -> Any:
            run = store.get_run(run_id)
            return run if run is not None and run.status is not RunStatus.RUNNING else None

        run = _until(closed, stop, timeout, f"monitoring run {run_id}")
        total = store.list_investigations(InvestigationFilter(), limit=1).total
        return CycleReport(
            run_status=str(run.status),
            contracts=int(run.counters.get("contracts_seen", 0)),
            investigations=total or 0,
            seconds=time.monotonic() - started,
            error=run.error,
        )
    finally:
        client.close()
        store.close()
