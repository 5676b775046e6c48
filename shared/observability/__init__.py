"""Knowing when a deployment breaks: error reports, alerts and a dead-man's switch.

* :mod:`.sentry` — with ``SENTRY_DSN`` set, each process reports errors to Sentry through the same
  redaction as the logs. Without it, ``sentry_sdk`` is never imported.
* :mod:`.alerts` — short pt-BR messages to ``ALERT_WEBHOOK_URL`` (Slack, Discord or plain JSON),
  one per condition per ``ALERT_WINDOW_MINUTES``, delivered off the path of the work that raised them.
* :mod:`.heartbeat` — healthchecks.io-style pings (start, success, fail) to ``HEARTBEAT_URL`` around
  each scheduled monitoring cycle and each hourly health check, so an external monitor notices when
  nothing runs at all.
* :mod:`.hooks` — the few calls the pipeline makes at the points where those things happen.
* :mod:`.probes` — what ``vigia doctor`` checks about the three, without sending an alert or a ping.

Nothing here is imported by a process that has none of the three configured beyond these small
modules (no client is built at import).
"""
