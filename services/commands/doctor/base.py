"""What every ``vigia doctor`` check shares: the questions, their answers, and the clients they use.

A check answers one :data:`QUESTIONS` entry with :func:`passed`, :func:`failed` or :func:`skipped`,
which give its :class:`~shared.checks.Check` the question's title and, on failure, the question's
weight: ``unhealthy`` where nothing runs without the thing checked, ``degraded`` where the
deployment runs with less. The clients (:class:`_Context`) open on first use with the doctor's
short timeout and close when the list is done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from shared.checks import Check, CheckStatus
from shared.config import Process, Settings


@dataclass(frozen=True)
class Question:
    title: str  # what a person asks, printed before the answer
    failure: CheckStatus  # unhealthy: nothing runs without it; degraded: the deployment runs with less
    needs: str = ""  # the check whose failure answers this one too (it is then not asked)


QUESTIONS: dict[str, Question] = {
    "redis": Question("Redis reachable", "unhealthy"),
    "database": Question("database reachable", "unhealthy"),
    "migrations": Question("database migrated", "unhealthy", needs="database"),
    "worker": Question("a worker alive", "unhealthy", needs="redis"),
    "beat": Question("one beat holds the lock", "unhealthy", needs="redis"),
    "environment": Question("environment complete", "unhealthy"),
    "portal": Question("Portal key accepted", "degraded"),
    "groq": Question("Groq key accepted", "degraded"),
    "first_run": Question("first monitoring run done", "degraded", needs="database"),
    "investigations": Question("investigations present", "degraded", needs="database"),
    "sentry": Question("Sentry error reports", "degraded"),
    "alerts": Question("alert webhook", "degraded"),
    "heartbeat": Question("heartbeat monitor", "degraded"),
    "public_reads": Question("Public roles cannot read around the read key", "degraded", needs="database"),
}
# What a check that needs a failed one answers: the reason and the fix.
UNREACHABLE: dict[str, tuple[str, str]] = {
    "redis": ("Redis is not reachable (see above)", "fix Redis first"),
    "database": ("the database is not reachable (see above)", "fix the database first"),
}


def passed(name: str, detail: str) -> Check:
    return Check(name, "ok", detail, title=QUESTIONS[name].title)


def failed(name: str, detail: str, fix: str) -> Check:
    question = QUESTIONS[name]
    return Check(name, question.failure, detail, title=question.title, fix=fix)


def skipped(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, "skipped", detail, title=QUESTIONS[name].title, fix=fix)


def safe_url(url: str) -> str:
    """A URL without its user and password, for messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    return f"{parts.scheme}://{host}{port}{parts.path}"


@dataclass
class _Context:
    """Clients shared by the checks, opened on first use and closed at the end."""

    settings: Settings
    processes: Sequence[Process]
    timeout: float
    transport: Any = None
    _redis: Any = None
    _store: Any = None
    _http: Any = None
    failed: set[str] = field(default_factory=set)

    def redis(self) -> Any:
        if self._redis is None:
            from shared.redis_client import redis_client

            self._redis = redis_client(self.settings, timeout=self.timeout)
        return self._redis

    def store(self) -> Any:
        if self._store is None:
            from shared.store import get_store

            self._store = get_store(self.settings, application_name="vigia-doctor")
        return self._store

    def http(self) -> Any:
        if self._http is None:
            import httpx

            # Never follow a redirect: the request carries a key (the Portal's, Groq's), and httpx
            # keeps custom headers such as chave-api-dados on a redirect to another host.
            self._http = httpx.Client(timeout=self.timeout, transport=self.transport, follow_redirects=False)
        return self._http

    def close(self) -> None:
        for client in (self._redis, self._store, self._http):
            closer = getattr(client, "close", None)
            if callable(closer):
                try:
                    closer()
                except Exception:  # noqa: S110 - closing must never hide the report
                    pass
