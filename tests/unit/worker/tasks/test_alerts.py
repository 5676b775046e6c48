"""The alert delivery task: routed to a queue the Procfile's worker consumes, retried with backoff."""

from __future__ import annotations

from services.celery_app import create_app
from services.dev.procfile import worker_queues
from shared.config import Settings
from shared.observability.alerts import Alert, AlertDeliveryError


def test_it_routes_alert_delivery_to_a_queue_the_procfile_worker_consumes() -> None:
    from services.worker.tasks.alerts import DELIVER

    app = create_app(Settings(_env_file=None), process="cli")
    queue = app.amqp.router.route({}, DELIVER)["queue"].name
    assert queue == "default" and queue in worker_queues()
    assert DELIVER in app.tasks


def test_it_retries_only_what_may_pass_with_backoff_and_jitter() -> None:
    from services.worker.tasks.alerts import deliver_alert

    assert deliver_alert.autoretry_for == (AlertDeliveryError,)
    assert deliver_alert.retry_backoff and deliver_alert.retry_jitter and deliver_alert.max_retries >= 3
    assert deliver_alert.ignore_result


def test_it_publishes_through_the_worker_app_with_a_bounded_retry() -> None:
    from services.worker.tasks.alerts import DELIVER, send_through_worker

    calls: list[tuple[str, dict[str, object]]] = []

    class App:
        def send_task(self, name: str, **options: object) -> None:
            calls.append((name, options))

    send_through_worker(App())(Alert("health_degraded", "degradada", "Portal"))
    [(name, options)] = calls
    sent = options["kwargs"]
    assert name == DELIVER and isinstance(sent, dict) and sent["alert"]["kind"] == "health_degraded"
    policy = options["retry_policy"]
    assert isinstance(policy, dict) and policy["max_retries"] <= 3
