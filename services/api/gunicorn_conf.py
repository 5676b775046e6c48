"""gunicorn settings for the web process; every value comes from Vigia's settings.

Validating settings here, in the master, means a misconfigured deploy stops with one readable
message before any worker boots, instead of a loop of failing workers.
"""

from __future__ import annotations

import os

from services.bootstrap import bootstrap

_settings = bootstrap("web")

bind = f"0.0.0.0:{os.environ.get('PORT', _settings.port)}"
workers = _settings.web_concurrency
worker_class = "uvicorn.workers.UvicornWorker"
# Render sends SIGKILL 30 s after SIGTERM by default and Railway after its draining seconds;
# finish in-flight requests well before that.
graceful_timeout = 20
timeout = 60
keepalive = 5
# Recycle a worker now and then as insurance against slow leaks; rarely enough that the
# restart (a second or two of one worker's capacity) does not show in latency.
max_requests = 20000
max_requests_jitter = 2000
# No proxy is trusted by address: services/api/proxy.py takes the client from X-Forwarded-For
# by counting API_TRUSTED_PROXY_HOPS from the right, where "*" here would take the leftmost entry,
# which the client writes.
forwarded_allow_ips = ""
# Access lines come from the app (services/api/middleware.py) through shared.logging, so a path
# with quotes or newlines is still one valid JSON object; gunicorn's and uvicorn's own access
# logs are off so each request is logged once.
accesslog = None
errorlog = "-"
loglevel = _settings.log_level.lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    # LOG_FORMAT=console (what `vigia dev` sets) prints for people; production keeps JSON.
    "formatters": {"json": {"()": "shared.logging.ConsoleFormatter" if _settings.log_format == "console"
                            else "shared.logging.JsonFormatter", "process": "web"}},
    "filters": {"redact": {"()": "shared.logging.RedactingFilter", "secrets": _settings.secret_values()}},
    "handlers": {
        "json": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["redact"],
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"handlers": ["json"], "level": _settings.log_level},
    "loggers": {
        "gunicorn.error": {"handlers": ["json"], "level": _settings.log_level, "propagate": False},
        # UvicornWorker copies gunicorn.access's handlers and level onto uvicorn.access: none, WARNING.
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "uvicorn.error": {"handlers": ["json"], "level": _settings.log_level, "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}
