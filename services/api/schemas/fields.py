"""Field types shared by the request models, each bounded so no client value can fail in the database.

PostgreSQL rejects text holding NUL bytes and lone UTF-16 surrogates, and ``bigint`` stops at
2**63-1; values past those limits would surface as 500s, so they are refused here as 422s naming
the field instead.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

# Ids above JavaScript's Number.MAX_SAFE_INTEGER would lose digits in browsers; bigint holds them all.
ID_MAX = 2**53 - 1

ORGAO_PATTERN = r"^[0-9]{5}$"
INDICATOR_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


def _printable(value: str) -> str:
    for char in value:
        code = ord(char)
        if (code < 0x20 and char not in "\n\r\t") or code == 0x7F:
            raise ValueError("must not contain control characters")
        if 0xD800 <= code <= 0xDFFF:
            raise ValueError("must not contain unpaired surrogate characters")
    return value


_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:?\d{2})?$")


def _iso_datetime_text(value: object) -> object:
    # pydantic would also take a number (Unix time) or a bare date; the schema promises ISO 8601.
    if isinstance(value, str) and not _DATETIME.match(value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2025-01-31T00:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime_text)]

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day_start(value: object) -> object:
    """A plain date (2026-01-31) as a lower bound: the start of that day, UTC."""
    if isinstance(value, str) and _DAY.match(value):
        return f"{value}T00:00:00Z"
    return _iso_datetime_text(value)


def _day_end(value: object) -> object:
    """A plain date as an upper bound: the whole of that day is included, UTC."""
    if isinstance(value, str) and _DAY.match(value):
        return f"{value}T23:59:59.999999Z"
    return _iso_datetime_text(value)


# Query bounds: an ISO 8601 date-time, or a plain date meaning the start (From) or end (To) of the day.
IsoDateTimeFrom = Annotated[datetime, BeforeValidator(_day_start)]
IsoDateTimeTo = Annotated[datetime, BeforeValidator(_day_end)]

ContractId = Annotated[int, Field(ge=1, le=ID_MAX, strict=True, description="A Portal da Transparência contract id.")]
OrgaoCodigo = Annotated[
    str, Field(pattern=ORGAO_PATTERN, description="SIAFI órgão code (5 digits), e.g. 26000.", examples=["26000"])
]
# The pattern publishes the control-character rule in the schema; surrogates cannot be said there.
NOTE_PATTERN = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$"
Note = Annotated[str, Field(min_length=1, max_length=2000, pattern=NOTE_PATTERN), AfterValidator(_printable)]

# Sentences for a value that misses one of the patterns above (the regex itself helps nobody).
PATTERN_PROBLEMS = {
    ORGAO_PATTERN: "must be a SIAFI órgão code of 5 digits, e.g. 26000",
    INDICATOR_PATTERN: "must be an indicator code: lowercase letters, digits and _, e.g. direct_award_high_value",
    NOTE_PATTERN: "must not contain control characters",
}
