"""Errors of a real worker and a real gunicorn web reach Sentry (the ingest stand-in) with no secret.

The deployment is the leak test's: ``ENVIRONMENT=production``, real-looking secrets in every
variable, a Redis and a PostgreSQL that require their passwords, the keyed Portal simulator. Then:

* a task error: the Portal refuses the key, so the monitoring cycle's fan-out raises
  ``PermanentRequestError`` out of the task — from frames whose locals hold the Portal key;
* a request error: a table the API reads is gone, so a list request fails (500) — sent with the
  first API key pasted into its query string.

Both must arrive as events, parsed from real envelopes, and nothing in any request the SDK made
may contain a secret; the DSN's public key only where the protocol puts it (the ``X-Sentry-Auth``
header and the envelope header's ``trace``).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import psycopg
import pytest

from services.dev.embedded import free_port
from shared.config import Settings
from tests.integration.security.conftest import DeploymentSecrets, admin_url_of
from tests.integration.security.test_no_secret_leaks import deployment_env, run_command
from tests.support.processes import ManagedProcess, procfile_argv, start, wait_for
from tests.support.sentry_ingest import SentryIngest, sentry_ingest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MONITOR = "vigia.monitoring.monitor_new_contracts"


def _event(ingest: SentryIngest, process: str, predicate: Any) -> dict[str, Any] | None:
    return next((e for e in ingest.events() if e.get("tags", {}).get("process") == process and predicate(e)), None)


def _exception_types(event: dict[str, Any]) -> list[str]:
    return [value.get("type", "") for value in event.get("exception", {}).get("values", [])]


def test_it_reports_task_and_request_errors_without_a_secret(
    deployment_secrets: DeploymentSecrets, password_redis_url: str, password_database_url: str,
    postgres_admin_url: str, keyed_portal: tuple[Any, Any, Any],
) -> None:
    from services.celery_app import create_app
    from shared.portal.simulator.admin import SimulatorAdmin

    s = deployment_secrets
    simulator, front, _ = keyed_portal
    processes: list[ManagedProcess] = []
    with sentry_ingest(public_key=s.sentry_key) as ingest:
        env = deployment_env(s, redis_url=password_redis_url, database_url=password_database_url,
                             portal_url=front.base_url, groq_url=f"http://127.0.0.1:{free_port()}")
        env.update(SENTRY_DSN=ingest.dsn, SENTRY_RELEASE="test-release", LOG_LEVEL="INFO")
        web_port = free_port()
        web_url = f"http://127.0.0.1:{web_port}"
        client = create_app(Settings(_env_file=None, environment="test", redis_url=password_redis_url), process="cli")
        admin_db = admin_url_of(postgres_admin_url, password_database_url)
        try:
            code, output = run_command("release", procfile_argv("release", env), env)
            assert code == 0, output
            worker = start("worker", env)
            web = start("web", {**env, "PORT": str(web_port)})
            processes += [worker, web]
            worker.wait_for_line("worker ready", timeout=90)
            wait_for(lambda: httpx.get(f"{web_url}/health", timeout=2).status_code == 200, timeout=90,
                     what="the web process to answer /health")

            # A task error, raised out of the task from frames that hold the Portal key.
            with SimulatorAdmin(simulator.url) as admin:
                admin.configure(forbidden=True)
                client.send_task(MONITOR, kwargs={"lookback_hours": 6})
                task_event = wait_for(lambda: _event(ingest, "worker", lambda e: "PermanentRequestError"
                                                     in _exception_types(e)),
                                      timeout=90, interval=0.3, what="the task's error event")
                admin.configure(forbidden=False)
            assert task_event is not None and task_event["release"] == "test-release" and task_event["environment"] == "production"
            frames = [f for v in task_event["exception"]["values"] for f in v.get("stacktrace", {}).get("frames", [])]
            assert any(f.get("vars") for f in frames), "no stack-frame locals were sent; redaction was not exercised"

            # A request error: the table a list reads is gone (a botched manual migration, say).
            with psycopg.connect(admin_db, autocommit=True) as conn:
                conn.execute("ALTER TABLE investigations RENAME TO investigations_away")
            try:
                answer = httpx.get(f"{web_url}/api/v1/investigations",
                                   params={"api_key": s.api_keys[0], "page_size": 1}, timeout=30)
                assert answer.status_code == 500, answer.text
                request_event = wait_for(lambda: _event(ingest, "web", lambda e: "investigations" in json.dumps(e)),
                                         timeout=60, interval=0.3, what="the request's error event")
            finally:
                with psycopg.connect(admin_db, autocommit=True) as conn:
                    conn.execute("ALTER TABLE investigations_away RENAME TO investigations")
            assert request_event is not None and request_event["request"]["url"].endswith("/api/v1/investigations")
        finally:
            for process in processes:
                process.stop()

        # Nothing any process sent to Sentry holds a secret.
        assert ingest.envelopes and not ingest.refused, ingest.refused
        everything = dict(s.by_name())
        public_key = everything.pop("SENTRY_DSN key")
        everything.pop("SENTRY_DSN")  # the leak test's DSN for another host; ours is ingest.dsn
        for raw in ingest.raw:
            found = [name for name, value in everything.items() if value in raw]
            assert not found, f"{found} reached Sentry:\n{raw[:2000]}"
        for envelope in ingest.envelopes:
            for item in envelope.items:
                assert public_key.encode() not in item.payload, "the DSN key inside an event item"
