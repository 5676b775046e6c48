"""A local stand-in for Groq's OpenAI-compatible API, speaking its real wire format over HTTP.

``POST /openai/v1/chat/completions`` answers as Groq does: a ``chat.completion`` body with
``choices``, ``usage`` and ``x_groq``, and ``x-ratelimit-*`` headers; or, when a test queues
them, a 429 with ``retry-after`` and the reset headers, a 5xx with Groq's error envelope, a 200
whose body is not JSON, or an answer that arrives after the client's timeout. ``GET
/openai/v1/models`` lists models. Every request is recorded (path, headers, JSON body) so tests
can check what was sent, including that the key travels only in the Authorization header.
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "llama-3.3-70b-versatile"
KEY = "gsk_standinTestKey0123456789abcdef"  # pragma: allowlist secret


@dataclass
class Reply:
    kind: str = "ok"  # ok | rate_limited | server_error | malformed | slow | unauthorized
    content: str = "Resumo reescrito."
    status: int = 200
    retry_after: str | None = "7"
    delay: float = 0.0


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
    models: list[str] = field(default_factory=lambda: [MODEL, "llama-3.1-8b-instant"])
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


def _completion_body(model: str, content: str) -> bytes:
    now = int(time.time())
    body = {
        "id": f"chatcmpl-{uuid.uuid4()}",
        "object": "chat.completion",
        "created": now,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "logprobs": None,
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
                data = [{"id": m, "object": "model", "created": 1693721698, "owned_by": "Meta",
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
            reply = state.next_reply()
            if reply.delay:
                time.sleep(reply.delay)
            model = (body or {}).get("model", MODEL)
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
                self._send(200, _completion_body(model, reply.content), _ratelimit_headers())

    return Handler


@contextmanager
def groq_standin() -> Iterator[GroqStandIn]:
    """A running stand-in on a free local port; ``state.url`` is the ``GROQ_API_URL`` to use."""
    state = GroqStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="groq-standin", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
