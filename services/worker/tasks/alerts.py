"""Alert delivery: one webhook POST per message, retried with backoff, on the ``default`` queue.

The pipeline never waits on a webhook: :func:`shared.observability.alerts.raise_alert` claims the
alert's deduplication key and sends this task. A network error, a 429 or a 5xx retries with
exponential backoff and jitter (``retry_backoff``); a refusal (another 4xx) is logged and dropped.
Routed by its name (``vigia.alerts.*``) to ``default``, a queue the Procfile's worker consumes and
that no long task occupies.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from shared import task_names
from shared.observability.alerts import Alert, AlertDeliveryError, AlertRejected, deliver

log = logging.getLogger("vigia.tasks.alerts")

DELIVER = task_names.DELIVER_ALERT


@shared_task(name=DELIVER, bind=True, acks_late=True, ignore_result=True, max_retries=6,
             autoretry_for=(AlertDeliveryError,), retry_backoff=10, retry_backoff_max=600, retry_jitter=True)
def deliver_alert(self: Any, alert: dict[str, Any]) -> dict[str, Any]:
    """POST one alert to ALERT_WEBHOOK_URL."""
    from shared.config import get_settings

    try:
        status = deliver(get_settings(), Alert.from_dict(alert))
    except AlertRejected as error:
        log.error("alert refused: %s", error, extra={"alert": alert.get("kind")})
        return {"status": "refused"}
    log.info("alert delivered", extra={"alert": alert.get("kind"), "http_status": status})
    return {"status": "delivered", "http_status": status}


def send_through_worker(app: Any) -> Any:
    """A sender for :func:`shared.observability.alerts.use_sender`: publish this task, bounded."""

    def send(alert: Alert) -> None:
        # A broker that does not answer gives up within about a second; raise_alert logs it.
        app.send_task(DELIVER, kwargs={"alert": alert.as_dict()}, retry=True,
                      retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.3,
                                    "interval_max": 0.5})

    return send
