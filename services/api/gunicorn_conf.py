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
# Recycle a worker now and then as insurance against slow leaks, one at a time. Under a steady
# load every worker counts requests at the same pace, so each restarts when its own limit (the
# base plus a random share of the jitter) comes up: with 20 000 + 0-2 000 both workers of a
# saturated 2-core deploy restarted within a second of each other every ~20 s, and for the 2-3 s
# a worker takes to boot there was none to answer (a line of benchmarks/api.py where it happened
# had p99 1.8 s). A jitter as wide as the base spreads the limits, rarely two together. A restart
# also empties the worker's page cache, and a worker serving cached pages answers ~4 800
# requests/s on that machine: 100 000 + 0-100 000 restarted one every 20-40 s there, each
# followed by a second of misses that set the p99 of benchmark lines. 1 000 000 + 0-1 000 000
# is a restart every 3-7 minutes at that pace, every few days at a usual one; the leaks it
# insures against would take longer than that to matter (the caches are bounded).
max_requests = 1_000_000
max_requests_jitter = 1_000_000
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
