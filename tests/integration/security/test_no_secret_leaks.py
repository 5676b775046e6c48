"""No secret reaches a log line, an error, a task message, a task result or a stored row.

A production-like deployment runs with real-looking secrets in every variable (GROQ_API_KEY,
SUPABASE_SERVICE_ROLE_KEY, TRANSPARENCY_API_KEY, DATABASE_URL and REDIS_URL with passwords that
the servers require, API_KEYS, FLOWER_PASSWORD, SENTRY_DSN), every process started from the
Procfile (``release``, ``web``, ``worker``, ``beat``, ``flower``) plus ``vigia doctor``. It goes
through a whole monitoring cycle on the keyed Portal simulator with Groq summaries, an on-demand
request and feedback through the API, and the error paths where secrets tend to slip out: a Groq
401, a Portal 403 (health check degraded, a failed run), API requests without a key, with a
wrong key, with a bad body, with a key pasted into the query string, too large.

Captured meanwhile: every line every process printed, every command any client sent to Redis
(task messages decoded from base64, results, events, schedule entries), every HTTP answer the
test received. Afterwards: every key left in Redis and every row of every table. None of them
may contain any secret value.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.dev.embedded import free_port
from shared.config import Settings
from shared.domain import RunStatus
from tests.integration.security.capture import RedisMonitor, find_secrets, redis_dump, table_dump
from tests.integration.security.conftest import DeploymentSecrets, admin_url_of
from tests.support.groq import Reply, groq_standin
from tests.support.processes import REPO_ROOT, ManagedProcess, procfile_argv, start, venv_bin, wait_for
from tests.support.redbeat import schedule_once

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MONITOR = "vigia.monitoring.monitor_new_contracts"
EVERYTHING_HOURS = 24 * 365 * 8


def deployment_env(s: DeploymentSecrets, *, redis_url: str, database_url: str, portal_url: str,
                   groq_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(
        ENVIRONMENT="production", VIGIA_ENV_FILE="", LOG_FORMAT="json", LOG_LEVEL="DEBUG", PYTHONUNBUFFERED="1",
        REDIS_URL=redis_url, DATABASE_URL=database_url,
        TRANSPARENCY_API_KEY=s.transparency_api_key, TRANSPARENCY_API_URL=portal_url,
        PORTAL_RATE_DAY_PER_MIN="100000", PORTAL_RATE_NIGHT_PER_MIN="100000", PORTAL_MAX_RETRIES="1",
        GROQ_API_KEY=s.groq_api_key, GROQ_API_URL=groq_url,
        SUPABASE_SERVICE_ROLE_KEY=s.supabase_service_role_key,
        API_KEYS=",".join(s.api_keys), FLOWER_PASSWORD=s.flower_password, SENTRY_DSN=s.sentry_dsn,
        WEB_CONCURRENCY="1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def run_command(name: str, argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180, check=False)
    return done.returncode, done.stdout + done.stderr


class Http:
    """An httpx client that keeps every answer, to scan them too."""

    def __init__(self) -> None:
        self.client = httpx.Client(timeout=30)
        self.answers: list[tuple[str, str]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, url, **kwargs)
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.answers.append((f"HTTP {method} {httpx.URL(url).path} -> {response.status_code}",
                             headers + "\n" + response.text))
        return response


@pytest.fixture
def http() -> Iterator[Http]:
    client = Http()
    yield client
    client.client.close()


def test_it_keeps_every_secret_out_of_logs_task_messages_results_and_rows(
    deployment_secrets: DeploymentSecrets, password_redis_url: str, password_database_url: str,
    postgres_admin_url: str, keyed_portal: tuple[Any, Any, Any], http: Http,
) -> None:
    from services.celery_app import create_app
    from shared.portal.simulator.admin import SimulatorAdmin
    from shared.store import get_store

    s = deployment_secrets
    simulator, front, dataset = keyed_portal
    outputs: list[tuple[str, str]] = []
    processes: list[ManagedProcess] = []
    monitor = RedisMonitor(password_redis_url).start()
    with groq_standin() as groq:
        groq.key = s.groq_api_key
        groq.queue(Reply(kind="unauthorized"))  # the first summary meets a 401, the rest are written
        env = deployment_env(s, redis_url=password_redis_url, database_url=password_database_url,
                             portal_url=front.base_url, groq_url=groq.url)
        web_port, flower_port = free_port(), free_port()
        web_url, flower_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{flower_port}"
        settings = Settings(_env_file=None, environment="test", redis_url=password_redis_url,
                            database_url=password_database_url)
        store = get_store(settings, application_name="vigia-test-security")
        client = create_app(settings, process="cli")
        try:
            code, output = run_command("release", procfile_argv("release", env), env)
            outputs.append(("release output", output))
            assert code == 0, output

            worker = start("worker", env)
            beat = start("beat", env, "--max-interval", "1")
            web = start("web", {**env, "PORT": str(web_port)})
            flower = start("flower", {**env, "PORT": str(flower_port)})
            processes += [worker, beat, web, flower]
            worker.wait_for_line("worker ready", timeout=90)
            beat.wait_for_line("Acquired lock", timeout=90)
            wait_for(lambda: httpx.get(f"{web_url}/health", timeout=2).status_code == 200, timeout=90,
                     what="the web process to answer /health")
            wait_for(lambda: httpx.get(f"{flower_url}/healthcheck", timeout=2).status_code == 200, timeout=90,
                     what="Flower to answer /healthcheck")

            # A canary through the broker: proves task messages and results are decoded and scanned.
            canary = "canary-" + secrets.token_hex(8)
            assert client.send_task("vigia.system.ping", kwargs={"payload": canary}).get(timeout=60)["payload"] == canary
            assert client.send_task("vigia.maintenance.refresh_sanctions").get(timeout=90)["status"] == "done"

            # The monitoring cycle, fired by beat, summaries by Groq (after one 401).
            schedule_once(password_redis_url, "security-cycle", MONITOR, {"lookback_hours": EVERYTHING_HOURS})
            run = wait_for(lambda: next((r for r in store.last_runs(task=MONITOR, limit=1)
                                         if r.status is not RunStatus.RUNNING), None),
                           timeout=120, interval=0.5, what="the monitoring run to close")
            assert run.status is RunStatus.SUCCEEDED, run
            assert run.counters["contracts_seen"] == len(dataset.contracts)
            assert run.counters.get("summaries_groq", 0) > 0 and run.counters.get("summaries_template", 0) >= 1, run.counters
            assert front.keys_seen == {s.transparency_api_key}  # the key travelled, to the Portal only
            completions = groq.completions
            assert completions and {r.headers.get("Authorization") for r in completions} == {f"Bearer {s.groq_api_key}"}
            assert not groq.replies, "the Groq 401 was never met"

            # The API: reads, an on-demand request, feedback, and bad requests of every kind.
            key = {"X-API-Key": s.api_keys[1]}
            api = f"{web_url}/api/v1"
            assert http.request("GET", f"{web_url}/health/ready").status_code == 200
            listing = http.request("GET", f"{api}/investigations", params={"page_size": 5, "sort": "-risk_score"})
            assert listing.status_code == 200 and listing.json()["items"]
            assert http.request("GET", f"{api}/stats").status_code == 200
            assert http.request("GET", f"{api}/orgaos", params={"limit": 5}).status_code == 200
            planted = sorted({cid for ids in dataset.ground_truth.contracts.values() for cid in ids})[0]
            accepted = http.request("POST", f"{api}/investigations", json={"contract_id": planted}, headers=key)
            assert accepted.status_code == 202, accepted.text
            on_demand_id = accepted.json()["id"]
            detail = wait_for(lambda: (b := http.request("GET", web_url + accepted.json()["poll_url"]).json())
                              and b["status"] in ("completed", "failed") and b,
                              timeout=90, interval=0.3, what="the on-demand investigation to finish")
            assert detail["status"] == "completed", detail
            feedback = http.request("POST", f"{api}/investigations/{on_demand_id}/feedback",
                                    json={"label": "true_positive", "note": "conferido"}, headers=key)
            assert feedback.status_code == 201, feedback.text
            assert http.request("POST", f"{api}/investigations", json={"contract_id": planted}).status_code == 401
            wrong = {"X-API-Key": "vk_" + secrets.token_hex(20)}
            assert http.request("POST", f"{api}/investigations", json={"contract_id": planted}, headers=wrong).status_code == 401
            assert http.request("POST", f"{api}/investigations", json={"contract_id": "x"}, headers=key).status_code == 422
            assert http.request("POST", f"{api}/investigations", content=b"{not json", headers=key).status_code == 422
            assert http.request("GET", f"{api}/investigations", params={"page_size": 10**6}).status_code == 422
            assert http.request("POST", f"{api}/investigations", content=b"0" * 70_000, headers=key).status_code == 413
            # A key pasted into a URL by mistake reaches the access log only redacted.
            pasted = http.request("GET", f"{api}/investigations", params={"api_key": s.api_keys[0], "page_size": 1})
            assert pasted.status_code == 200
            http.answers.pop()  # that request carried the key itself; only the logs must not repeat it

            # Flower: health and metrics are public; everything else needs the password.
            assert http.request("GET", f"{flower_url}/healthcheck").status_code == 200
            assert http.request("GET", f"{flower_url}/metrics").status_code == 200
            assert http.request("GET", f"{flower_url}/").status_code == 401
            assert http.request("GET", f"{flower_url}/", auth=("vigia", "not-the-password")).status_code == 401
            tasks = http.request("GET", f"{flower_url}/api/tasks", auth=("vigia", s.flower_password))
            assert tasks.status_code == 200 and tasks.json(), "Flower saw no task"

            # The Portal revokes the key: the health check degrades and a cycle fails, saying why.
            with SimulatorAdmin(simulator.url) as admin:
                admin.configure(forbidden=True)
                report = client.send_task("vigia.maintenance.health_check").get(timeout=60)
                assert report["status"] == "degraded", report
                client.send_task(MONITOR, kwargs={"lookback_hours": 6})
                failed = wait_for(lambda: next((r for r in store.last_runs(task=MONITOR, limit=2)
                                                if r.status is RunStatus.FAILED), None),
                                  timeout=90, interval=0.5, what="the monitoring run on a revoked key to fail")
                admin.configure(forbidden=False)
            assert failed.error and "403" in failed.error, failed

            code, output = run_command("doctor", [venv_bin("vigia"), "doctor", "--process",
                                                  "worker,beat,web,flower,release"], env)
            outputs.append(("vigia doctor output", output))
            assert "Redis reachable" in output and "Groq key accepted" in output, output
        finally:
            for proc in reversed(processes):
                proc.stop(timeout=30)
            monitor.stop()
            store.close()

    assert "groq summary not used" in worker.output  # the 401 path was logged
    assert any(r.get("status") == 401 for r in web.json_lines()) and any(r.get("status") == 413 for r in web.json_lines())

    commands = list(monitor.texts())
    assert any(canary in text for text in commands), "the Redis capture decoded no task message"
    assert any(on_demand_id in text and "vigia.analysis.investigate" in text for text in commands)
    rows = table_dump(admin_url_of(postgres_admin_url, password_database_url))
    assert rows["contracts"] and rows["investigations"] and rows["investigation_feedback"] and rows["monitor_runs"]

    sources: list[tuple[str, str]] = list(outputs)
    for proc in processes:
        sources += [(f"{proc.name} line {n}", line) for n, line in enumerate(proc.lines, 1)]
    sources += [(f"redis command {n}", text) for n, text in enumerate(commands, 1)]
    sources += [(f"redis key {n}", text) for n, text in enumerate(redis_dump(password_redis_url), 1)]
    sources += [(f"table {table} row {n}", text) for table, texts in rows.items() for n, text in enumerate(texts, 1)]
    sources += http.answers
    leaks = find_secrets(sources, s.by_name())
    report_lines = [f"{leak.secret} in {leak.where}: …{leak.context}…" for leak in leaks[:20]]
    assert not leaks, f"{len(leaks)} secret occurrence(s):\n" + "\n".join(report_lines)
    # The capture was not blind: it held the whole run.
    assert len(commands) > 1000 and sum(len(p.lines) for p in processes) > 100
