"""Local stand-ins for an alert webhook (Slack, Discord or generic JSON) and a heartbeat monitor.

:func:`webhook_receiver` answers as the platform named by its ``fmt`` does:

* ``slack`` — Slack incoming webhooks (https://api.slack.com/messaging/webhooks): POST JSON with a
  ``text`` → 200 ``ok``; without text → 400 ``no_text``; not JSON → 400 ``invalid_payload``; a
  wrong path (token) → 404 ``no_service``.
* ``discord`` — Discord's Execute Webhook
  (https://discord.com/developers/docs/resources/webhook#execute-webhook): POST JSON with
  ``content`` (at most 2000 characters) → 204; empty → 400 with code 50006 ("Cannot send an empty
  message"); GET the webhook URL (Get Webhook with Token) → 200 with the webhook object; a wrong
  token → 401.
* ``json`` — any JSON object → 200.

Tests may queue failure statuses (``fail_next``) to exercise retries. Every POST is recorded.

:func:`heartbeat_receiver` follows healthchecks.io's Pinging API
(https://healthchecks.io/docs/http_api/): ``/<uuid>`` success, ``/<uuid>/start``, ``/<uuid>/fail``,
``/<uuid>/<0-255>`` exit status; ``?rid=`` kept; GET, HEAD and POST all count as pings and answer
200 ``OK``; an unknown UUID answers 404 ``not found``. ``GET /`` is the site, not a ping.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from tests.support.http_server import serving

Format = Literal["slack", "discord", "json"]


@dataclass
class WebhookReceiver:
    fmt: Format
    url: str = ""  # the webhook URL to configure (its path carries the token)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    received: list[dict[str, Any]] = field(default_factory=list)
    fail_next: deque[int] = field(default_factory=deque)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def path(self) -> str:
        return {"slack": f"/services/T000/B000/{self.token}", "discord": f"/api/webhooks/1234/{self.token}",
                "json": f"/hooks/{self.token}"}[self.fmt]

    def texts(self) -> list[str]:
        with self.lock:
            return [str(body.get("text") or body.get("content") or "") for body in self.received]


def _webhook_handler(state: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"", content_type: str = "text/plain") -> None:
            self.send_response(status)
            if body:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._answer(status, json.dumps(body).encode(), "application/json")

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(404 if self.path != "/" else 200)

        def do_GET(self) -> None:  # noqa: N802
            if state.fmt == "discord":
                if self.path == state.path:
                    self._json(200, {"id": "1234", "type": 1, "name": "vigia", "token": state.token,
                                     "channel_id": "99", "guild_id": "98"})
                else:
                    self._json(401, {"message": "Invalid Webhook Token", "code": 50027})
                return
            self._answer(405 if self.path == state.path else 404)

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.split("?", 1)[0] != state.path:
                if state.fmt == "discord":
                    self._json(401, {"message": "Invalid Webhook Token", "code": 50027})
                else:
                    self._answer(404, b"no_service")
                return
            with state.lock:
                state.attempts += 1
                failure = state.fail_next.popleft() if state.fail_next else None
            if failure is not None:
                self._answer(failure, b"try again later")
                return
            try:
                body = json.loads(raw)
                if not isinstance(body, dict):
                    raise ValueError
            except ValueError:
                if state.fmt == "discord":
                    self._json(400, {"message": "Cannot send an empty message", "code": 50006})
                else:
                    self._answer(400, b"invalid_payload")
                return
            if state.fmt == "slack":
                if not body.get("text"):
                    self._answer(400, b"no_text")
                    return
                self._record(body)
                self._answer(200, b"ok")
            elif state.fmt == "discord":
                content = body.get("content")
                if not content and not body.get("embeds"):
                    self._json(400, {"message": "Cannot send an empty message", "code": 50006})
                    return
                if content and len(content) > 2000:
                    self._json(400, {"message": "Invalid Form Body", "code": 50035,
                                     "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}}})
                    return
                self._record(body)
                self._answer(204)
            else:
                self._record(body)
                self._json(200, {"received": True})

        def _record(self, body: dict[str, Any]) -> None:
            with state.lock:
                state.received.append(body)

    return Handler


@contextmanager
def webhook_receiver(fmt: Format = "json") -> Iterator[WebhookReceiver]:
    state = WebhookReceiver(fmt=fmt)
    with serving(_webhook_handler(state), name="webhook-receiver") as base:
        state.url = base + state.path
        yield state


@dataclass(frozen=True)
class Ping:
    signal: str  # "success" | "start" | "fail" | "exit:<n>" | "log"
    rid: str | None
    body: str
    method: str


@dataclass
class HeartbeatReceiver:
    url: str = ""  # the check's ping URL
    check: str = field(default_factory=lambda: str(uuid.uuid4()))
    pings: list[Ping] = field(default_factory=list)
    site_requests: int = 0  # requests that were not pings (the doctor's reachability probe)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def signals(self) -> list[str]:
        with self.lock:
            return [ping.signal for ping in self.pings]

    def snapshot(self) -> list[Ping]:
        with self.lock:
            return list(self.pings)


_PING_PATH = re.compile(r"^/([0-9a-f-]{36})(?:/(start|fail|log|\d{1,3}))?/?$")


def _heartbeat_handler(state: HeartbeatReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            if parts.path == "/":
                with state.lock:
                    state.site_requests += 1
                self._answer(200, b"Healthchecks")
                return
            match = _PING_PATH.match(parts.path)
            if match is None or match[1] != state.check:
                self._answer(404, b"not found")
                return
            suffix = match[2]
            signal = "success" if suffix is None else suffix if not suffix.isdigit() else (
                "success" if suffix == "0" else f"exit:{suffix}")
            rid = parse_qs(parts.query).get("rid", [None])[0]
            with state.lock:
                state.pings.append(Ping(signal, rid, body, self.command))
            self._answer(200, b"OK")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_HEAD = _handle  # noqa: N815

    return Handler


@contextmanager
def heartbeat_receiver() -> Iterator[HeartbeatReceiver]:
    state = HeartbeatReceiver()
    with serving(_heartbeat_handler(state), name="heartbeat-receiver") as base:
        state.url = f"{base}/{state.check}"
        yield state
