"""Alerts: a short pt-BR message to ``ALERT_WEBHOOK_URL`` when something needs a person.

:func:`raise_alert` is what the pipeline calls. It never raises and never waits on the network:
it claims the alert's deduplication key in Redis (``SET NX`` with a TTL of
``ALERT_WINDOW_MINUTES``, so one condition gives one alert per window whichever process sees it
first) and hands the alert to the *sender* — in the worker, a ``vigia.alerts.deliver`` Celery task
that retries with backoff (``services.worker.tasks.alerts``); anywhere else, a daemon thread that
makes a few bounded attempts. :func:`deliver` does one POST and says whether trying again may help.

Payloads, per ``ALERT_WEBHOOK_FORMAT``:

* ``slack`` — ``{"text": ...}``, the body of a Slack incoming webhook
  (https://api.slack.com/messaging/webhooks; Slack answers 200 ``ok``, and 400 ``invalid_payload``
  or ``no_text`` to a body without text).
* ``discord`` — ``{"content": ..., "allowed_mentions": {"parse": []}}``, Discord's Execute Webhook
  (https://discord.com/developers/docs/resources/webhook#execute-webhook; ``content`` is at most
  2000 characters; it answers 204 without ``?wait=true``). No mention is parsed, so a contract's
  text can never ping ``@everyone``.
* ``json`` — ``{"source": "vigia", "kind", "title", "text", "link", "subject", "environment",
  "raised_at"}`` for anything else (n8n, Zapier, a custom receiver).

Every text passes through the log redactor before it leaves, like a log line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from shared import redis_keys

if TYPE_CHECKING:
    import httpx

    from shared.config import Settings

log = logging.getLogger("vigia.alerts")

AlertKind = Literal[
    "critical_finding",
    "cycle_failed",
    "cycle_lost_orgao",
    "cycle_zero_contracts",
    "health_degraded",
    "health_recovered",
    "portal_key_refused",
]
AlertFormat = Literal["slack", "discord", "json"]
DEDUP_PREFIX = redis_keys.ALERT_DEDUP
DISCORD_CONTENT_MAX = 2000
DELIVER_TIMEOUT_SECONDS = 10.0
# The background sender (no worker): a few quick attempts, then the alert is logged as lost.
BACKGROUND_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: ``kind`` and ``subject`` form its deduplication key; the rest is what people read."""

    kind: AlertKind
    title: str
    detail: str
    subject: str = ""
    link: str | None = None
    raised_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def dedup_key(self) -> str:
        return f"{DEDUP_PREFIX}{self.kind}:{self.subject}"

    def text(self) -> str:
        lines = [f"Vigia: {self.title}", self.detail]
        if self.link:
            lines.append(self.link)
        return "\n".join(line for line in lines if line)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


def payload(alert: Alert, fmt: AlertFormat, *, environment: str) -> dict[str, Any]:
    """The JSON body for the webhook platform."""
    if fmt == "slack":
        return {"text": alert.text()}
    if fmt == "discord":
        text = alert.text()
        if len(text) > DISCORD_CONTENT_MAX:
            text = text[: DISCORD_CONTENT_MAX - 1] + "…"
        return {"content": text, "allowed_mentions": {"parse": []}}
    return {"source": "vigia", "kind": alert.kind, "title": alert.title, "text": alert.text(),
            "link": alert.link, "subject": alert.subject, "environment": environment, "raised_at": alert.raised_at}


class AlertDeliveryError(RuntimeError):
    """The webhook did not take the alert, and a later attempt may (network, 429, 5xx)."""


class AlertRejected(RuntimeError):
    """The webhook refused the alert for good (another 4xx: a wrong URL, a revoked webhook)."""


def deliver(settings: Settings, alert: Alert, *, transport: httpx.BaseTransport | None = None) -> int:
    """POST one alert; returns the HTTP status. Raises :class:`AlertDeliveryError` or :class:`AlertRejected`."""
    import httpx

    from shared.logging import RedactingFilter

    if settings.alert_webhook_url is None:
        raise AlertRejected("ALERT_WEBHOOK_URL is not set")
    url = settings.alert_webhook_url.get_secret_value()
    redactor = RedactingFilter(settings.secret_values())
    safe = Alert.from_dict({k: (redactor.redact(v) if isinstance(v, str) else v) for k, v in alert.as_dict().items()})
    body = payload(safe, settings.alert_webhook_format, environment=settings.environment)
    # The URL carries the webhook's token: messages name the host only.
    host = httpx.URL(url).host
    try:
        with httpx.Client(timeout=DELIVER_TIMEOUT_SECONDS, transport=transport) as client:
            response = client.post(url, json=body)
    except httpx.HTTPError as error:
        raise AlertDeliveryError(f"alert webhook at {host} not reached: {type(error).__name__}") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise AlertDeliveryError(f"alert webhook at {host} answered {response.status_code}: {response.text[:200]!r}")
    if response.status_code >= 400:
        raise AlertRejected(f"alert webhook at {host} refused the alert ({response.status_code}): "
                            f"{response.text[:200]!r}; check ALERT_WEBHOOK_URL and ALERT_WEBHOOK_FORMAT")
    return response.status_code


Sender = Callable[[Alert], None]
_sender: Sender | None = None
# Dedup for a process without Redis (the API alone, ENABLE_CELERY_WORKERS=false): key -> expiry.
_local_claims: dict[str, float] = {}
_local_lock = threading.Lock()


def use_sender(sender: Sender | None) -> None:
    """Route alerts of this process through ``sender`` (the worker installs its Celery task)."""
    global _sender
    _sender = sender


def _claim(redis: Any, key: str, seconds: int) -> bool:
    if redis is not None:
        return bool(redis.set(key, "1", nx=True, ex=seconds))
    now = time.monotonic()
    with _local_lock:
        if _local_claims.get(key, 0.0) > now:
            return False
        _local_claims[key] = now + seconds
        return True


def raise_alert(settings: Settings, redis: Any, alert: Alert) -> bool:
    """Queue ``alert`` unless its condition already alerted within the window. Never raises.

    True when it was handed to the sender. A Redis that does not answer loses the alert (logged)
    rather than risking a flood of duplicates or delaying the caller.
    """
    if settings.alert_webhook_url is None:
        return False
    try:
        if not _claim(redis, alert.dedup_key, settings.alert_window_minutes * 60):
            log.info("alert already sent in this window", extra={"alert": alert.kind, "subject": alert.subject})
            return False
        (_sender or send_in_background)(alert)
    except Exception as error:  # an alert must never fail the work that raised it
        log.warning("alert not queued: %s: %s", type(error).__name__, str(error)[:300],
                    extra={"alert": alert.kind, "subject": alert.subject})
        return False
    log.info("alert queued", extra={"alert": alert.kind, "subject": alert.subject})
    return True


def send_in_background(alert: Alert) -> None:
    """Deliver from a daemon thread with a few backed-off attempts (a process with no worker)."""
    from shared.config import get_settings

    settings = get_settings()

    def attempt() -> None:
        for number in range(1, BACKGROUND_ATTEMPTS + 1):
            try:
                deliver(settings, alert)
                log.info("alert delivered", extra={"alert": alert.kind, "attempt": number})
                return
            except AlertRejected as error:
                log.error("alert refused: %s", error, extra={"alert": alert.kind})
                return
            except AlertDeliveryError as error:
                log.warning("alert not delivered: %s", error, extra={"alert": alert.kind, "attempt": number})
                if number < BACKGROUND_ATTEMPTS:
                    time.sleep(2.0**number)
        log.error("alert lost after %d attempts", BACKGROUND_ATTEMPTS, extra={"alert": alert.kind})

    threading.Thread(target=attempt, name="vigia-alert", daemon=True).start()
