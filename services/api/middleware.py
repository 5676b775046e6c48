"""ASGI middleware: a request id and one JSON access line per request, and a request body limit.

The access line is a normal log record (logger ``vigia.api.access``) formatted by
:mod:`shared.logging`, so a path holding quotes or newlines stays one valid JSON object, and
secrets are redacted like anywhere else. gunicorn's and uvicorn's own access logs are off (see
``gunicorn_conf.py``), so each request is logged exactly once.

The body limit answers 413 before reading a body whose ``Content-Length`` is too large, and
stops a chunked body as soon as it passes the limit, so no request can make a worker buffer
more than ``API_MAX_BODY_BYTES``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import time
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.errors import ErrorOut, FieldProblem
from shared.logging import log_context, request_id_var

access_log = logging.getLogger("vigia.api.access")

# A caller's X-Request-ID is kept only when it is short and plain, so it cannot forge log content.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class _RequestIds:
    """32 hex digits: a random half drawn once per process, then a counter. Unique across workers
    and restarts like a uuid4, without reading the kernel's random source on every request; an id
    only correlates log lines, so it need not be unguessable."""

    def __init__(self) -> None:
        self._pid = -1
        self._prefix = ""
        self._counter = itertools.count()

    def next(self) -> str:
        if self._pid != os.getpid():  # a forked worker draws its own half
            self._pid, self._prefix, self._counter = os.getpid(), secrets.token_hex(8), itertools.count()
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFFFFFF:016x}"


_request_ids = _RequestIds()


class RequestContextMiddleware:
    """Tags every log record of a request with its id and writes the access line at the end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.match(given) else _request_ids.next()
        # Also kept in the scope: the 500 handler runs outside this middleware's log context.
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering
        sent_bytes = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent_bytes
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("ascii")))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                sent_bytes += len(message.get("body", b""))
            await send(message)

        with log_context(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                _log_access(scope, status, sent_bytes, (time.perf_counter() - started) * 1000)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _log_access(scope: Scope, status: int, sent_bytes: int, duration_ms: float) -> None:
    client = scope.get("client")
    path = scope.get("path", "")
    query = scope.get("query_string", b"").decode("latin-1")
    extra: dict[str, Any] = {
        "method": scope.get("method", ""),
        "path": path,
        "query": query or None,
        "status": status,
        "duration_ms": round(duration_ms, 2),
        "bytes": sent_bytes,
        "client": client[0] if client else None,
        "user_agent": _header(scope, b"user-agent"),
    }
    level = logging.ERROR if status >= 500 else logging.INFO
    # The message repeats the essentials for people scanning a dashboard; json.dumps of the path
    # keeps control characters in it from reaching the log as raw bytes.
    access_log.log(level, "%s %s %s", extra["method"], json.dumps(path, ensure_ascii=False)[1:-1], status, extra=extra)


class BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive``; an HTTPException so FastAPI's body parsing passes it on unchanged."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {max_bytes} bytes")


class _SizeLimit:
    """A byte bound on HTTP requests or answers; other ASGI traffic (lifespan) passes untouched."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.limit(scope, receive, send)

    async def limit(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class BodySizeLimitMiddleware(_SizeLimit):
    """413 for request bodies larger than ``max_bytes``, declared or streamed."""

    async def limit(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                await _send_error(send, 400, "bad_request", "the Content-Length header is not a number", "header.content-length")
                return
            if too_large:
                await self._reject(send)
                return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        await _send_error(
            send, 413, "payload_too_large", f"the request body is larger than {self.max_bytes} bytes", "body"
        )


async def _send_error(send: Send, status: int, error: str, message: str, field: str) -> None:
    body = ErrorOut(
        error=error, message=message, fields=[FieldProblem(field=field, problem=message)], request_id=request_id_var.get()
    ).model_dump_json().encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ResponseSizeLimitMiddleware(_SizeLimit):
    """No answer larger than ``max_bytes`` (``API_MAX_RESPONSE_BYTES``) leaves the process.

    Page sizes bound every list, but one investigation's findings or a ranking have no natural
    bound; a body past the cap becomes a 500 naming the cap, logged, instead of megabytes that
    tie up a worker and the client. A streamed body (no Content-Length) is cut at the cap.
    """

    async def limit(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = False
        streamed = 0

        async def capped_send(message: Message) -> None:
            nonlocal refused, streamed
            if refused:
                return
            if message["type"] == "http.response.start":
                length = next((v for k, v in message.get("headers", []) if k == b"content-length"), None)
                if length is not None and int(length) > self.max_bytes:
                    refused = True
                    logging.getLogger("vigia.api").error(
                        "response larger than API_MAX_RESPONSE_BYTES refused",
                        extra={"path": scope.get("path", ""), "bytes": int(length), "max_bytes": self.max_bytes})
                    await _send_error(send, 500, "response_too_large",
                                      f"the answer would be larger than {self.max_bytes} bytes "
                                      "(API_MAX_RESPONSE_BYTES); ask for less (a smaller page_size or limit)",
                                      "response")
                    return
            elif message["type"] == "http.response.body":
                streamed += len(message.get("body", b""))
                if streamed > self.max_bytes:
                    refused = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
            await send(message)

        await self.app(scope, receive, capped_send)
