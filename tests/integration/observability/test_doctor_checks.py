"""`vigia doctor` on Sentry, the alert webhook and the heartbeat: configured or not, and whether each
endpoint answers — checked against the stand-ins, which must receive no event, alert or ping."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.support.processes import REPO_ROOT
from tests.support.sentry_ingest import sentry_ingest
from tests.support.webhooks import heartbeat_receiver, webhook_receiver

pytestmark = pytest.mark.integration


def _doctor(env: dict[str, str]) -> dict[str, Any]:
    base = {"PATH": os.environ["PATH"], "VIGIA_ENV_FILE": "", "HOME": os.environ.get("HOME", "/tmp"),
            "ENVIRONMENT": "development"}
    done = subprocess.run([sys.executable, "-m", "services.cli", "doctor", "--json"], env={**base, **env},
                          capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, check=False)
    document = json.loads(done.stdout)
    return {check["key"]: check for check in document["checks"]}


def test_it_reports_the_three_as_not_configured(redis_url: str, database_url: str) -> None:
    checks = _doctor({"REDIS_URL": redis_url, "DATABASE_URL": database_url})
    assert {checks[k]["status"] for k in ("sentry", "alerts", "heartbeat")} == {"skip"}
    assert "HEARTBEAT_URL not set" in checks["heartbeat"]["reason"]


def test_it_checks_each_endpoint_without_sending_anything(redis_url: str, database_url: str) -> None:
    with sentry_ingest() as ingest, webhook_receiver("discord") as hook, heartbeat_receiver() as monitor:
        checks = _doctor({"REDIS_URL": redis_url, "DATABASE_URL": database_url, "SENTRY_DSN": ingest.dsn,
                          "ALERT_WEBHOOK_URL": hook.url, "ALERT_WEBHOOK_FORMAT": "discord",
                          "HEARTBEAT_URL": monitor.url})
        assert ingest.envelopes == [] and hook.received == [] and monitor.pings == []
    assert {checks[k]["status"] for k in ("sentry", "alerts", "heartbeat")} == {"pass"}, checks
    text = json.dumps(checks)
    assert hook.token not in text and monitor.check not in text and ingest.public_key not in text


def test_it_fails_the_endpoints_that_do_not_answer(redis_url: str, database_url: str) -> None:
    with webhook_receiver("slack") as hook, heartbeat_receiver() as monitor:
        urls = {"ALERT_WEBHOOK_URL": hook.url, "HEARTBEAT_URL": monitor.url}
    checks = _doctor({"REDIS_URL": redis_url, "DATABASE_URL": database_url, "ALERT_WEBHOOK_FORMAT": "slack", **urls})
    assert checks["alerts"]["status"] == checks["heartbeat"]["status"] == "fail"
    assert "not reachable" in checks["heartbeat"]["reason"]
