"""Page and cursor pagination over the store's ``limit``/``offset`` listing.

A cursor is an opaque token holding the next offset, a fingerprint of the filters, sort and page
size it was issued for, and the time the first page was read. Later pages only see
investigations created up to that time, so rows arriving while a client walks the list do not
shift it and repeat items. A cursor used with other filters is refused, naming the field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.api.errors import invalid

CURSOR_VERSION = 1


@dataclass(frozen=True)
class Cursor:
    offset: int
    fingerprint: str
    as_of: datetime


def fingerprint(values: dict[str, Any]) -> str:
    text = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def encode_cursor(cursor: Cursor) -> str:
    payload = {"v": CURSOR_VERSION, "o": cursor.offset, "f": cursor.fingerprint, "t": cursor.as_of.isoformat()}
    raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(token: str, *, expected_fingerprint: str, max_offset: int) -> Cursor:
    """The cursor in ``token``, or a 422 on ``query.cursor`` saying why it cannot be used."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, dict) or payload.get("v") != CURSOR_VERSION:
            raise ValueError("unknown cursor version")
        offset, issued_for, as_of = payload["o"], payload["f"], datetime.fromisoformat(payload["t"])
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= max_offset:
            raise ValueError("offset out of range")
        if not isinstance(issued_for, str) or as_of.tzinfo is None:
            raise ValueError("malformed cursor")
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError, OverflowError):
        raise invalid("query.cursor", "is not a cursor this API issued; start again without one") from None
    if issued_for != expected_fingerprint:
        raise invalid(
            "query.cursor", "was issued for other filters, sort or page size; repeat those or start again without a cursor"
        )
    return Cursor(offset=offset, fingerprint=issued_for, as_of=as_of.astimezone(UTC))
