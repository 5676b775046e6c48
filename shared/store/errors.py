"""From a database error to the store's exception tree, the same way for both backends.

Both backends learn a SQLSTATE (psycopg's ``sqlstate``, PostgREST's ``code``); this module picks
the :class:`~shared.store.base.StoreError` subclass for it and writes the message every caller
sees: the operation, its input, then the database's words, e.g.
``upsert_contracts(500 contracts): terminating connection due to administrator command``.
"""

from __future__ import annotations

from shared.store.models import Conflict, NotFound, StoreError, StoreUnavailable

# Classes of SQLSTATE worth retrying later: the server went away, is starting or shutting down,
# ran out of resources, or rolled the transaction back because of a concurrent one.
_UNAVAILABLE_PREFIXES = ("08", "53", "57P", "40")


def error_class(sqlstate: str | None) -> type[StoreError]:
    if not sqlstate:
        return StoreError
    if sqlstate.startswith(_UNAVAILABLE_PREFIXES):
        return StoreUnavailable
    if sqlstate == "P0002":
        return NotFound
    if sqlstate.startswith("23") or sqlstate == "55000":
        return Conflict
    return StoreError


def describe(operation: str, detail: str, message: str) -> str:
    message = " ".join(message.split())  # drivers add newlines and a trailing space
    return f"{operation}({detail}): {message}" if detail else f"{operation}: {message}"


def store_error(operation: str, detail: str, message: str, sqlstate: str | None) -> StoreError:
    return error_class(sqlstate)(describe(operation, detail, message))
