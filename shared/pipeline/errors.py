"""Which failures are worth retrying, and after how long.

Retry only what may succeed next time: the Portal busy or down (:class:`RateLimited`, waited out
exactly; :class:`PortalUnavailable`, including an open circuit) and the database unreachable
(:class:`StoreUnavailable`). A 400/403, a malformed answer or a bug fails at once, with its reason.
"""

from __future__ import annotations

import random

from shared.logging import public_text
from shared.portal.errors import CircuitOpen, PortalUnavailable, RateLimited
from shared.store.base import StoreUnavailable

RETRYABLE: tuple[type[BaseException], ...] = (PortalUnavailable, RateLimited, StoreUnavailable)
# Longest wait between two attempts; must stay below the broker's visibility timeout.
MAX_COUNTDOWN = 600.0


def is_retryable(error: BaseException) -> bool:
    return isinstance(error, RETRYABLE)


def retry_countdown(error: BaseException, attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: what the Portal asked for, else jittered backoff."""
    if isinstance(error, RateLimited):
        return min(MAX_COUNTDOWN, max(1.0, float(error.retry_after)))
    if isinstance(error, CircuitOpen):
        return min(MAX_COUNTDOWN, max(1.0, float(error.retry_in)) + random.uniform(0, 5))
    base = min(MAX_COUNTDOWN, 15.0 * (2.0**attempt))
    return base * random.uniform(0.8, 1.2)


def describe(error: BaseException) -> str:
    """A one-line reason for a run or an investigation: the class and the message, with secrets,
    URLs, host names and addresses masked (investigations.error is a public column)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return public_text(f"{type(error).__name__}: {text}", _secrets())[:500] if text else type(error).__name__


def _secrets() -> list[str]:
    try:
        from shared.config import get_settings

        return get_settings().secret_values()
    except Exception:  # settings errors are reported at start-up, not here
        return []
