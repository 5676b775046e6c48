"""What every process does first: validate its settings, then configure logging.

A process that lacks what it needs exits non-zero with one JSON line naming every missing or
invalid variable (see :func:`shared.config.require`), before any connection is attempted.
"""

from __future__ import annotations

import logging

from shared.config import Process, Settings, require
from shared.logging import configure_logging


def bootstrap(process: Process) -> Settings:
    settings = require(process)
    configure_logging(process)
    if settings.sentry_dsn is not None:
        _init_sentry(settings, process)
    return settings


def _init_sentry(settings: Settings, process: str) -> None:
    try:
        import sentry_sdk
    except ImportError:  # optional: install sentry-sdk to report errors there
        logging.getLogger("vigia.bootstrap").warning(
            "SENTRY_DSN is set but sentry-sdk is not installed; errors are only logged",
            extra={"fix": "pip install sentry-sdk"},
        )
        return
    assert settings.sentry_dsn is not None
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.environment,
        server_name=process,
        send_default_pii=False,
    )
