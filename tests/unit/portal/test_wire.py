"""The wire facts the client and the simulator share: dates, documents, months."""

from __future__ import annotations

from datetime import date

import pytest

from shared.portal.wire import add_months, digits, format_date, parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2024-03-05", date(2024, 3, 5)), ("05/03/2024", date(2024, 3, 5)), ("5/3/2024", date(2024, 3, 5)),
     ("2024-03-05T00:00:00", date(2024, 3, 5)), ("2024-03-05T10:00:00-03:00", date(2024, 3, 5)),
     ("", None), (None, None)],
)
def test_it_reads_iso_and_brazilian_dates(text: str | None, expected: date | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["31/02/2024", "2024-13-01", "03-05-2024", "ontem", 20240305])
def test_it_names_the_value_of_a_date_it_cannot_read(text: object) -> None:
    with pytest.raises(ValueError, match="2024|ontem|date"):
        parse_date(text)


def test_it_formats_query_dates_as_dd_mm_aaaa() -> None:
    assert format_date(date(2024, 1, 9)) == "09/01/2024"


def test_it_keeps_only_the_digits_of_a_document() -> None:
    assert digits("12.345.678/0001-90") == "12345678000190"
    assert digits(None) == ""


def test_it_adds_months_clamping_to_the_last_day() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 12, 15), 1) == date(2024, 1, 15)
    assert add_months(date(2024, 3, 31), 1) == date(2024, 4, 30)
