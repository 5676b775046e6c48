"""What every process does first: validate its settings, configure logging, then error reports.

A process that lacks what it needs exits non-zero with one JSON line naming every missing or
invalid variable (see :func:`shared.config.require`), before any connection is attempted. With
``SENTRY_DSN`` set, errors are also reported to Sentry (:mod:`shared.observability.sentry`);
without it, nothing of ``sentry_sdk`` is imported.
"""

from __future__ import annotations

from shared.config import Process, Settings, require
from shared.logging import configure_logging


def bootstrap(process: Process) -> Settings:
    settings = require(process)
    configure_logging(process)
    if settings.sentry_dsn is not None:
        from shared.observability.sentry import init_sentry

        init_sentry(settings, process)
    return settings
