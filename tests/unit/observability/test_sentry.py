"""Sentry: absent unless SENTRY_DSN is set; when set, events leave redacted like the logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from shared.observability.sentry import EventRedactor
from tests.support.processes import REPO_ROOT, wait_for
from tests.support.sentry_ingest import sentry_ingest


def _run(code: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != "SENTRY_DSN"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT,
                          env={**base, "ENVIRONMENT": "development", **env}, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_it_imports_nothing_of_sentry_without_a_dsn() -> None:
    code = (
        "import sys\n"
        "import services.worker as w; w.app; w.app.loader.import_default_modules()\n"
        "import services.beat as b; b.build_app()\n"
        "import services.api.main\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('sentry_sdk'))))\n"
    )
    assert json.loads(_run("import json\n" + code)) == []


def test_it_redacts_nested_event_fields() -> None:
    secret = "0123456789abcdef0123456789abcdef"  # pragma: allowlist secret
    event = {"exception": {"values": [{"value": f"refused {secret}",
                                       "stacktrace": {"frames": [{"vars": {"key": f"'{secret}'", "n": 3}}]}}]},
             "breadcrumbs": {"values": [{"message": f"GET https://u:{secret}@db/x"}]}}
    cleaned = EventRedactor([secret]).event(event)
    assert secret not in json.dumps(cleaned)
    assert cleaned["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]["n"] == 3


def test_it_reports_an_error_log_redacted_to_the_dsn() -> None:
    secret = "fedcba9876543210fedcba9876543210"  # pragma: allowlist secret
    with sentry_ingest() as ingest:
        code = (
            "import logging, sentry_sdk\n"
            "from services.bootstrap import bootstrap\n"
            "bootstrap('cli')\n"
            f"logging.getLogger('vigia.test').error('the Portal refused key %s', '{secret}')\n"
            "sentry_sdk.flush(timeout=10)\n"
            "print('flushed')\n"
        )
        _run(code, SENTRY_DSN=ingest.dsn, TRANSPARENCY_API_KEY=secret, SENTRY_RELEASE="abc123")
        events = wait_for(ingest.events, timeout=10, what="the error event")
        raw = "\n".join(ingest.raw)
    [event] = events
    assert event["release"] == "abc123" and event["environment"] == "development"
    assert event["tags"]["process"] == "cli"
    assert "the Portal refused key ***" in json.dumps(event)
    assert secret not in raw
