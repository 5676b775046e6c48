"""A local stand-in for Groq's OpenAI-compatible API, speaking its real wire format over HTTP.

``POST /openai/v1/chat/completions`` answers as Groq does: a ``chat.completion`` body with
``choices``, ``usage`` and ``x_groq``, and ``x-ratelimit-*`` headers; or, when a test queues
them, a 429 with ``retry-after`` and the reset headers, a 5xx with Groq's error envelope, a 200
whose body is not JSON, or an answer that arrives after the client's timeout. ``GET
/openai/v1/models`` lists the models served today. Every request is recorded (path, headers, JSON
body) so tests can check what was sent, including that the key travels only in the Authorization
header.

Models are checked the way Groq checks them:

- a model Groq shut down answers 400 ``model_decommissioned`` ("The model `X` has been
  decommissioned and is no longer supported. Please refer to
  https://console.groq.com/docs/deprecations ..."), the body users report for every retired
  model (e.g. github.com/valentinfrlch/ha-llmvision/issues/324, crewAIInc/crewAI#1976);
- a name Groq never served answers 404 ``model_not_found`` ("The model `X` does not exist or you
  do not have access to it."), as reported in continuedev/continue#9890 and lobehub/lobehub#3367;
- the reasoning models (``openai/gpt-oss-*``, console.groq.com/docs/reasoning) put their
  reasoning in ``message.reasoning`` unless ``include_reasoning`` is false or
  ``reasoning_format`` is ``hidden``, inline in ``<think>`` tags with ``reasoning_format: raw``;
  ``include_reasoning`` together with ``reasoning_format`` is refused (the SDK's parameter docs
  call them mutually exclusive), and so is a ``reasoning_effort`` other than low, medium or high
  for gpt-oss, or any ``reasoning_effort`` for a model that does not reason.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.http_server import serving

MODEL = "openai/gpt-oss-120b"
# Shut down by Groq (console.groq.com/docs/deprecations): llama-3.3-70b-versatile on 2026-08-16.
RETIRED = ("llama-3.3-70b-versatile", "llama3-70b-8192", "llama-3.1-70b-versatile", "gemma2-9b-it")
REASONING_PREFIX = "openai/gpt-oss-"
GPT_OSS_EFFORTS = ("low", "medium", "high")
KEY = "gsk_standinTestKey0123456789abcdef"  # pragma: allowlist secret


@dataclass
class Reply:
    kind: str = "ok"  # ok | rate_limited | server_error | malformed | slow | unauthorized
    content: str = "Resumo reescrito."
    status: int = 200
    retry_after: str | None = "7"
    delay: float = 0.0
    # What a reasoning model thought before answering; sent back unless the request hid it.
    reasoning: str = "O usuário quer um resumo; os valores são R$ 999.999,99 e 77 contratos."


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class GroqStandIn:
    url: str = ""
    key: str = KEY
    models: list[str] = field(default_factory=lambda: [MODEL, "openai/gpt-oss-20b", "llama-3.1-8b-instant"])
    retired: tuple[str, ...] = RETIRED
    requests: list[Recorded] = field(default_factory=list)
    replies: deque[Reply] = field(default_factory=deque)
    default: Reply = field(default_factory=Reply)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def queue(self, *replies: Reply) -> None:
        with self.lock:
            self.replies.extend(replies)

    def next_reply(self) -> Reply:
        with self.lock:
            return self.replies.popleft() if self.replies else self.default

    @property
    def completions(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]


def _ratelimit_headers(remaining_requests: int = 14399) -> dict[str, str]:
    return {
        "x-ratelimit-limit-requests": "14400",
        "x-ratelimit-limit-tokens": "6000",
        "x-ratelimit-remaining-requests": str(remaining_requests),
        "x-ratelimit-remaining-tokens": "5400",
        "x-ratelimit-reset-requests": "6s",
        "x-ratelimit-reset-tokens": "6s",
    }


def _error_body(message: str, type_: str, code: str | None = None) -> bytes:
    error: dict[str, Any] = {"message": message, "type": type_}
    if code:
        error["code"] = code
    return json.dumps({"error": error}).encode()


def _model_error(state: GroqStandIn, model: object) -> tuple[int, bytes] | None:
    """Groq's answer to a model it does not serve, or None when it serves it."""
    if isinstance(model, str) and model in state.models:
        return None
    if isinstance(model, str) and model in state.retired:
        message = (f"The model `{model}` has been decommissioned and is no longer supported. Please refer to "
                   "https://console.groq.com/docs/deprecations for a recommendation on which model to use instead.")
        return 400, _error_body(message, "invalid_request_error", "model_decommissioned")
    message = f"The model `{model}` does not exist or you do not have access to it."
    return 404, _error_body(message, "invalid_request_error", "model_not_found")


def _reasoning_error(model: str, body: dict[str, Any]) -> bytes | None:
    """The 400 Groq gives for reasoning parameters the model or the combination does not allow."""
    effort = body.get("reasoning_effort")
    if "include_reasoning" in body and "reasoning_format" in body:
        return _error_body("`include_reasoning` and `reasoning_format` are mutually exclusive",
                           "invalid_request_error")
    if effort is not None and not model.startswith(REASONING_PREFIX):
        return _error_body("`reasoning_effort` is not supported with this model", "invalid_request_error")
    if effort is not None and effort not in GPT_OSS_EFFORTS:
        return _error_body(f"`reasoning_effort` must be one of {', '.join(GPT_OSS_EFFORTS)} for this model",
                           "invalid_request_error")
    return None


def _message(model: str, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if not model.startswith(REASONING_PREFIX):
        return message
    fmt = body.get("reasoning_format")
    if fmt == "raw":
        message["content"] = f"<think>{reply.reasoning}</think>{reply.content}"
    elif fmt != "hidden" and body.get("include_reasoning", True) is not False:
        message["reasoning"] = reply.reasoning
    return message


def _completion_body(model: str, message: dict[str, Any]) -> bytes:
    now = int(time.time())
    body = {
        "id": f"chatcmpl-{uuid.uuid4()}",
        "object": "chat.completion",
        "created": now,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None,
             "finish_reason": "stop"}
        ],
        "usage": {
            "queue_time": 0.02, "prompt_tokens": 310, "prompt_time": 0.015, "completion_tokens": 80,
            "completion_time": 0.06, "total_tokens": 390, "total_time": 0.075,
        },
        "system_fingerprint": "fp_standin",
        "x_groq": {"id": f"req_{uuid.uuid4().hex[:26]}"},
    }
    return json.dumps(body, ensure_ascii=False).encode()


def _handler(state: GroqStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            return

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _record(self, body: dict[str, Any] | None) -> None:
            with state.lock:
                state.requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))

        def _authorized(self) -> bool:
            if self.headers.get("authorization") != f"Bearer {state.key}":
                self._send(401, _error_body("Invalid API Key", "invalid_request_error", "invalid_api_key"))
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802
            self._record(None)
            if not self._authorized():
                return
            if self.path.rstrip("/") == "/openai/v1/models":
                data = [{"id": m, "object": "model", "created": 1693721698,
                         "owned_by": "OpenAI" if m.startswith("openai/") else "Meta",
                         "active": True, "context_window": 131072} for m in state.models]
                self._send(200, json.dumps({"object": "list", "data": data}).encode())
                return
            self._send(404, _error_body("Unknown request URL", "invalid_request_error", "unknown_url"))

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            self._record(body)
            if not self._authorized():
                return
            if self.path.rstrip("/") != "/openai/v1/chat/completions":
                self._send(404, _error_body("Unknown request URL", "invalid_request_error", "unknown_url"))
                return
            model = (body or {}).get("model")
            refused = _model_error(state, model)
            if refused is not None:
                self._send(*refused)
                return
            assert isinstance(model, str)
            invalid = _reasoning_error(model, body or {})
            if invalid is not None:
                self._send(400, invalid)
                return
            reply = state.next_reply()
            if reply.delay:
                time.sleep(reply.delay)
            if reply.kind == "rate_limited":
                headers = {**_ratelimit_headers(0), "x-ratelimit-reset-requests": "2m59.56s",
                           "x-ratelimit-reset-tokens": "7.66s"}
                if reply.retry_after is not None:
                    headers["retry-after"] = reply.retry_after
                message = (f"Rate limit reached for model `{model}` in organization `org_standin` on tokens "
                           "per minute (TPM): Limit 6000, Used 5980, Requested 500. Please try again in 7.66s.")
                self._send(429, _error_body(message, "tokens", "rate_limit_exceeded"), headers)
            elif reply.kind == "server_error":
                status = reply.status if reply.status >= 500 else 503
                self._send(status, _error_body("Service Unavailable", "internal_server_error"))
            elif reply.kind == "malformed":
                self._send(200, b'{"id": "chatcmpl-1", "object": "chat.completion", "choi', _ratelimit_headers())
            elif reply.kind == "unauthorized":
                self._send(401, _error_body("Invalid API Key", "invalid_request_error", "invalid_api_key"))
            else:  # ok, or slow (the delay above already applied)
                self._send(200, _completion_body(model, _message(model, body or {}, reply)), _ratelimit_headers())

    return Handler


@contextmanager
def groq_standin() -> Iterator[GroqStandIn]:
    """A running stand-in on a free local port; ``state.url`` is the ``GROQ_API_URL`` to use."""
    state = GroqStandIn()
    with serving(_handler(state), name="groq-standin") as state.url:
        yield state
