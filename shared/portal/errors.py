"""What can go wrong talking to the Portal da Transparência, as a small exception tree.

::

    PortalError
    ├── PermanentRequestError      400/401/403/404: retrying cannot help; fix the request or the key
    │   └── InvalidRequest         refused before sending (a required parameter missing or malformed)
    ├── RateLimited                429 that outlasted the retries (or asked for too long a wait)
    ├── PortalUnavailable          5xx or timeouts after the retries
    │   └── CircuitOpen            the breaker is open: the API kept failing, so it is not called
    └── InvalidResponse            a 200 whose body is empty or not the JSON expected, after retries
        └── MalformedRecord        one record that cannot be parsed (the rest of its page is kept)

Messages name the endpoint, the parameters (the key only masked), the status and the start of
the body, so a log line alone says what failed and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BODY_START_CHARS = 300


def mask_key(key: str | None) -> str:
    """A key as it may appear in messages: none of its characters, only a short hash, so an
    operator can tell two keys apart (messages reach investigations.error, which is public)."""
    if not key:
        return "none"
    import hashlib

    return "#" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]


def describe_request(endpoint: str, params: Mapping[str, Any] | None, key: str | None = None) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in (params or {}).items())
    return f"GET {endpoint} {{{shown}}} (key {mask_key(key)})"


def body_start(text: str | None, key: str | None = None) -> str:
    """The first characters of a body, with the key removed should the server have echoed it."""
    if not text:
        return ""
    start = text[:BODY_START_CHARS]
    if key and len(key) >= 4:
        start = start.replace(key, mask_key(key))
    return start


class PortalError(Exception):
    """Base of every Portal failure; carries what was asked and what came back."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        params: Mapping[str, Any] | None = None,
        status: int | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.params = dict(params or {})
        self.status = status
        self.body = body


class PermanentRequestError(PortalError):
    """The API refused the request itself (400, 401, 403, 404): retrying would get the same answer."""


class InvalidRequest(PermanentRequestError):
    """The client refused to send a request that the API would reject (a required parameter)."""


class RateLimited(PortalError):
    """The per-key budget is spent; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float, **context: Any) -> None:
        super().__init__(message, **context)
        self.retry_after = retry_after


class PortalUnavailable(PortalError):
    """The API kept answering 5xx or timing out."""


class CircuitOpen(PortalUnavailable):
    """Calls are suspended because the API failed too often in a row; ``retry_in`` seconds left."""

    def __init__(self, message: str, *, retry_in: float, **context: Any) -> None:
        super().__init__(message, **context)
        self.retry_in = retry_in


class InvalidResponse(PortalError):
    """A 200 whose body is empty, not JSON, or not the shape the endpoint returns."""


class MalformedRecord(InvalidResponse):
    """One record that cannot be parsed: ``reason`` says why, ``raw`` is the record as received."""

    def __init__(self, reason: str, raw: object) -> None:
        super().__init__(f"malformed record: {reason}")
        self.reason = reason
        self.raw = raw
