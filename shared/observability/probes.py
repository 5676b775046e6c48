"""What ``vigia doctor`` asks about Sentry, the alert webhook and the heartbeat monitor.

Each probe says whether the thing is configured and, when it is, whether its endpoint answers —
without reporting an event, posting an alert or counting as a ping:

* Sentry: the DSN must parse (``scheme://key@host/project``); then a GET to the DSN's host root.
  Any HTTP answer means the ingest host is reachable (no envelope is sent).
* Discord: a GET on the webhook URL is Discord's "Get Webhook with Token"
  (https://discord.com/developers/docs/resources/webhook#get-webhook-with-token): 200 proves the
  token, and nothing is posted.
* Slack: a POST of ``{}`` — an incoming webhook answers 400 ``no_text`` (token valid, nothing
  posted) or 403/404 (``invalid_token``, ``no_service``: the webhook is gone);
  https://api.slack.com/messaging/webhooks#handling_errors.
* Generic JSON: a HEAD on the URL's host root; a receiver we do not know might act on any POST.
* Heartbeat: a GET on the URL's host root. Every method on the check's own URL (GET, HEAD, POST)
  *is* a ping in healthchecks.io's API (https://healthchecks.io/docs/http_api/), so the check URL
  itself is never requested.

Messages name hosts, never the URLs (they carry tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from shared.checks import Verdict

if TYPE_CHECKING:
    from shared.config import Settings

# A probe answers with vigia doctor's verdict; the doctor weighs a failure (shared.checks).
ProbeStatus = Verdict


@dataclass(frozen=True, slots=True)
class Probe:
    status: ProbeStatus
    reason: str
    fix: str = ""


def _root(url: str) -> str:
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/"


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


def sentry(settings: Settings, http: Any) -> Probe:
    if settings.sentry_dsn is None:
        return Probe("skip", "SENTRY_DSN not set: errors are only logged")
    dsn = settings.sentry_dsn.get_secret_value()
    parts = urlsplit(dsn)
    project = parts.path.rstrip("/").rsplit("/", 1)[-1]
    if parts.scheme not in ("http", "https") or not parts.username or not parts.hostname or not project.isdigit():
        return Probe("fail", "SENTRY_DSN is not a DSN (expected https://<key>@<host>/<project id>)",
                     "copy the DSN from Sentry: Project Settings > Client Keys (DSN)")
    try:
        response = http.get(_root(dsn))
    except Exception as error:
        return Probe("fail", f"Sentry ingest host {parts.hostname} not reachable: {type(error).__name__}",
                     "check the network and the DSN's host")
    return Probe("pass", f"Sentry ingest host {parts.hostname} answers (HTTP {response.status_code}), "
                         f"project {project}; no event sent")


def alert_webhook(settings: Settings, http: Any) -> Probe:
    if settings.alert_webhook_url is None:
        return Probe("skip", "ALERT_WEBHOOK_URL not set: no alerts are sent (failures are only logged)")
    url = settings.alert_webhook_url.get_secret_value()
    fmt = settings.alert_webhook_format
    host = _host(url)
    fix = "check ALERT_WEBHOOK_URL (create the webhook again if it was deleted) and ALERT_WEBHOOK_FORMAT"
    try:
        if fmt == "discord":
            response = http.get(url)
            if response.status_code == 200:
                return Probe("pass", f"Discord webhook at {host} accepted its token; no message sent")
            return Probe("fail", f"Discord webhook at {host} answered HTTP {response.status_code}", fix)
        if fmt == "slack":
            response = http.post(url, json={})
            if response.status_code == 400 and "no_text" in response.text:
                return Probe("pass", f"Slack webhook at {host} is live (an empty test was refused: no_text); "
                                     "no message sent")
            return Probe("fail", f"Slack webhook at {host} answered HTTP {response.status_code}: "
                                 f"{response.text[:100]!r}", fix)
        response = http.head(_root(url))
    except Exception as error:
        return Probe("fail", f"alert webhook host {host} not reachable: {type(error).__name__}", fix)
    return Probe("pass", f"alert webhook host {host} answers (HTTP {response.status_code}); no alert sent")


def heartbeat(settings: Settings, http: Any) -> Probe:
    if settings.heartbeat_url is None:
        return Probe("skip", "HEARTBEAT_URL not set: no external monitor notices when nothing runs")
    url = settings.heartbeat_url.get_secret_value()
    host = _host(url)
    try:
        response = http.get(_root(url))
    except Exception as error:
        return Probe("fail", f"heartbeat monitor host {host} not reachable: {type(error).__name__}",
                     "check HEARTBEAT_URL and the network")
    return Probe("pass", f"heartbeat monitor host {host} answers (HTTP {response.status_code}); no ping sent")
