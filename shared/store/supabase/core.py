"""The Supabase backend's client and the one way every operation calls it.

The ``supabase`` client (its PostgREST part, ``postgrest-py``) is built on first use, once per
process (a forked child builds its own, as its HTTP connections belong to the parent), with the
service role key, which bypasses row level security. :meth:`SupabaseCore._call` runs one request
and turns what can go wrong — PostgREST's error JSON (whose ``code`` is the SQLSTATE), a proxy's
error page, a network failure or timeout — into a :class:`~shared.store.base.StoreError` naming
the operation and its input, the same classes the PostgreSQL backend raises.

Each REST request is one transaction on the server. Rules that must hold across tables or rows
(create-or-get, replace findings and complete, counters) are SQL functions called through
``/rest/v1/rpc/<name>``, shared with the PostgreSQL backend.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import httpx
from postgrest import APIError

from shared.store.base import Store
from shared.store.commands import Condition, Json, Returns
from shared.store.errors import describe, error_class
from shared.store.models import StoreError, StoreUnavailable

log = logging.getLogger("vigia.store.supabase")
T = TypeVar("T")

# URL length stays well under proxies' limits when an ``in.(...)`` filter lists this many ids
IDS_PER_REQUEST = 200


def rest_error(operation: str, detail: str, error: APIError) -> StoreError:
    code = str(error.code or "")
    message = error.message or "request failed"
    if error.details and isinstance(error.details, str) and not error.details.lstrip().startswith("<"):
        message = f"{message} ({error.details})"
    if code.isdigit() and len(code) == 3:  # not PostgREST's JSON: an HTTP status from a proxy
        cls: type[StoreError] = StoreUnavailable if code.startswith("5") else StoreError
        return cls(describe(operation, detail, f"HTTP {code}: {message}"))
    if code.startswith("PGRST0"):  # PostgREST cannot reach its database
        return StoreUnavailable(describe(operation, detail, f"{code}: {message}"))
    return error_class(code)(describe(operation, detail, message))


def wire(value: Any) -> Any:
    """A filter value as PostgREST's query string takes it (dates and timestamps in ISO 8601)."""
    return value.isoformat() if isinstance(value, date) else value


def apply_conditions(query: Any, conditions: list[Condition]) -> Any:
    """The front's conditions as PostgREST filters on ``query``."""
    for condition in conditions:
        column, value = condition.column, condition.value
        if condition.op == "in":
            query = query.in_(column, list(value))
        elif condition.op == "has":
            query = query.contains(column, [value])
        else:
            query = getattr(query, condition.op)(column, wire(value))
    return query


class SupabaseCore(Store):
    """Client lifecycle and the request wrapper; the operations live in the mixins."""

    ids_per_request = IDS_PER_REQUEST

    def __init__(self, url: str, service_role_key: str, *, timeout: float = 30.0) -> None:
        if not url or not url.startswith(("http://", "https://")):
            raise StoreError(f"SupabaseStore needs the project URL (https://<ref>.supabase.co), not {url!r}")
        if not service_role_key:
            raise StoreError("SupabaseStore needs SUPABASE_SERVICE_ROLE_KEY")
        self._url = url.rstrip("/")
        self._key = service_role_key
        self._timeout = timeout
        self._client: Any = None
        self._client_pid: int | None = None
        self._lock = threading.Lock()

    def _postgrest(self) -> Any:
        pid = os.getpid()
        client = self._client
        if client is not None and self._client_pid == pid:
            return client.postgrest
        with self._lock:
            if self._client is None or self._client_pid != pid:
                from supabase import ClientOptions, create_client

                options = ClientOptions(
                    postgrest_client_timeout=self._timeout,
                    auto_refresh_token=False,
                    persist_session=False,
                )
                self._client = create_client(self._url, self._key, options=options)
                self._client_pid = pid
            return self._client.postgrest

    def table(self, name: str) -> Any:
        return self._postgrest().from_(name)

    def rpc(self, function: str, params: dict[str, Any]) -> Any:
        return self._postgrest().rpc(function, params)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            owned = self._client_pid == os.getpid()
            self._client_pid = None
        if client is not None and owned and client._postgrest is not None:
            client._postgrest.aclose()

    def _call(self, operation: str, detail: str, request: Callable[[], T]) -> T:
        try:
            return request()
        except APIError as error:
            raise rest_error(operation, detail, error) from error
        except httpx.TimeoutException as error:
            raise StoreUnavailable(describe(operation, detail, f"Supabase did not answer in time: {error!r}")) from error
        except httpx.TransportError as error:
            raise StoreUnavailable(describe(operation, detail, f"cannot reach Supabase: {error!r}")) from error

    def _function(self, operation: str, detail: str, name: str, args: dict[str, Any], *,
                  returns: Returns = "value") -> Any:
        # one rpc answers with JSON whatever the function returns: a row as an object
        params = {arg: value.value if isinstance(value, Json) else wire(value) for arg, value in args.items()}
        return self._call(operation, detail, lambda: self.rpc(name, params).execute()).data

    def ping(self) -> None:
        self._call("ping", "", lambda: self.table("monitor_runs").select("id").limit(1).execute())
