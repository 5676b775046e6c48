"""API keys: writes always need a write key (``API_KEYS``); reads need a key only when
``API_READ_KEY_REQUIRED`` is true, and then a read key (``API_READ_KEYS``) or a write key will do.
A read key handed to a dashboard or a partner never writes: a write with it is a 403.

A key travels in the ``X-API-Key`` header and is compared with every configured key using
:func:`hmac.compare_digest`, without stopping at the first match, so the time taken says nothing
about which key (or how much of one) matched. The caller is identified in feedback rows by a
short hash of the key, never the key itself. In development with no ``API_KEYS`` writes are
open, so ``make run`` works out of the box; production refuses to start without keys.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.security import APIKeyHeader

from services.api.errors import ApiError, error_responses
from shared.config import Settings

log = logging.getLogger("vigia.api.auth")

API_KEY_HEADER = "X-API-Key"  # pragma: allowlist secret

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    scheme_name="ApiKey",
    description="A write key (API_KEYS) for writes; for reads, when API_READ_KEY_REQUIRED=true, a read key "
    "(API_READ_KEYS) or a write key.",
)


def key_matches(given: str | None, keys: Sequence[str]) -> bool:
    """True when ``given`` equals one of ``keys``; every key is compared, in constant time each."""
    if not given:
        return False
    given_bytes = given.encode("utf-8")
    matched = False
    for key in keys:
        # Bitwise or, not `or`: no short-circuit, so every key costs the same comparison.
        matched |= hmac.compare_digest(given_bytes, key.encode("utf-8"))
    return matched


def key_identity(key: str) -> str:
    """How a key is named in stored rows and logs: a hash prefix that cannot be reversed."""
    return "key:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def writes_are_open(settings: Settings) -> bool:
    return not settings.api_keys and settings.environment == "development"


def _refuse(what: str, given: str | None) -> ApiError:
    problem = "is missing" if not given else "is not a valid key"
    return ApiError(
        401,
        "unauthorized",
        f"{what} need a valid {API_KEY_HEADER} header; the header {problem}",
        headers={"WWW-Authenticate": API_KEY_HEADER},
    )


async def require_write_key(request: Request, key: str | None = Security(api_key_header)) -> str:
    """Dependency of every write route; returns the caller's identity."""
    settings: Settings = request.app.state.settings
    if writes_are_open(settings):
        return "anonymous"
    if key_matches(key, settings.api_keys):
        assert key is not None
        return key_identity(key)
    if key_matches(key, settings.api_read_keys):
        raise ApiError(403, "forbidden", "this key may only read; writes need a key from API_KEYS")
    raise _refuse("writes", key)


async def require_read_key(request: Request, key: str | None = Security(api_key_header)) -> str | None:
    """Dependency of read routes when ``API_READ_KEY_REQUIRED`` is true."""
    settings: Settings = request.app.state.settings
    if writes_are_open(settings) and not settings.api_read_keys:
        return "anonymous"
    if key_matches(key, [*settings.api_keys, *settings.api_read_keys]):
        assert key is not None
        return key_identity(key)
    raise _refuse("reads", key)


def read_route(
    router: APIRouter, settings: Settings, path: str, *, response_model: Any, summary: str, errors: Sequence[int] = ()
) -> Callable[[Any], Any]:
    """``router.get`` for a read: guarded by :func:`require_read_key` when ``API_READ_KEY_REQUIRED``
    is true (and then documenting its 401), with the error answers every read may give."""
    required = settings.api_read_key_required
    return router.get(
        path,
        response_model=response_model,
        dependencies=[Depends(require_read_key)] if required else [],
        responses=error_responses(*((401,) if required else ()), 422, 503, *errors),
        summary=summary,
    )
