"""The dead-man's switch: pings to ``HEARTBEAT_URL`` in the healthchecks.io style.

An in-process check cannot see the worker or the beat not running at all, nor the host gone; an
external monitor that expects a ping every so often can. Healthchecks.io's Pinging API
(https://healthchecks.io/docs/http_api/, https://healthchecks.io/docs/measuring_script_run_time/,
https://healthchecks.io/docs/signaling_failures/):

* ``<url>/start`` — the job began (the check shows "started" and times the run);
* ``<url>`` — success;
* ``<url>/fail`` — failure; the request body (kept by Healthchecks.io, up to 100 kB) says why;
* ``?rid=<uuid>`` pairs a start with its end when runs overlap (a 6-hourly cycle and the hourly
  health check may run at once).

The check may be on healthchecks.io or on a self-hosted Healthchecks (the same API). Every ping is a POST with a short body, a short timeout and one retry; it never raises, so a
monitor that is down cannot slow a cycle by more than a few seconds or fail it.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    import httpx

    from shared.config import Settings

log = logging.getLogger("vigia.heartbeat")

Signal = Literal["start", "success", "fail"]
PING_TIMEOUT_SECONDS = 5.0
PING_ATTEMPTS = 2
BODY_MAX_CHARS = 10_000
_RUN_NAMESPACE = uuid.UUID("9b7c6a52-64a8-4f43-9d0e-7f3d2a1c5e10")


def run_id(kind: str, key: object) -> str:
    """A stable UUID for one run, so the process that ends it sends the rid the starter sent."""
    return str(uuid.uuid5(_RUN_NAMESPACE, f"{kind}:{key}"))


def ping_url(base: str, signal: Signal, rid: str | None = None) -> str:
    """The signal's URL: its suffix on the check's path, ``rid`` added to any query it has."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/") + {"start": "/start", "success": "", "fail": "/fail"}[signal]
    query = "&".join(q for q in (parts.query, urlencode({"rid": rid}) if rid else "") if q)
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def ping(settings: Settings, signal: Signal, *, rid: str | None = None, body: str = "",
         transport: httpx.BaseTransport | None = None) -> bool:
    """Send one ping; True when the monitor answered 2xx. Never raises."""
    if settings.heartbeat_url is None:
        return False
    import httpx

    from shared.logging import RedactingFilter

    url = ping_url(settings.heartbeat_url.get_secret_value(), signal, rid)
    text = RedactingFilter(settings.secret_values()).redact(body)[:BODY_MAX_CHARS]
    for attempt in range(1, PING_ATTEMPTS + 1):
        try:
            with httpx.Client(timeout=PING_TIMEOUT_SECONDS, transport=transport) as client:
                response = client.post(url, content=text.encode("utf-8"),
                                       headers={"Content-Type": "text/plain; charset=utf-8"})
        except httpx.HTTPError as error:
            outcome = type(error).__name__
        else:
            if response.is_success:
                log.debug("heartbeat sent", extra={"signal": signal})
                return True
            outcome = f"HTTP {response.status_code}"
        # The URL is the check's credential: logs name the signal, never the URL.
        log.warning("heartbeat not sent", extra={"signal": signal, "attempt": attempt, "outcome": outcome})
    return False
