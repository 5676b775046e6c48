"""One GET against the Portal, done right: budget, breaker, retries, and a clear error at the end.

Every attempt first passes the circuit breaker and takes a slot from the shared rate limiter.
Then the answer decides:

- 200 with a JSON body: returned.
- 400/401/403/404: :class:`PermanentRequestError` at once, never retried.
- 429: the limiter is told (every process pauses and slows down), this caller waits
  ``Retry-After`` (or ``default_retry_after``, at least 60 s, when the header is missing) and
  tries again; :class:`RateLimited` when retries run out or the wait is longer than a caller
  should block.
- 5xx, timeouts, connection errors: :class:`PortalUnavailable`; an empty or non-JSON 200:
  :class:`InvalidResponse`. Both are retried with jittered exponential backoff, and each counts
  as a breaker failure.

``sleep`` and the delays are injectable (:class:`RetryPolicy`) so tests run the real loop with
small real delays and can record what was asked for.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from shared.portal.breaker import CircuitBreaker
from shared.portal.errors import (
    InvalidResponse,
    PermanentRequestError,
    PortalError,
    PortalUnavailable,
    RateLimited,
    body_start,
    describe_request,
)
from shared.portal.ratelimit import Limiter
from shared.portal.wire import SIMULATOR_HEADER

if TYPE_CHECKING:
    from shared.config import Settings

log = logging.getLogger("vigia.portal")

PERMANENT_STATUSES = {400, 401, 403, 404, 405, 410, 422}
_HINTS = {
    400: "the request's filters are wrong; the body says which",
    401: "the key is missing or invalid: check TRANSPARENCY_API_KEY",
    403: "the key was refused or the path does not exist: check TRANSPARENCY_API_KEY and the URL",
    404: "nothing at this address: check TRANSPARENCY_API_URL",
}


@dataclass
class RetryPolicy:
    """How failed attempts are retried. Delays are seconds; ``sleep`` and ``rng`` are injectable.

    ``max_retries`` is a setting (``PORTAL_MAX_RETRIES``, :meth:`from_settings`); the delays are not.
    """

    max_retries: int
    base_delay: float = 1.0
    max_delay: float = 60.0
    default_retry_after: float = 60.0  # a 429 without Retry-After waits at least this long
    max_retry_after: float = 300.0  # a longer Retry-After is raised, so a task can reschedule
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_settings(cls, settings: Settings, *, max_retries: int | None = None) -> RetryPolicy:
        """The configured policy; ``max_retries`` replaces the setting (a quick probe tries once)."""
        return cls(max_retries=settings.portal_max_retries if max_retries is None else max_retries)

    def backoff(self, attempt: int) -> float:
        """Jittered exponential delay before retry ``attempt`` (0-based): in [d/2, d], d = base·2^n."""
        ceiling = min(self.max_delay, self.base_delay * (2.0**attempt))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds)


class PortalTransport:
    """The retrying GET shared by every endpoint of :class:`~shared.portal.client.PortalClient`."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        api_key: str | None,
        limiter: Limiter | None,
        breaker: CircuitBreaker,
        retry: RetryPolicy,
        allow_simulator: bool = True,
    ) -> None:
        self.http = http
        self.api_key = api_key
        self.limiter = limiter
        self.breaker = breaker
        self.retry = retry
        self.allow_simulator = allow_simulator

    def get_json(
        self, endpoint: str, params: Mapping[str, Any], *, none_on_404: bool = False, expect: type | None = None
    ) -> Any:
        """The decoded JSON of ``GET endpoint?params``, after whatever retries it takes.

        ``expect`` (e.g. ``list``) makes a 200 of another JSON shape an InvalidResponse (retried).
        """
        what = describe_request(endpoint, params, self.api_key)
        attempt = 0
        while True:
            self.breaker.before_call()
            try:
                if self.limiter is not None:
                    self.limiter.acquire()
                outcome = self._attempt(endpoint, params, what, none_on_404=none_on_404, expect=expect)
            except RateLimited:
                # Raised before or instead of a retry (the budget is booked too far ahead): no verdict
                # on the API's health, so a half-open probe is simply handed back.
                self.breaker.cancel_probe()
                raise
            except _Retryable as failure:
                error = failure.error
                if isinstance(error, RateLimited):
                    self.breaker.record_success()  # the API answered; it is only busy
                    delay = error.retry_after
                else:
                    self.breaker.record_failure(str(error))
                    delay = self.retry.backoff(attempt)
                if attempt >= self.retry.max_retries:
                    raise _exhausted(error, attempt + 1) from None
                log.warning(
                    "Portal request failed; retrying",
                    extra={"endpoint": endpoint, "params": dict(params), "status": error.status,
                           "attempt": attempt + 1, "delay_seconds": round(delay, 3), "error": str(error)},
                )
                self.retry.sleep(delay)
                attempt += 1
                continue
            except PermanentRequestError:
                self.breaker.record_success()  # a refusal is an answer: the API itself is up
                raise
            except BaseException:
                self.breaker.cancel_probe()  # interrupted (time limit, shutdown): no verdict
                raise
            self.breaker.record_success()
            return outcome

    def _attempt(
        self, endpoint: str, params: Mapping[str, Any], what: str, *, none_on_404: bool, expect: type | None
    ) -> Any:
        context: dict[str, Any] = {"endpoint": endpoint, "params": params}
        try:
            response = self.http.get(endpoint, params=dict(params))
        except httpx.TimeoutException as error:
            raise _Retryable(PortalUnavailable(f"{what} timed out ({type(error).__name__})", **context)) from None
        except httpx.TransportError as error:
            raise _Retryable(
                PortalUnavailable(f"{what} failed to connect: {type(error).__name__}: {error}", **context)
            ) from None
        if not self.allow_simulator and response.headers.get(SIMULATOR_HEADER):
            raise PermanentRequestError(
                f"{what} was answered by the Vigia simulator, which this client refuses (a production "
                "process, or one configured with a real key, must never store simulated rows as real): "
                "set TRANSPARENCY_API_URL to the real Portal",
                **context,
            )
        status = response.status_code
        text = response.text
        context.update(status=status, body=body_start(text, self.api_key))
        if status == 200:
            if not text.strip():
                raise _Retryable(InvalidResponse(f"{what} answered 200 with an empty body", **context))
            try:
                body = json.loads(text)
            except ValueError:
                raise _Retryable(
                    InvalidResponse(f"{what} answered 200 with a body that is not JSON: {context['body'][:120]!r}",
                                    **context)
                ) from None
            if expect is not None and not isinstance(body, expect):
                raise _Retryable(InvalidResponse(
                    f"{what} answered 200 with a JSON {type(body).__name__}, expected a {expect.__name__}", **context
                ))
            return body
        if status == 404 and none_on_404:
            return None
        if status == 429:
            header = parse_retry_after(response.headers.get("Retry-After"))
            wait = header if header is not None else self.retry.default_retry_after
            if self.limiter is not None:
                self.limiter.penalize(wait)
            limited = RateLimited(
                f"{what} answered 429 (over the per-key budget); Retry-After "
                f"{response.headers.get('Retry-After') or 'missing'} -> waiting {wait:.0f} s",
                retry_after=wait, **context,
            )
            if wait > self.retry.max_retry_after:
                raise limited
            raise _Retryable(limited)
        if status in PERMANENT_STATUSES or 400 <= status < 500:
            hint = _HINTS.get(status, "the API refused the request")
            raise PermanentRequestError(
                f"{what} answered {status}: {context['body']!r} — permanent, not retried ({hint})", **context
            )
        if status >= 500:
            raise _Retryable(PortalUnavailable(f"{what} answered {status}: {context['body']!r}", **context))
        raise _Retryable(InvalidResponse(f"{what} answered an unexpected {status}", **context))


class _Retryable(Exception):
    """Carries an error that another attempt may cure."""

    def __init__(self, error: PortalError) -> None:
        super().__init__(str(error))
        self.error = error


def _exhausted(error: PortalError, attempts: int) -> PortalError:
    """The final error after the last attempt, saying how many were made."""
    context: dict[str, Any] = {"endpoint": error.endpoint, "params": error.params, "status": error.status,
                               "body": error.body}
    message = f"{error} — gave up after {attempts} attempts"
    if isinstance(error, RateLimited):
        return RateLimited(message, retry_after=error.retry_after, **context)
    return type(error)(message, **context)
