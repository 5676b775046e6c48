"""A worker without a Portal key nor a simulator refuses at once and closes its runs as failed.

Outside `vigia dev`, with no TRANSPARENCY_API_KEY and TRANSPARENCY_API_URL left at the real
Portal, no request is sent (the simulator's placeholder key must never reach the real host): the
sanctions refresh and the monitoring cycle fail without retrying, and their runs end `failed`
with what to set, instead of staying `running`.
"""

from __future__ import annotations

import pytest

from shared.domain import RunStatus
from shared.store import get_store
from tests.integration.pipeline.conftest import pipeline_settings
from tests.support.processes import pipeline_env, start, wait_for

pytestmark = pytest.mark.integration

REAL_PORTAL = "https://api.portaldatransparencia.gov.br/api-de-dados"


@pytest.mark.parametrize("task", ["vigia.maintenance.refresh_sanctions", "vigia.monitoring.monitor_new_contracts"])
def test_it_fails_the_run_at_once_without_sending_a_placeholder_key(
    service_env: dict[str, str], redis_url: str, pipeline_database: str, task: str
) -> None:
    from services.celery_app import create_app

    env = pipeline_env(service_env, redis_url=redis_url, database_url=pipeline_database, portal_url=REAL_PORTAL,
                       ENVIRONMENT="development")
    env.pop("TRANSPARENCY_API_KEY", None)
    settings = pipeline_settings(pipeline_database, env["REDIS_URL"], REAL_PORTAL)
    store = get_store(settings, application_name="vigia-test-no-portal")
    client = create_app(settings, process="cli")
    try:
        with start("worker", env) as worker:
            worker.wait_for_line("worker ready", timeout=60)
            result = client.send_task(task)
            wait_for(result.ready, timeout=60, interval=0.2, what=f"{task} to finish")
            runs = wait_for(lambda: [r for r in store.last_runs(task=task, limit=5)
                                     if r.status is not RunStatus.RUNNING], timeout=30, what="the run to close")
            assert runs[0].status is RunStatus.FAILED
            assert "TRANSPARENCY_API_KEY" in (runs[0].error or "")
            assert "retrying" not in worker.output and "task will retry" not in worker.output
    finally:
        client.close()
        store.close()
