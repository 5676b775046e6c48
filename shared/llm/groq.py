"""One call to Groq's chat completions endpoint, with every failure turned into one exception.

The official ``groq`` SDK is used with ``base_url`` from ``GROQ_API_URL`` (tests point it at a
local stand-in speaking the same wire format), ``timeout`` from ``GROQ_TIMEOUT_SECONDS`` and no
SDK retries: a summary is never worth blocking a worker, so a 429 or a 5xx falls back to the
template at once and the writer waits out the rate limit (see :mod:`shared.llm.writer`).

Reasoning models (``openai/gpt-oss-*``, console.groq.com/docs/reasoning) are asked for
``reasoning_effort="low"`` (a summary needs little thought) and ``include_reasoning=false``, and
only ``message.content`` is ever read, with any ``<think>…</think>`` block removed: the writer's
"no invented number" guard must see the summary alone, never the model's scratch work. Their
reasoning tokens count against the completion budget, so they get a larger one.

Errors::

    GroqUnavailable(reason, retry_after, permanent)   any failure: timeout, connection, 4xx/5xx, bad body;
                                                      permanent when Groq no longer serves GROQ_MODEL
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from shared.config import GROQ_DEFAULT_MODEL

# Groq reports resets as Go durations ("2m59.56s", "7.66s", "120ms").
_DURATION = re.compile(r"(?P<value>\d+(?:\.\d+)?)(?P<unit>ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)

DEFAULT_MODEL = GROQ_DEFAULT_MODEL
REASONING_MODEL_PREFIXES = ("openai/gpt-oss-",)
# Error codes Groq sends when the model itself is gone: retrying cannot help.
MODEL_GONE_CODES = ("model_decommissioned", "model_not_found")
REASONING_EXTRA_TOKENS = 1024


class GroqUnavailable(RuntimeError):
    """Groq gave no usable answer; ``retry_after`` is set when it asked us to wait (429)."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent


def is_reasoning_model(model: str) -> bool:
    return model.startswith(REASONING_MODEL_PREFIXES)


def answer_text(content: str) -> str:
    """The answer without any inline reasoning block a model may prepend."""
    return _THINK.sub("", content).strip()


def _error_code(error: Any) -> str | None:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("code"), str):
            return str(inner["code"])
    return None


def model_gone_reason(model: str, code: str) -> str:
    """One sentence saying the model is gone and what to set instead."""
    what = "was retired by Groq" if code == "model_decommissioned" else "is not served by Groq to this key"
    return (f"GROQ_MODEL={model} {what} ({code}); set GROQ_MODEL={DEFAULT_MODEL}, "
            "see console.groq.com/docs/deprecations")


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
        reasoning: dict[str, Any] = {}
        max_tokens = self.max_tokens
        if is_reasoning_model(self.model):
            reasoning = {"reasoning_effort": "low", "include_reasoning": False}
            max_tokens += REASONING_EXTRA_TOKENS
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                # groq types this as a union of per-role TypedDicts (role a Literal); prompt.py's plain
                # {"role", "content"} dicts are exactly that on the wire but cannot be proven so.
                messages=list(messages),  # type: ignore[arg-type]
                temperature=0,
                max_tokens=max_tokens,
                **reasoning,
            )
        except groq.RateLimitError as error:
            wait = retry_after_from(error.response.headers)
            raise GroqUnavailable(f"rate limited (429), retry after {wait}s", retry_after=wait) from error
        except groq.APITimeoutError as error:
            raise GroqUnavailable("timed out") from error
        except groq.APIConnectionError as error:
            raise GroqUnavailable(f"connection failed: {error}") from error
        except groq.APIStatusError as error:
            code = _error_code(error)
            if code in MODEL_GONE_CODES:
                assert code is not None
                raise GroqUnavailable(model_gone_reason(self.model, code), permanent=True) from error
            body = (error.response.text or "")[:200]
            raise GroqUnavailable(f"HTTP {error.status_code}: {body}") from error
        except (groq.GroqError, ValueError) as error:  # malformed JSON, unexpected shapes
            raise GroqUnavailable(f"unreadable response: {error}") from error
        try:
            content = response.choices[0].message.content
        except (AttributeError, IndexError, TypeError) as error:
            raise GroqUnavailable(f"response without choices: {error}") from error
        if not isinstance(content, str) or not answer_text(content):
            raise GroqUnavailable("empty answer")
        return answer_text(content)

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
