"""The prompt carries only the findings' numbers, and the guard catches invented ones."""

from __future__ import annotations

from shared.llm.groq import parse_duration, retry_after_from
from shared.llm.prompt import clean_answer, invented_numbers


def _messages(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_it_accepts_numbers_written_in_another_format() -> None:
    given = _messages("valor 1234567.89, limiar 0.125, 40 contratos")
    assert invented_numbers("R$ 1.234.567,89 e 12,5% em 40 contratos", given) == []


def test_it_names_numbers_the_model_added() -> None:
    given = _messages("valor 1234567.89")
    assert invented_numbers("valor 1.234.567,89 em 2019 com 7 aditivos", given) == ["2019", "7"]


def test_it_strips_quotes_and_spacing_from_answers() -> None:
    assert clean_answer('  "Um  texto.\n"  ') == "Um texto."


def test_it_reads_go_durations_and_seconds() -> None:
    assert parse_duration("2m59.56s") == 179.56
    assert parse_duration("7.66s") == 7.66
    assert parse_duration("120ms") == 0.12
    assert parse_duration("30") == 30.0
    assert parse_duration("soon") is None
    assert retry_after_from({"x-ratelimit-reset-requests": "1m", "x-ratelimit-reset-tokens": "5s"}) == 60.0
