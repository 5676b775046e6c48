"""A PostgREST stand-in: the subset of its HTTP wire format Vigia's Supabase backend uses, on real PostgreSQL.

No PostgREST server can be installed here, so the tests of :class:`shared.store.supabase.SupabaseStore`
talk to this one. It speaks what the backend (through the ``supabase``/``postgrest`` client) sends,
and answers the way PostgREST 12 does, executing every request as SQL on the real database in one
transaction under the role of the API key (``SET LOCAL ROLE service_role`` / ``anon``), so row
level security applies as on Supabase:

- ``GET``/``HEAD /rest/v1/<table>``: ``select=`` (columns, ``alias:col``, ``col::type``),
  filters ``eq. neq. gt. gte. lt. lte. in.(…) is.(null|true|false) cs.{…} like. ilike.`` with
  ``not.``, ``order=col.asc|desc[.nullsfirst|.nullslast]``, ``limit``/``offset``,
  ``Prefer: count=exact`` answered in ``Content-Range``;
- ``POST /rest/v1/<table>`` (JSON object or array, ``columns=``, ``on_conflict=``,
  ``Prefer: resolution=merge-duplicates|ignore-duplicates``, ``return=representation|minimal``),
  ``PATCH`` and ``DELETE`` with filters;
- ``POST /rest/v1/rpc/<function>`` with named arguments in a JSON object;
- errors as ``{"code", "message", "details", "hint"}`` with PostgREST's status for the SQLSTATE,
  and ``Proxy-Status: PostgREST; error=<code>``.

This module is the HTTP server; :mod:`tests.support.postgrest_sql` turns a request into SQL.
Anything else gets a 400 naming what the stand-in does not support, so a backend that starts
using more of PostgREST fails loudly here rather than silently passing.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psycopg
from psycopg_pool import ConnectionPool

from tests.support.http_server import serving
from tests.support.postgrest_sql import Answer, ApiError, Executor, parse_prefer, status_for_sqlstate


@dataclass
class RequestRecord:
    method: str
    path: str
    query: list[tuple[str, str]]
    prefer: str


@dataclass
class PostgrestStandIn:
    """The running server; ``url`` is what ``SUPABASE_URL`` would be."""

    url: str
    service_key: str
    anon_key: str
    requests: list[RequestRecord] = field(default_factory=list)
    _faults: list[tuple[int, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int = 503, body: str = "<html>upstream unavailable</html>") -> None:
        """Answer the next request with this status and a non-PostgREST body (a proxy's error page)."""
        with self._lock:
            self._faults.append((status, body))

    def _take_fault(self) -> tuple[int, str] | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None


def _handler(stand_in: PostgrestStandIn, executor: Executor) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects

        def setup(self) -> None:
            super().setup()
            # headers and body go out in two writes; without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every keep-alive response
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            return  # requests are recorded in stand_in.requests instead

        def _respond(self, answer: Answer) -> None:
            payload = (answer.body or "").encode() if self.command != "HEAD" else b""
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            prefer_header = ",".join(self.headers.get_all("Prefer") or [])
            stand_in.requests.append(RequestRecord(self.command, parts.path, pairs, prefer_header))
            fault = stand_in._take_fault()
            if fault is not None:
                self._respond(Answer(fault[0], fault[1], {"Content-Type": "text/html"}))
                return
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            role = {stand_in.service_key: "service_role", stand_in.anon_key: "anon", "": "anon"}.get(token)  # pragma: allowlist secret
            try:
                if role is None:
                    raise ApiError(401, "PGRST301", "No suitable key or wrong key type")
                answer = executor.run(self.command, parts.path, pairs, parse_prefer(prefer_header), body, role)
            except ApiError as error:
                answer = Answer(error.status, json.dumps(error.body()), {"Proxy-Status": f"PostgREST; error={error.code}"})
            except psycopg.Error as error:
                code = error.sqlstate or "PGRST000"
                if error.sqlstate:
                    status = status_for_sqlstate(code, anonymous=role == "anon")
                    diag = error.diag
                    body_json = {"code": code, "message": diag.message_primary or str(error),
                                 "details": diag.message_detail, "hint": diag.message_hint}
                else:  # the database connection itself failed
                    status = 503
                    body_json = {"code": code, "message": "Database connection error. Retrying the connection.",
                                 "details": str(error).strip(), "hint": None}
                answer = Answer(status, json.dumps(body_json), {"Proxy-Status": f"PostgREST; error={code}"})
            except Exception as error:  # a PoolTimeout or a bug here: still answer like the real server
                answer = Answer(503, json.dumps({"code": "PGRST000", "message": str(error), "details": None,
                                                  "hint": None}), {"Proxy-Status": "PostgREST; error=PGRST000"})
            self._respond(answer)

        do_GET = do_HEAD = do_POST = do_PATCH = do_DELETE = _handle

    return Handler


@contextmanager
def running_postgrest(
    database_url: str, *, service_key: str = "test-service-role-key", anon_key: str = "test-anon-key"
) -> Iterator[PostgrestStandIn]:
    """Serve the stand-in on a free loopback port for the duration of the block."""
    pool: ConnectionPool[Any] = ConnectionPool(
        database_url, min_size=1, max_size=4, open=True, timeout=10, check=ConnectionPool.check_connection,
        kwargs={"application_name": "postgrest-stand-in"},
    )
    stand_in = PostgrestStandIn(url="", service_key=service_key, anon_key=anon_key)
    try:
        with serving(_handler(stand_in, Executor(pool)), name="postgrest-stand-in") as stand_in.url:
            yield stand_in
    finally:
        pool.close()
