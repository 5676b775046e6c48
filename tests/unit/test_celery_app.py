"""The Celery app: reliable delivery settings, and every task on a queue the worker consumes."""

from __future__ import annotations

import os
import subprocess
import sys

from services.celery_app import QUEUES, TASK_MODULES, create_app
from services.dev.procfile import worker_queues
from shared import task_names
from shared.config import Settings
from tests.support.processes import REPO_ROOT


def _app():  # type: ignore[no-untyped-def]
    app = create_app(Settings(_env_file=None), process="cli")
    app.loader.import_default_modules()
    for module in TASK_MODULES:
        __import__(module)
    return app


def test_it_routes_every_task_to_a_queue_the_procfile_worker_consumes() -> None:
    app = _app()
    consumed = worker_queues()
    ours = [name for name in app.tasks if task_names.is_ours(name)]
    assert ours, "no Vigia task is registered"
    for name in ours:
        route = app.amqp.router.route({}, name)
        queue = route["queue"].name
        assert queue in consumed, f"{name} goes to {queue!r}, which the Procfile's worker does not consume"
    assert set(QUEUES) <= consumed


def test_it_is_configured_for_late_acks_and_json_only() -> None:
    conf = _app().conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.broker_connection_retry_on_startup is True


def test_it_checks_certificates_on_tls_brokers_by_default() -> None:
    import ssl

    app = create_app(Settings(_env_file=None, redis_url="rediss://default:pw@redis.example:6380/0"), process="cli")
    assert app.conf.broker_use_ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED}


def test_it_imports_the_worker_without_the_api_groq_or_supabase() -> None:
    code = (
        "import sys, services.worker as w; w.app; "
        "w.app.loader.import_default_modules(); "
        "[__import__(m) for m in w.app.conf.include]; "
        "bad = [m for m in ('fastapi', 'groq', 'supabase', 'services.api') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    env = {**os.environ, "ENVIRONMENT": "development"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=True)
    assert result.stdout.strip().splitlines()[-1:] in ([], [""]), result.stdout
