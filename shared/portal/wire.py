"""The Portal's wire facts that the client and the simulator must agree on.

Page size, header names, and the two date formats the API uses (ISO ``yyyy-MM-dd`` in responses,
``DD/MM/AAAA`` in query parameters and sometimes in responses) live here once, so the simulator
cannot drift from what the client expects.
"""

from __future__ import annotations

import re
from datetime import date, datetime

PAGE_SIZE = 15  # the API has no page-size parameter; every full page holds 15 records
API_KEY_HEADER = "chave-api-dados"  # pragma: allowlist secret
# The simulator stamps every answer with this header so a production client can refuse it.
SIMULATOR_HEADER = "X-Vigia-Simulator"

_BR_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
_NON_DIGITS = re.compile(r"\D")


def parse_date(value: object) -> date | None:
    """A date from ``yyyy-MM-dd`` (optionally with a time part) or ``DD/MM/AAAA``; None for null/empty.

    Raises ValueError naming the value when it is neither format or not a real calendar date.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a date string, got {type(value).__name__} {value!r}")
    text = value.strip()
    if not text:
        return None
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        # plain yyyy-MM-dd, the Portal's usual form: the C parser, and the same errors as below
        try:
            return date.fromisoformat(text)
        except ValueError:
            if not _ISO_DATE.match(text):
                raise ValueError(f"{value!r} is neither yyyy-MM-dd nor DD/MM/AAAA") from None
            raise ValueError(f"{value!r} is not a calendar date") from None
    if match := _ISO_DATE.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _BR_DATE.match(text):
        day, month, year = (int(g) for g in match.groups())
    else:
        raise ValueError(f"{value!r} is neither yyyy-MM-dd nor DD/MM/AAAA")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date") from None


def format_date(value: date) -> str:
    """``DD/MM/AAAA``, the format every date query parameter of the API takes."""
    return value.strftime("%d/%m/%Y")


def digits(value: object) -> str:
    """Only the digits of a CPF/CNPJ (``12.345.678/0001-90`` -> ``12345678000190``)."""
    if value is None:
        return ""
    return _NON_DIGITS.sub("", str(value))


def add_months(value: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (31/01 + 1 -> 28 or 29/02)."""
    month_index = value.month - 1 + months
    year, month = value.year + month_index // 12, month_index % 12 + 1
    for day in (value.day, 30, 29, 28):
        try:
            return date(year, month, min(value.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")
