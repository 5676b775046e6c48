"""The summary of an investigation: Groq's rewrite of the template when it can, the template otherwise.

:class:`SummaryWriter` always returns a :class:`Summary`; it never raises because Groq failed.
Without a key it writes the template. With a key it asks Groq, and stores the template instead
when Groq times out, errs, answers nothing usable or adds a number it was not given. After a 429
it does not call Groq again until the wait Groq asked for has passed, and after a few failures
in a row it pauses for a minute, so a Groq outage costs one timeout, not one per contract. When
Groq says the model itself is gone (retired or unknown), the writer logs that once, naming the
model and its replacement, and writes the template from then on without calling Groq again.
``Summary.source`` says who wrote the text: ``"template"`` or the Groq model name.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared.config import Settings
from shared.domain import Contract, Finding
from shared.llm.groq import GroqChat, GroqUnavailable
from shared.llm.prompt import MAX_SUMMARY_CHARS, build_messages, clean_answer, invented_numbers

log = logging.getLogger("vigia.llm")

TEMPLATE_SOURCE = "template"
# Consecutive failures that pause Groq, and for how long (seconds).
FAILURES_BEFORE_PAUSE = 3
PAUSE_SECONDS = 60.0
# A 429 without any wait header still pauses this long.
DEFAULT_RATE_LIMIT_WAIT = 60.0

Template = Callable[[Contract | None, Sequence[Finding]], str]


@dataclass(frozen=True, slots=True)
class Summary:
    text: str
    source: str  # "template" or the Groq model name
    fallback_reason: str | None = None  # why the template was used although Groq is configured


def _default_template() -> Template:
    from shared.detection import summarize_template

    return summarize_template


class SummaryWriter:
    """Writes pt-BR summaries; one per process, shared by its tasks (thread-safe)."""

    def __init__(
        self,
        *,
        chat: GroqChat | None = None,
        template: Template | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chat = chat
        self._template = template
        self._clock = clock
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._failures = 0
        self._model_gone: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, template: Template | None = None) -> SummaryWriter:
        chat = None
        if settings.groq_api_key is not None and settings.groq_api_key.get_secret_value().strip():
            chat = GroqChat(
                api_key=settings.groq_api_key.get_secret_value(),
                model=settings.groq_model,
                base_url=settings.groq_api_url,
                timeout=settings.groq_timeout_seconds,
            )
        return cls(chat=chat, template=template)

    @property
    def chat(self) -> GroqChat | None:
        return self._chat

    def template_text(self, contract: Contract | None, findings: Sequence[Finding]) -> str:
        template = self._template or _default_template()
        self._template = template
        return template(contract, findings)

    def write(self, contract: Contract | None, findings: Sequence[Finding]) -> Summary:
        template_text = self.template_text(contract, findings)
        if self._chat is None:
            return Summary(template_text, TEMPLATE_SOURCE)
        if not findings:
            # Nothing to rewrite: "no red flags" needs no model.
            return Summary(template_text, TEMPLATE_SOURCE)
        with self._lock:
            wait = self._paused_until - self._clock()
            gone = self._model_gone
        if gone is not None:
            return self._fallback(template_text, gone, quiet=True)
        if wait > 0:
            return self._fallback(template_text, f"groq paused for {wait:.0f}s more", quiet=True)
        messages = build_messages(template_text, findings)
        try:
            answer = clean_answer(self._chat.complete(messages))
        except GroqUnavailable as error:
            if error.permanent:
                return self._stop_using_model(template_text, error.reason)
            self._record_failure(error.retry_after, rate_limited=error.retry_after is not None
                                 or "429" in error.reason)
            return self._fallback(template_text, error.reason)
        invented = invented_numbers(answer, messages)
        if invented:
            # Not a Groq outage: the next contract may well get a faithful answer.
            return self._fallback(template_text, f"answer added numbers not in the findings: {invented[:5]}")
        if len(answer) > MAX_SUMMARY_CHARS:
            return self._fallback(template_text, f"answer too long ({len(answer)} chars)")
        with self._lock:
            self._failures = 0
        return Summary(answer, self._chat.model)

    def _record_failure(self, retry_after: float | None, *, rate_limited: bool) -> None:
        with self._lock:
            now = self._clock()
            if rate_limited:
                self._paused_until = max(self._paused_until, now + (retry_after or DEFAULT_RATE_LIMIT_WAIT))
                return
            self._failures += 1
            if self._failures >= FAILURES_BEFORE_PAUSE:
                self._paused_until = max(self._paused_until, now + PAUSE_SECONDS)
                self._failures = 0

    def _stop_using_model(self, template_text: str, reason: str) -> Summary:
        with self._lock:
            first = self._model_gone is None
            self._model_gone = reason
        if first:
            log.error("groq model unavailable; every summary uses the template until GROQ_MODEL changes",
                      extra={"reason": reason})
        return Summary(template_text, TEMPLATE_SOURCE, fallback_reason=reason)

    def _fallback(self, template_text: str, reason: str, *, quiet: bool = False) -> Summary:
        if not quiet:
            log.warning("groq summary not used; storing the template", extra={"reason": reason})
        return Summary(template_text, TEMPLATE_SOURCE, fallback_reason=reason)

    def close(self) -> None:
        if self._chat is not None:
            self._chat.close()
