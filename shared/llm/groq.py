"""One call to Groq's chat completions endpoint, with every failure turned into one exception.

The official ``groq`` SDK is used with ``base_url`` from ``GROQ_API_URL`` (tests point it at a
local stand-in speaking the same wire format), ``timeout`` from ``GROQ_TIMEOUT_SECONDS`` and no
SDK retries: a summary is never worth blocking a worker, so a 429 or a 5xx falls back to the
template at once and the writer waits out the rate limit (see :mod:`shared.llm.writer`).

Errors::

    GroqUnavailable(reason, retry_after)   any failure: timeout, connection, 4xx/5xx, bad body
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# Groq reports resets as Go durations ("2m59.56s", "7.66s", "120ms").
_DURATION = re.compile(r"(?P<value>\d+(?:\.\d+)?)(?P<unit>ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


class GroqUnavailable(RuntimeError):
    """Groq gave no usable answer; ``retry_after`` is set when it asked us to wait (429)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def parse_duration(text: str | None) -> float | None:
    """Seconds in a Go-style duration or a plain number of seconds; None when unreadable."""
    if not text:
        return None
    text = text.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    total, matched = 0.0, False
    for match in _DURATION.finditer(text):
        total += float(match["value"]) * _UNIT_SECONDS[match["unit"]]
        matched = True
    return total if matched else None


def retry_after_from(headers: Any) -> float | None:
    """How long a 429 asks us to wait: ``retry-after``, else the later ``x-ratelimit-reset-*``."""
    if headers is None:
        return None
    explicit = parse_duration(headers.get("retry-after"))
    if explicit is not None:
        return explicit
    resets = [parse_duration(headers.get(name)) for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")]
    known = [r for r in resets if r is not None]
    return max(known) if known else None


class GroqChat:
    """A Groq client for short completions; build once per process, ``close()`` at its end."""

    def __init__(self, *, api_key: str, model: str, base_url: str, timeout: float, max_tokens: int = 400) -> None:
        import groq  # imported here: a worker without a key never loads the SDK

        self.model = model
        self.max_tokens = max_tokens
        self._groq = groq
        self._client = groq.Groq(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)

    def complete(self, messages: Sequence[dict[str, str]]) -> str:
        """The model's answer text; raises :class:`GroqUnavailable` for anything else."""
        groq = self._groq
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                # groq types this as a union of per-role TypedDicts (role a Literal); prompt.py's plain
                # {"role", "content"} dicts are exactly that on the wire but cannot be proven so.
                messages=list(messages),  # type: ignore[arg-type]
                temperature=0,
                max_tokens=self.max_tokens,
            )
        except groq.RateLimitError as error:
            wait = retry_after_from(error.response.headers)
            raise GroqUnavailable(f"rate limited (429), retry after {wait}s", retry_after=wait) from error
        except groq.APITimeoutError as error:
            raise GroqUnavailable("timed out") from error
        except groq.APIConnectionError as error:
            raise GroqUnavailable(f"connection failed: {error}") from error
        except groq.APIStatusError as error:
            body = (error.response.text or "")[:200]
            raise GroqUnavailable(f"HTTP {error.status_code}: {body}") from error
        except (groq.GroqError, ValueError) as error:  # malformed JSON, unexpected shapes
            raise GroqUnavailable(f"unreadable response: {error}") from error
        try:
            content = response.choices[0].message.content
        except (AttributeError, IndexError, TypeError) as error:
            raise GroqUnavailable(f"response without choices: {error}") from error
        if not isinstance(content, str) or not content.strip():
            raise GroqUnavailable("empty answer")
        return content

    def ping(self) -> str:
        """One cheap authenticated call (list models); returns the configured model's status."""
        groq = self._groq
        try:
            models = self._client.models.list()
        except groq.GroqError as error:
            raise GroqUnavailable(f"models list failed: {error}") from error
        ids = {m.id for m in models.data}
        if self.model not in ids:
            raise GroqUnavailable(f"model {self.model!r} is not offered (have {sorted(ids)[:5]})")
        return self.model

    def close(self) -> None:
        self._client.close()
