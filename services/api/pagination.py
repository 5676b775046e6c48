"""Keyset cursors for the investigation list.

A cursor is an opaque token holding where the previous page ended (the sort key's value and the
id of its last row), the sort it was issued for, a fingerprint of the filters, sort and page size,
and the time the first page was read. The next page is "rows after that one" in the sort order,
one index range however deep the walk (no OFFSET), and only investigations created up to that
time, so rows arriving while a client walks the list do not show up halfway. A cursor used with
other filters is refused, naming the field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from services.api.errors import invalid
from shared.store.base import Keyset

CURSOR_VERSION = 2


@dataclass(frozen=True)
class Cursor:
    after: Keyset
    sort: str
    fingerprint: str
    as_of: datetime


def fingerprint(values: dict[str, Any]) -> str:
    text = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def encode_cursor(cursor: Cursor) -> str:
    value = cursor.after.value
    key = value.isoformat() if isinstance(value, datetime) else value
    payload = {
        "v": CURSOR_VERSION, "s": cursor.sort, "k": key, "i": cursor.after.id, "f": cursor.fingerprint,
        "t": cursor.as_of.isoformat(),
    }
    raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _key(sort: str, raw: Any) -> datetime | float | None:
    if sort.lstrip("-") == "created_at":
        if not isinstance(raw, str):
            raise ValueError("created_at key must be a timestamp")
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            raise ValueError("naive timestamp")
        return value
    if raw is None:
        return None  # the walk reached the unscored rows
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValueError("risk key must be a finite number or null")
    return float(raw)


def decode_cursor(token: str, *, expected_fingerprint: str, sort: str) -> Cursor:
    """The cursor in ``token``, or a 422 on ``query.cursor`` saying why it cannot be used."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, dict) or payload.get("v") != CURSOR_VERSION:
            raise ValueError("unknown cursor version")
        issued_sort, issued_for, as_of = payload["s"], payload["f"], datetime.fromisoformat(payload["t"])
        if not isinstance(issued_for, str) or not isinstance(issued_sort, str) or as_of.tzinfo is None:
            raise ValueError("malformed cursor")
        row_id = str(UUID(str(payload["i"])))
        value = _key(issued_sort, payload["k"])
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError, OverflowError, AttributeError):
        raise invalid("query.cursor", "is not a cursor this API issued; start again without one") from None
    if issued_for != expected_fingerprint or issued_sort != sort:
        raise invalid(
            "query.cursor", "was issued for other filters, sort or page size; repeat those or start again without a cursor"
        )
    return Cursor(after=Keyset(value=value, id=row_id), sort=issued_sort, fingerprint=issued_for,
                  as_of=as_of.astimezone(UTC))
