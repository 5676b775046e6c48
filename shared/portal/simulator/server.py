"""The simulator's HTTP server: the Portal's paths under ``/api-de-dados``, and an admin side.

A stdlib ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive: each connection gets a thread,
so many clients (threads, processes) are served at once. Every answer carries the
``X-Vigia-Simulator`` header, which a production client refuses. A request without the
``chave-api-dados`` header is a 401; then :class:`~shared.portal.simulator.faults.FaultState`
applies the key check, the per-key rate window and the configured faults; what passes is
answered from the :class:`~shared.portal.simulator.catalog.Catalog`.

Admin paths (not rate limited, not counted):

=====================================  =============================================================
``GET  /__sim__/health``               ``{"ok": true, "contracts": n}``
``GET  /__sim__/config``               the fault configuration
``POST /__sim__/config``               merge a JSON object into it (unknown keys: 400)
``POST /__sim__/reset``                faults back to the start-up configuration; counters, log and
                                       rate windows emptied
``GET  /__sim__/stats``                counters: total, by status, by path, 429s
``GET  /__sim__/requests?since=N``     the request log after sequence number N (time, path, status…)
``POST /__sim__/contracts/<id>/amend`` replace fields of a contract, e.g. ``{"valorFinalCompra": 1.5}``
``GET  /__sim__/ground-truth``         the planted anomalies (:class:`~.data.GroundTruth`)
=====================================  =============================================================
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.portal.errors import mask_key
from shared.portal.simulator.api import PREFIX, Reply, answer, json_reply, text_reply
from shared.portal.simulator.catalog import Catalog, StreamedOrgao
from shared.portal.simulator.data import SimDataset
from shared.portal.simulator.faults import ConfigError, FaultConfig, FaultState
from shared.portal.wire import API_KEY_HEADER, SIMULATOR_HEADER

log = logging.getLogger("vigia.portal.simulator")

ADMIN = "/__sim__"
LOG_LIMIT = 200_000


class RequestLog:
    """Counters and a bounded log of answered API requests, for tests and benchmarks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._seq = 0
            self._entries: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
            self._by_status: Counter[str] = Counter()
            self._by_path: Counter[str] = Counter()

    def add(self, path: str, query: dict[str, str], key: str, status: int) -> None:
        with self._lock:
            self._seq += 1
            self._by_status[str(status)] += 1
            self._by_path[path] += 1
            self._entries.append({"seq": self._seq, "time": time.time(), "monotonic": time.monotonic(),
                                  "path": path, "params": query, "key": mask_key(key), "status": status})

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"total": self._seq, "by_status": dict(self._by_status), "by_path": dict(self._by_path),
                    "rate_limited": self._by_status.get("429", 0)}

    def since(self, seq: int) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self._entries if e["seq"] > seq]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a sweep reuses one connection
    server: _Server
    timeout = 120  # an idle keep-alive connection is dropped after this many seconds
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus the client's delayed
    # ACK holds every answer back ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        log.debug("simulator request: " + format % args)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        parts = urlsplit(self.path)
        if parts.path.startswith(ADMIN + "/"):
            self._send(self.server.admin_get(parts.path[len(ADMIN):], _query(parts.query)))
        elif parts.path == PREFIX or parts.path.startswith(PREFIX + "/"):
            self._send(self.server.api(parts.path[len(PREFIX):], _query(parts.query),
                                       self.headers.get(API_KEY_HEADER, "")))
        else:
            self._send(text_reply(404, "Not Found: the Portal API lives under /api-de-dados"))

    def do_POST(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, 1_000_000)) if length else b""
        if not parts.path.startswith(ADMIN + "/"):
            self._send(text_reply(403, "Acesso negado"))
            return
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except ValueError:
            self._send(text_reply(400, "the admin body must be JSON"))
            return
        self._send(self.server.admin_post(parts.path[len(ADMIN):], body))

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header(SIMULATOR_HEADER, "1")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test); nothing to answer


def _query(text: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], catalog: Catalog, faults: FaultConfig) -> None:
        super().__init__(address, _Handler)
        self.catalog = catalog
        self.initial_faults = faults
        self.faults = FaultState(faults)
        self.requests = RequestLog()

    def api(self, path: str, query: dict[str, str], key: str) -> Reply:
        key = key.strip()
        if not key:
            reply = text_reply(401, f"Chave de API não informada: envie o cabeçalho {API_KEY_HEADER}")
        else:
            decision = self.faults.admit(key)
            if decision.delay:
                time.sleep(decision.delay)
            if decision.status is None:
                reply = answer(self.catalog, self.faults, path, query)
            else:
                headers = {}
                if decision.status == 429 and decision.retry_after is not None:
                    headers["Retry-After"] = f"{decision.retry_after:g}"
                reply = Reply(decision.status, decision.body, decision.content_type, headers)
        self.requests.add(path, query, key, reply.status)
        return reply

    def admin_get(self, path: str, query: dict[str, str]) -> Reply:
        if path == "/health":
            return json_reply({"ok": True, "contracts": self.catalog.contract_count})
        if path == "/config":
            return json_reply(self.faults.config.to_json())
        if path == "/stats":
            return json_reply(self.requests.stats())
        if path == "/requests":
            since = int(query.get("since") or 0)
            return json_reply({"requests": self.requests.since(since)})
        if path == "/ground-truth":
            return json_reply(self.catalog.dataset.ground_truth.to_json())
        return text_reply(404, f"unknown admin path {ADMIN}{path}")

    def admin_post(self, path: str, body: Any) -> Reply:
        if path == "/config":
            try:
                config = FaultConfig.from_json(body, base=self.faults.config)
            except (ConfigError, TypeError, ValueError) as error:
                return text_reply(400, str(error))
            self.faults.configure(config)
            log.info("simulator faults configured", extra={"faults": config.to_json()})
            return json_reply(config.to_json())
        if path == "/reset":
            self.faults.configure(self.initial_faults)
            self.faults.reset_windows()
            self.requests.clear()
            return json_reply({"ok": True})
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "contracts" and parts[2] == "amend" and parts[1].isdigit():
            if not isinstance(body, dict) or not body:
                return text_reply(400, "the amendment must be a non-empty JSON object of ContratoDTO fields")
            record = self.catalog.amend(int(parts[1]), body)
            if record is None:
                return text_reply(404, f"no contract {parts[1]}")
            log.info("simulator contract amended", extra={"contract_id": int(parts[1]), "fields": sorted(body)})
            return json_reply(record)
        return text_reply(404, f"unknown admin path {ADMIN}{path}")


def empty_dataset(seed: int = 0) -> SimDataset:
    return SimDataset(seed=seed, orgaos=[], contracts=[], ceis=[], cnep=[], licitacoes=[])


class SimulatorServer:
    """A simulator on ``host:port`` (0 = a free port); ``start()`` serves from a background thread."""

    def __init__(
        self,
        dataset: SimDataset | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultConfig | None = None,
        streamed: tuple[StreamedOrgao, ...] = (),
    ) -> None:
        self.catalog = Catalog(dataset or empty_dataset(), streamed=streamed)
        self._server = _Server((host, port), self.catalog, faults or FaultConfig())
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        # typeshed allows bytes (AF_UNIX); this is a TCP server, whose host is always str.
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What TRANSPARENCY_API_URL should be to use this simulator."""
        return self.url + PREFIX

    @property
    def faults(self) -> FaultState:
        return self._server.faults

    @property
    def requests(self) -> RequestLog:
        return self._server.requests

    def start(self) -> SimulatorServer:
        self._thread = threading.Thread(target=self.serve_forever, name="portal-simulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        log.info("Portal simulator listening", extra={"url": self.base_url, "contracts": self.catalog.contract_count})
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)


@contextmanager
def running_simulator(
    dataset: SimDataset | None = None,
    *,
    faults: FaultConfig | None = None,
    streamed: tuple[StreamedOrgao, ...] = (),
    port: int = 0,
) -> Iterator[SimulatorServer]:
    """A simulator serving real HTTP on a free loopback port for the duration of a block."""
    server = SimulatorServer(dataset, port=port, faults=faults, streamed=streamed).start()
    try:
        yield server
    finally:
        server.stop()
