"""Keyset cursors: opaque, tied to the sort and filters they were issued for, refused otherwise."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from services.api.errors import ApiError
from services.api.pagination import Cursor, decode_cursor, encode_cursor, fingerprint
from shared.store.base import Keyset

AS_OF = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ROW = "0b6c3c1e-6f0a-4a57-9d43-3f1f8d1a2b3c"


def _token(**payload: object) -> str:
    values: dict[str, object] = {"v": 2, "s": "-created_at", "k": AS_OF.isoformat(), "i": ROW, "f": "x",
                                 "t": AS_OF.isoformat()}
    values.update(payload)
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


@pytest.mark.parametrize(
    ("sort", "value"),
    [("-created_at", datetime(2025, 2, 1, 8, 30, 1, 123456, tzinfo=UTC)), ("created_at", AS_OF),
     ("-risk_score", 0.75), ("risk_score", None)],
)
def test_it_round_trips_a_cursor_for_every_sort(sort: str, value: datetime | float | None) -> None:
    fp = fingerprint({"orgao_codigo": "26000", "sort": sort, "page_size": 20})
    cursor = Cursor(after=Keyset(value=value, id=ROW), sort=sort, fingerprint=fp, as_of=AS_OF)
    token = encode_cursor(cursor)
    assert "=" not in token and "/" not in token and "+" not in token
    assert decode_cursor(token, expected_fingerprint=fp, sort=sort) == cursor


def test_it_gives_the_same_fingerprint_whatever_the_key_order() -> None:
    assert fingerprint({"a": 1, "b": None}) == fingerprint({"b": None, "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


@pytest.mark.parametrize(("issued_fp", "sort"), [("other", "-created_at"), ("x", "created_at")])
def test_it_refuses_a_cursor_issued_for_other_filters_or_sort(issued_fp: str, sort: str) -> None:
    with pytest.raises(ApiError) as caught:
        decode_cursor(_token(f=issued_fp), expected_fingerprint="x", sort=sort)
    assert caught.value.status == 422
    assert caught.value.fields[0].field == "query.cursor"
    assert "other filters" in caught.value.fields[0].problem


@pytest.mark.parametrize(
    "token",
    [
        "not-base64-$$$",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        _token(v=1),
        _token(i="not-a-uuid"),
        _token(i=5),
        _token(k="yesterday"),
        _token(k="2025-01-01T00:00:00"),
        _token(k=None),
        _token(s="-risk_score", k="high"),
        _token(s="-risk_score", k=True),
        _token(s="-risk_score", k=float("inf")),
        _token(t="yesterday"),
        _token(t="2025-01-01T00:00:00"),
        "",
        "\udcff",
    ],
)
def test_it_refuses_tokens_it_did_not_issue(token: str) -> None:
    with pytest.raises(ApiError) as caught:
        decode_cursor(token, expected_fingerprint="x", sort="-created_at")
    assert caught.value.status == 422
    assert caught.value.fields[0].field == "query.cursor"
