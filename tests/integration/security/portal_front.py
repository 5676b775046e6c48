"""The Portal simulator as the real Portal would look to a client holding a real key.

A client configured with ``TRANSPARENCY_API_KEY`` refuses any answer that carries the simulator's
marker header (simulated rows must never be stored as real ones). To run a keyed worker against
the simulator, this loopback front forwards each request unchanged (path, query, the
``chave-api-dados`` header) and returns the simulator's status, headers and body without the
marker: the same wire format the Portal speaks. It records the keys it saw, so a test can show
the key really travelled.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from shared.portal.wire import API_KEY_HEADER, SIMULATOR_HEADER
from tests.support.http_server import serving

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", SIMULATOR_HEADER.lower()}


@dataclass
class PortalFront:
    base_url: str = ""  # what TRANSPARENCY_API_URL should be
    keys_seen: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: PortalFront, host: str, port: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            return

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            key = self.headers.get(API_KEY_HEADER)
            if key:
                with state.lock:
                    state.keys_seen.add(key)
            upstream = http.client.HTTPConnection(host, port, timeout=60)
            try:
                headers = {name: value for name, value in self.headers.items() if name.lower() != "host"}
                upstream.request("GET", self.path, headers=headers)
                answer = upstream.getresponse()
                body = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            finally:
                upstream.close()

    return Handler


@contextmanager
def portal_front(simulator_base_url: str) -> Iterator[PortalFront]:
    """A front for the simulator at ``simulator_base_url`` (its ``/api-de-dados`` URL)."""
    target = urlsplit(simulator_base_url)
    state = PortalFront()
    with serving(_handler(state, target.hostname or "127.0.0.1", target.port or 80), name="portal-front") as base:
        state.base_url = base + target.path
        yield state
