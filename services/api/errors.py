"""How the API says no: one JSON error shape for every 4xx and 5xx, and the handlers that make it.

Every error body is an :class:`ErrorOut` — a machine-readable ``error`` code, a sentence for
people, and, for bad input, one entry per field naming where it was (``query.page_size``,
``body.window_end``, ``path.investigation_id``) and what is wrong with it. Client input can only
produce 4xx: validation errors become 422, unknown ids 404, a conflict 409; a database that
cannot be reached is 503; anything else is a 500 that is logged with its traceback and the
request id, and answered without internals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.api.schemas.fields import PATTERN_PROBLEMS
from shared.logging import log_context, request_id_var
from shared.store.base import Conflict, NotFound, StoreError, StoreUnavailable

log = logging.getLogger("vigia.api.errors")


class FieldProblem(BaseModel):
    field: str = Field(description="Where the bad value was: query.<name>, path.<name>, body.<name> or header.<name>.")
    problem: str = Field(description="What is wrong with it.")


class ErrorOut(BaseModel):
    error: str = Field(description="Machine-readable code, e.g. validation_error, not_found, unauthorized.")
    message: str = Field(description="What went wrong, for people.")
    fields: list[FieldProblem] = Field(default_factory=list, description="Every bad field, for a 422.")
    request_id: str | None = Field(default=None, description="Quote it when reporting a problem.")


class ApiError(Exception):
    """Raised by routes and dependencies; rendered as :class:`ErrorOut` with ``status``."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        fields: Sequence[FieldProblem] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.fields = list(fields)
        self.headers = headers


def invalid(field: str, problem: str) -> ApiError:
    """A 422 about one field, in the same shape FastAPI's own validation errors take."""
    return ApiError(422, "validation_error", f"{field}: {problem}", fields=[FieldProblem(field=field, problem=problem)])


def error_response(
    status: int, error: str, message: str, *, fields: Sequence[FieldProblem] = (), headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorOut(error=error, message=message, fields=list(fields), request_id=request_id_var.get())
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _field_name(loc: Sequence[Any], error_type: str) -> str:
    if error_type == "json_invalid":
        return "body"  # the location of a JSON syntax error is a character offset, not a field
    parts = [str(part) for part in loc]
    return ".".join(parts) if parts else "request"


def describe_validation_errors(errors: Sequence[Any]) -> list[FieldProblem]:
    problems = []
    for item in errors:
        problem = str(item.get("msg", "is invalid"))
        if item.get("type") == "json_invalid":
            problem = f"is not valid JSON ({item.get('ctx', {}).get('error', 'syntax error')})"
        elif item.get("type") == "string_pattern_mismatch":
            problem = PATTERN_PROBLEMS.get(str(item.get("ctx", {}).get("pattern")), problem)
        problems.append(FieldProblem(field=_field_name(item.get("loc", ()), str(item.get("type", ""))), problem=problem))
    return problems


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = describe_validation_errors(exc.errors())
    summary = "; ".join(f"{f.field}: {f.problem}" for f in fields[:5])
    return error_response(422, "validation_error", summary or "the request is invalid", fields=fields)


async def _on_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.error, exc.message, fields=exc.fields, headers=exc.headers)


_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


async def _on_http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = HTTPStatus(exc.status_code)
    code = _CODES.get(exc.status_code) or status.phrase.lower().replace(" ", "_").replace("-", "_")
    message = exc.detail if isinstance(exc.detail, str) and exc.detail != status.phrase else status.description
    fields: list[FieldProblem] = []
    if exc.status_code == 400 and message == "There was an error parsing the body":
        # FastAPI's words for a body it cannot decode at all (not UTF-8, not JSON text).
        message = "the body could not be read as UTF-8 JSON"
        fields = [FieldProblem(field="body", problem=message)]
    elif exc.status_code == 413:
        fields = [FieldProblem(field="body", problem=message)]
    return error_response(
        exc.status_code, code, message or status.phrase, fields=fields, headers=getattr(exc, "headers", None)
    )


def _public_message(exc: Exception) -> str:
    """A store error's sentence without the database's trailing CONTEXT/DETAIL lines."""
    text = str(exc)
    for marker in ("\nCONTEXT:", " CONTEXT:", "\nDETAIL:", "\nHINT:"):
        text = text.split(marker, 1)[0]
    return text.strip()


async def _on_not_found(_: Request, exc: Exception) -> JSONResponse:
    return error_response(404, "not_found", _public_message(exc))


async def _on_conflict(_: Request, exc: Exception) -> JSONResponse:
    return error_response(409, "conflict", _public_message(exc))


async def _on_store_unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.error("the database is unavailable: %s", exc)
    return error_response(
        503, "unavailable", "the database is unavailable; try again shortly", headers={"Retry-After": "5"}
    )


async def _on_store_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("store error on %s %s: %s", request.method, request.url.path, exc)
    return error_response(500, "internal_error", "the request could not be completed; it was logged")


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette calls this from its outermost middleware, after the request's log context ended.
    request_id = request.scope.get("state", {}).get("request_id")
    with log_context(request_id=request_id):
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        headers = {"X-Request-ID": request_id} if request_id else None
        return error_response(500, "internal_error", "the request could not be completed; it was logged", headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    # Subclasses first in meaning; Starlette picks the most specific class by the MRO anyway.
    app.add_exception_handler(NotFound, _on_not_found)
    app.add_exception_handler(Conflict, _on_conflict)
    app.add_exception_handler(StoreUnavailable, _on_store_unavailable)
    app.add_exception_handler(StoreError, _on_store_error)
    app.add_exception_handler(Exception, _on_unexpected)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries declaring :class:`ErrorOut` for each status, and the 429 of
    the rate limiter (services/api/ratelimit.py), which every ``/api/`` route may answer."""
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorOut, "description": HTTPStatus(status).phrase} for status in statuses
    }
    responses[429] = {
        "model": ErrorOut,
        "description": "Too many requests from this client address or key; retry after Retry-After seconds.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    }
    return responses
