"""The sweep window: lookback in Brasília dates, a forward horizon, and catch-up after an outage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.pipeline.windows import FORWARD_DAYS, MAX_CATCH_UP, Window, sweep_window

NOW = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)  # 23:30 on the 9th in America/Sao_Paulo


def test_it_starts_at_the_lookback_as_a_brasilia_date() -> None:
    window = sweep_window(NOW, lookback_hours=6, timezone="America/Sao_Paulo")
    assert window.data_inicial == date(2026, 3, 9)
    assert window.data_final == date(2026, 3, 9) + timedelta(days=FORWARD_DAYS)


def test_it_reaches_back_to_the_last_successful_run_after_an_outage() -> None:
    last = NOW - timedelta(days=3)
    window = sweep_window(NOW, lookback_hours=6, timezone="America/Sao_Paulo", last_success_started=last)
    assert window.data_inicial == (last - timedelta(hours=1) - timedelta(hours=3)).date()


def test_it_catches_up_a_month_at_most() -> None:
    window = sweep_window(NOW, lookback_hours=6, timezone="America/Sao_Paulo",
                          last_success_started=NOW - timedelta(days=200))
    assert window.data_inicial == (NOW - MAX_CATCH_UP - timedelta(hours=3)).date()


def test_it_keeps_the_lookback_when_the_last_run_was_recent() -> None:
    window = sweep_window(NOW, lookback_hours=48, timezone="America/Sao_Paulo",
                          last_success_started=NOW - timedelta(hours=6))
    assert window.data_inicial == date(2026, 3, 7)


def test_it_round_trips_through_task_parameters() -> None:
    window = Window(date(2026, 1, 1), date(2026, 7, 1))
    assert Window.from_params(window.as_params()) == window


def test_it_refuses_a_lookback_under_one_hour() -> None:
    with pytest.raises(ValueError, match="lookback_hours"):
        sweep_window(NOW, lookback_hours=0, timezone="America/Sao_Paulo")
