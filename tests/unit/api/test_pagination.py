"""Cursors: opaque, tied to the filters they were issued for, refused with a clear reason otherwise."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from services.api.errors import ApiError
from services.api.pagination import Cursor, decode_cursor, encode_cursor, fingerprint

AS_OF = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_it_round_trips_a_cursor() -> None:
    fp = fingerprint({"orgao_codigo": "26000", "sort": "-created_at", "page_size": 20})
    token = encode_cursor(Cursor(offset=40, fingerprint=fp, as_of=AS_OF))
    assert "=" not in token and "/" not in token and "+" not in token
    cursor = decode_cursor(token, expected_fingerprint=fp, max_offset=1000)
    assert cursor == Cursor(offset=40, fingerprint=fp, as_of=AS_OF)


def test_it_gives_the_same_fingerprint_whatever_the_key_order() -> None:
    assert fingerprint({"a": 1, "b": None}) == fingerprint({"b": None, "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_it_refuses_a_cursor_issued_for_other_filters() -> None:
    token = encode_cursor(Cursor(offset=20, fingerprint=fingerprint({"a": 1}), as_of=AS_OF))
    with pytest.raises(ApiError) as caught:
        decode_cursor(token, expected_fingerprint=fingerprint({"a": 2}), max_offset=1000)
    assert caught.value.status == 422
    assert caught.value.fields[0].field == "query.cursor"
    assert "other filters" in caught.value.fields[0].problem


@pytest.mark.parametrize(
    "token",
    [
        "not-base64-$$$",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(json.dumps({"v": 9, "o": 1, "f": "x", "t": AS_OF.isoformat()}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"v": 1, "o": -5, "f": "x", "t": AS_OF.isoformat()}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"v": 1, "o": 10**12, "f": "x", "t": AS_OF.isoformat()}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"v": 1, "o": True, "f": "x", "t": AS_OF.isoformat()}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"v": 1, "o": 1, "f": "x", "t": "yesterday"}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"v": 1, "o": 1, "f": "x", "t": "2025-01-01T00:00:00"}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"v": 1, "o": 1, "f": "x"}).encode()).decode(),
        "",
        "\udcff",
    ],
)
def test_it_refuses_tokens_it_did_not_issue(token: str) -> None:
    with pytest.raises(ApiError) as caught:
        decode_cursor(token, expected_fingerprint="x", max_offset=1000)
    assert caught.value.status == 422
    assert caught.value.fields[0].field == "query.cursor"
