"""Error reports to Sentry, redacted like the logs; imported only when ``SENTRY_DSN`` is set.

:func:`init_sentry` is called once per process by ``services.bootstrap`` (and so by each gunicorn
worker and, through fork, by each Celery pool process, whose SDK restarts its sender thread on its
own). Integrations, by process: the web's FastAPI/Starlette (unhandled request errors), the
worker's and beat's Celery (task failures; beat's sending), and everywhere the logging integration
(a record at ERROR becomes an event, lower ones breadcrumbs).

What leaves the process is decided here, not by the SDK's defaults:

* ``before_send`` / ``before_breadcrumb`` pass the whole event through the log redactor
  (:class:`shared.logging.RedactingFilter`): every secret value known to the settings and every
  secret-shaped string (Groq keys, JWTs, URL passwords, the Portal key header) becomes ``***``,
  wherever it sits — message, exception value, stack-frame locals, request data, breadcrumbs.
* No trace propagation: ``trace_propagation_targets=[]`` and Celery's ``propagate_traces=False``,
  since the ``baggage`` header carries the DSN's public key to every HTTP call (the Portal, Groq)
  and into every task message in Redis.
* ``send_default_pii=False``; request bodies are never attached.
* Auto-enabled integrations are off: only the ones listed are loaded, which keeps the memory cost
  small (README: Footprint) and the list of what is patched short.

Beat (cron) monitoring: not enabled. Sentry's ``monitor_beat_tasks`` patches Celery's own beat
scheduler entries to add check-in headers; Vigia's beat is RedBeat and the external dead-man's
switch (:mod:`shared.observability.heartbeat`, ``HEARTBEAT_URL``) already covers "nothing ran",
for any monitor, including a Sentry-less deployment.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from shared.logging import RedactingFilter

if TYPE_CHECKING:
    from shared.config import Settings

# Platforms that name the deployed commit (Render: default environment variables; Railway:
# Railway-provided variables). Sentry's own guess (SENTRY_RELEASE, git, Heroku, ...) comes after.
_COMMIT_VARIABLES = ("RENDER_GIT_COMMIT", "RAILWAY_GIT_COMMIT_SHA")


class EventRedactor(RedactingFilter):
    """The log redactor applied to a whole Sentry event (nested dicts, lists, strings)."""

    def event(self, event: Any) -> Any:
        return self._clean(event)


def release() -> str:
    """The release events are tagged with: ``SENTRY_RELEASE`` when set (the SDK's own variable),
    else the commit the platform deployed, else Sentry's guess (git, Heroku, ...), else the version."""
    for name in ("SENTRY_RELEASE", *_COMMIT_VARIABLES):
        if os.environ.get(name):
            return os.environ[name]
    from sentry_sdk.utils import get_default_release

    guessed = get_default_release()
    if guessed:
        return guessed
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"vigia@{version('vigia')}"
    except PackageNotFoundError:
        return "vigia@unknown"


def _integrations(process: str) -> list[Any]:
    from sentry_sdk.integrations.logging import LoggingIntegration

    integrations: list[Any] = [LoggingIntegration()]
    if process == "web":
        from sentry_sdk.integrations.fastapi import FastApiIntegration
        from sentry_sdk.integrations.starlette import StarletteIntegration

        integrations += [StarletteIntegration(), FastApiIntegration()]
    if process in ("worker", "beat"):
        from sentry_sdk.integrations.celery import CeleryIntegration

        integrations.append(CeleryIntegration(propagate_traces=False, monitor_beat_tasks=False))
    return integrations


def init_sentry(settings: Settings, process: str) -> None:
    """Start reporting this process's errors to ``SENTRY_DSN`` (which must be set)."""
    import sentry_sdk

    assert settings.sentry_dsn is not None
    redactor = EventRedactor(settings.secret_values())

    def before_send(event: Any, _hint: Any) -> Any:
        return redactor.event(event)

    def before_breadcrumb(crumb: Any, _hint: Any) -> Any:
        return redactor.event(crumb)

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.environment,
        release=release(),
        sample_rate=settings.sentry_sample_rate,
        traces_sample_rate=settings.sentry_traces_sample_rate,
        send_default_pii=False,
        max_request_body_size="never",
        trace_propagation_targets=[],
        auto_enabling_integrations=False,
        integrations=_integrations(process),
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
        before_send_transaction=before_send,
    )
    sentry_sdk.set_tag("process", process)
