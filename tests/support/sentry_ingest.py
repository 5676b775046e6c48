"""A local stand-in for Sentry's ingest endpoint, parsing envelopes as Relay does.

Follows Sentry's envelope specification (https://develop.sentry.dev/sdk/envelopes/):
``POST /api/<project_id>/envelope/`` with a body that is an envelope header (one JSON line), then
items, each a JSON item header line and a payload of ``length`` bytes (or up to the next newline
when the header has no length). The SDK authenticates with ``X-Sentry-Auth: Sentry
sentry_key=<public key>, sentry_version=7, ...`` and may compress the body (``Content-Encoding:
gzip`` or ``deflate``; ``br`` only with the brotli package, absent here, so it is refused).

Like Sentry, it refuses what it would refuse: a wrong project id (403), a missing or wrong key
(401), a body that is not an envelope (400), any other path (404). Every request that reaches it
is kept raw (headers and decoded body) so a test can scan all of it, and each accepted envelope is
parsed into :class:`Envelope`.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.http_server import serving

_PATH = re.compile(r"^/api/(\d+)/envelope/?$")
_KEY = re.compile(r"sentry_key=([0-9a-zA-Z]+)")


@dataclass
class Item:
    headers: dict[str, Any]
    payload: bytes

    @property
    def type(self) -> str:
        return str(self.headers.get("type", ""))

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class Envelope:
    headers: dict[str, Any]
    items: list[Item]

    def events(self) -> list[dict[str, Any]]:
        return [item.json() for item in self.items if item.type == "event"]


def parse_envelope(body: bytes) -> Envelope:
    """An envelope as the spec defines it; ValueError when the body is not one."""
    header_line, sep, rest = body.partition(b"\n")
    headers = json.loads(header_line)
    if not isinstance(headers, dict):
        raise ValueError("the envelope header is not a JSON object")
    items: list[Item] = []
    while rest.strip():
        item_line, sep, rest = rest.partition(b"\n")
        if not item_line.strip():
            continue
        item_headers = json.loads(item_line)
        if not isinstance(item_headers, dict) or "type" not in item_headers:
            raise ValueError("an item header without a type")
        length = item_headers.get("length")
        if length is not None:
            payload, rest = rest[: int(length)], rest[int(length):]
            if len(payload) != int(length):
                raise ValueError("an item shorter than its length")
            rest = rest[1:] if rest.startswith(b"\n") else rest
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append(Item(item_headers, payload))
    return Envelope(headers, items)


def _decode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding in ("", "identity"):
        return body
    # Brotli too in Relay; the SDK sends it only when the brotli package is installed (it is not here).
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


@dataclass
class SentryIngest:
    project_id: int
    public_key: str
    url: str = ""
    envelopes: list[Envelope] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)  # every request: headers and decoded body, as text
    refused: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def dsn(self) -> str:
        host = self.url.split("://", 1)[1]
        return f"http://{self.public_key}@{host}/{self.project_id}"

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [event for envelope in self.envelopes for event in envelope.events()]


def _handler(state: SentryIngest) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(404, {"detail": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                decoded = _decode(body, self.headers.get("Content-Encoding", "").lower())
            except (ValueError, OSError, zlib.error) as error:
                state.refused.append(400)
                self._answer(400, {"detail": f"undecodable body: {error}"})
                return
            with state.lock:
                state.raw.append(str(self.headers) + "\n" + decoded.decode("utf-8", "replace"))
            match = _PATH.match(self.path.split("?", 1)[0])
            if match is None:
                self._answer(404, {"detail": "not found"})
                return
            if int(match[1]) != state.project_id:
                state.refused.append(403)
                self._answer(403, {"detail": "event submission rejected with_reason: ProjectId"})
                return
            key = _KEY.search(self.headers.get("X-Sentry-Auth", "")) or _KEY.search(self.path)
            if key is None or key[1] != state.public_key:
                state.refused.append(401)
                self._answer(401, {"detail": "missing or invalid authorization"})
                return
            try:
                envelope = parse_envelope(decoded)
            except (ValueError, json.JSONDecodeError) as error:
                state.refused.append(400)
                self._answer(400, {"detail": f"invalid envelope: {error}"})
                return
            with state.lock:
                state.envelopes.append(envelope)
            self._answer(200, {"id": envelope.headers.get("event_id")})

    return Handler


@contextmanager
def sentry_ingest(*, project_id: int = 4242, public_key: str = "0123456789abcdef0123456789abcdef") -> Iterator[SentryIngest]:
    """A running ingest stand-in on a free local port; ``state.dsn`` is the SENTRY_DSN to use."""
    state = SentryIngest(project_id=project_id, public_key=public_key)
    with serving(_handler(state), name="sentry-ingest") as state.url:
        yield state
