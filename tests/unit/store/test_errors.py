"""From SQLSTATEs and PostgREST answers to the store's exceptions, the same way for both backends."""

from __future__ import annotations

import pytest
from postgrest import APIError

from shared.store.base import Conflict, NotFound, StoreError, StoreUnavailable
from shared.store.errors import error_class, store_error
from shared.store.supabase.core import rest_error


@pytest.mark.parametrize(
    ("sqlstate", "expected"),
    [
        ("08006", StoreUnavailable),  # connection failure
        ("57P01", StoreUnavailable),  # terminated by an administrator
        ("53300", StoreUnavailable),  # too many connections
        ("40P01", StoreUnavailable),  # deadlock: worth another try
        ("P0002", NotFound),
        ("23505", Conflict),
        ("23514", Conflict),
        ("55000", Conflict),
        ("57014", StoreError),  # statement timeout: retrying the same statement will not help
        ("42703", StoreError),
        (None, StoreError),
    ],
)
def test_it_maps_sqlstates_to_the_store_exceptions(sqlstate: str | None, expected: type[StoreError]) -> None:
    assert error_class(sqlstate) is expected


def test_it_names_the_operation_and_input_on_one_line() -> None:
    error = store_error("upsert_contracts", "500 contracts", "terminating connection\n due to administrator command ",
                        "57P01")
    assert isinstance(error, StoreUnavailable)
    assert str(error) == "upsert_contracts(500 contracts): terminating connection due to administrator command"
    assert str(store_error("stats", "", "boom", None)) == "stats: boom"


@pytest.mark.parametrize(
    ("body", "expected", "text"),
    [
        ({"code": "23505", "message": "duplicate key", "details": "Key (id)=(1) exists.", "hint": None}, Conflict,
         "open_run(t): duplicate key (Key (id)=(1) exists.)"),
        ({"code": "P0002", "message": "run 9 does not exist", "details": None, "hint": None}, NotFound,
         "open_run(t): run 9 does not exist"),
        ({"code": "PGRST000", "message": "Database connection error", "details": None, "hint": None}, StoreUnavailable,
         "open_run(t): PGRST000: Database connection error"),
        ({"code": "502", "message": "Bad Gateway", "details": "<html>oops</html>", "hint": None}, StoreUnavailable,
         "open_run(t): HTTP 502: Bad Gateway"),
        ({"code": "404", "message": "Not Found", "details": None, "hint": None}, StoreError, "open_run(t): HTTP 404"),
    ],
)
def test_it_maps_postgrest_answers_to_the_store_exceptions(body: dict[str, str | None], expected: type[StoreError],
                                                            text: str) -> None:
    error = rest_error("open_run", "t", APIError(body))
    assert type(error) is expected
    assert str(error).startswith(text)
