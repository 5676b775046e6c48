"""The date window a sweep asks the Portal for.

``/contratos`` filters ``dataInicial``/``dataFinal`` on the *vigência* period: it returns every
contract in force at some point of the window, not the ones signed in it. So the window starts
at the lookback (6 h before now, as a date in Brasília time) and ends well in the future, since
a contract signed today may only start its vigência next month and must be seen now. After an
outage the start reaches back to the last successful run of the same schedule (up to a month),
so contracts whose vigência ended while nothing ran are not skipped. The upsert's content hash
then keeps only what is new or changed for analysis, so the overlap costs requests, not work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

FORWARD_DAYS = 180
MAX_CATCH_UP = timedelta(days=31)
# The previous run's start minus this margin: its requests were spread over its whole duration.
CATCH_UP_MARGIN = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Window:
    data_inicial: date
    data_final: date

    def as_params(self) -> dict[str, str]:
        return {"data_inicial": self.data_inicial.isoformat(), "data_final": self.data_final.isoformat()}

    @classmethod
    def from_params(cls, params: dict[str, str]) -> Window:
        return cls(date.fromisoformat(params["data_inicial"]), date.fromisoformat(params["data_final"]))


def sweep_window(
    now: datetime,
    *,
    lookback_hours: int,
    timezone: str,
    last_success_started: datetime | None = None,
    forward_days: int = FORWARD_DAYS,
) -> Window:
    if lookback_hours < 1:
        raise ValueError(f"lookback_hours must be at least 1, got {lookback_hours}")
    tz = ZoneInfo(timezone)
    start = now - timedelta(hours=lookback_hours)
    if last_success_started is not None:
        start = min(start, max(last_success_started - CATCH_UP_MARGIN, now - MAX_CATCH_UP))
    today = now.astimezone(tz).date()
    return Window(start.astimezone(tz).date(), today + timedelta(days=forward_days))
