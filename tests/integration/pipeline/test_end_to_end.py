"""End to end with real processes: simulator -> beat and worker on real Redis -> real PostgreSQL.

Beat fires the monitoring cycle (a one-slot entry added to its RedBeat schedule in Redis, as an
operator would add one), the worker sweeps every órgão of the simulator, and the planted
anomalies come out as completed investigations with findings and summaries, counted in the run.
A second cycle over the same data writes no second investigation for any contract.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.detection import DETECTOR_VERSION
from shared.domain import InvestigationStatus, RunStatus, Trigger
from shared.store import get_store
from shared.store.base import InvestigationFilter
from tests.integration.pipeline.conftest import EVERYTHING_HOURS, pipeline_settings
from tests.integration.pipeline.expected import expected_flags
from tests.support.processes import pipeline_env, start, wait_for
from tests.support.redbeat import schedule_once

pytestmark = pytest.mark.integration

MONITOR = "vigia.monitoring.monitor_new_contracts"


def _closed_runs(store: Any, task: str) -> list[Any]:
    return [r for r in store.last_runs(task=task, limit=10) if r.status is not RunStatus.RUNNING]


def test_it_turns_planted_anomalies_into_investigations_through_beat_and_worker(
    service_env: dict[str, str], redis_url: str, pipeline_database: str, simulator: Any, sim_dataset: Any
) -> None:
    from services.celery_app import create_app

    env = pipeline_env(service_env, redis_url=redis_url, database_url=pipeline_database,
                       portal_url=simulator.base_url)
    settings = pipeline_settings(pipeline_database, env["REDIS_URL"], simulator.base_url)
    store = get_store(settings, application_name="vigia-test-e2e")
    client = create_app(settings, process="cli")
    worker, beat = start("worker", env), start("beat", env, "--max-interval", "1")
    try:
        worker.wait_for_line("worker ready", timeout=60)
        beat.wait_for_line("Acquired lock", timeout=60)
        sanctions = client.send_task("vigia.maintenance.refresh_sanctions").get(timeout=60)
        assert sanctions["status"] == "done"

        schedule_once(env["REDIS_URL"], "e2e-cycle-1", MONITOR, {"lookback_hours": EVERYTHING_HOURS})
        first = wait_for(lambda: _closed_runs(store, MONITOR), timeout=75, interval=0.5,
                         what="the first monitoring run to close")[0]
        assert first.status is RunStatus.SUCCEEDED, first
        total = len(sim_dataset.contracts)
        assert first.counters["contracts_seen"] == total and first.counters["contracts_new"] == total
        assert first.counters["orgaos_done"] == len(sim_dataset.orgaos)

        expected = expected_flags(sim_dataset)
        investigations = store.list_investigations(InvestigationFilter(), limit=5000).items
        assert {i.contract_id for i in investigations} == set(expected)
        assert len(investigations) == len(expected) == first.counters["investigations_created"]
        assert first.counters["summaries_template"] == len(expected)  # no GROQ_API_KEY here
        assert all(i.status is InvestigationStatus.COMPLETED and i.summary and i.findings_count for i in investigations)
        flagged_by = {code for codes in expected.values() for code in codes}
        for code, planted in sim_dataset.ground_truth.contracts.items():
            if code in flagged_by:
                hits = [i for i in investigations if i.contract_id in planted and code in i.finding_indicators]
                assert hits, f"no investigation carries the planted {code}"
        assert "sanctioned_supplier" in flagged_by

        schedule_once(env["REDIS_URL"], "e2e-cycle-2", MONITOR, {"lookback_hours": EVERYTHING_HOURS})
        runs = wait_for(lambda: (r := _closed_runs(store, MONITOR)) and len(r) == 2 and r, timeout=75,
                        interval=0.5, what="the second monitoring run to close")
        second = runs[0]
        assert second.status is RunStatus.SUCCEEDED
        assert second.counters["contracts_new"] == 0 and second.counters["contracts_unchanged"] == total
        assert second.counters.get("investigations_created", 0) == 0
        again = store.list_investigations(InvestigationFilter(), limit=5000).items
        assert sorted(i.id for i in again) == sorted(i.id for i in investigations)
        assert '"message": "run closed"' in worker.output

        # The hourly health check, through the worker: stored as a run and logged.
        report = client.send_task("vigia.maintenance.health_check").get(timeout=60)
        assert report["status"] == "healthy", report
        stored = store.last_runs(task="vigia.maintenance.health_check", limit=1)[0]
        assert stored.result["status"] == "healthy" and {"redis", "database", "portal"} <= set(stored.result["checks"])

        # An on-demand request, as the API enqueues it, ends completed.
        planted = next(iter(sim_dataset.ground_truth.contracts["price_outlier"]))
        investigation, _ = store.create_or_get_investigation(
            contract_id=planted, orgao_codigo=None, trigger=Trigger.ON_DEMAND, detector_version=DETECTOR_VERSION)
        client.send_task("vigia.analysis.investigate", kwargs={"investigation_id": investigation.id}).get(timeout=60)
        detail = store.get_investigation(investigation.id)
        assert detail is not None and detail.investigation.status is InvestigationStatus.COMPLETED
    finally:
        beat.stop()
        worker.stop()
        store.close()
