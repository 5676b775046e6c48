"""Legal facts as data: how a contract was awarded, the direct-award limits, business days.

The numbers live in ``data/legal.json`` (limits by year and law, amendment caps, publication
deadlines, national holidays); this module only reads them. :func:`award_info` reads
``modalidadeCompra`` and ``fundamentoLegal`` (free text such as "Lei nº 14.133/2021, art. 75,
inciso II") into a kind of award, a law and an inciso. :func:`business_days_after` counts
business days with a precomputed cumulative table, so it costs two lookups per contract.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from shared.detection.text import fold, load_table

LAW_14133 = "lei_14133"
LAW_8666 = "lei_8666"
DISPENSA, INEXIGIBILIDADE, COMPETITIVE = "dispensa", "inexigibilidade", "competitive"

_ARTICLE = re.compile(r"\bart(?:igo)?\s*(\d+)")
_INCISO = re.compile(r"\b(?:inciso|inc)\s+([ivxl]+)\b|\bart(?:igo)?\s*\d+\s+([ivxl]+)\b")


@dataclass(frozen=True, slots=True)
class AwardInfo:
    """How a contract was awarded, as far as its text says."""

    kind: str | None  # dispensa, inexigibilidade, competitive, or None when nothing says
    law: str | None  # lei_14133, lei_8666 or None
    article: int | None
    inciso: str | None  # roman numeral, upper case
    modality_group: str  # pregao, concorrencia, dispensa, inexigibilidade, outra, desconhecida

    @property
    def direct(self) -> bool:
        return self.kind in (DISPENSA, INEXIGIBILIDADE)

    @property
    def value_based_dispensa(self) -> bool:
        """A dispensa by value (art. 75 I/II, or art. 24 I/II of the old law), or one whose inciso is unknown."""
        return self.kind == DISPENSA and (self.inciso is None or self.inciso in ("I", "II"))


@lru_cache(maxsize=20_000)
def award_info(modalidade: str | None, fundamento: str | None) -> AwardInfo:
    mod, fund = fold(modalidade), fold(fundamento)
    law = LAW_8666 if ("8666" in fund.replace(" ", "") or "8 666" in fund) else None
    if "14133" in fund.replace(" ", "") or "14 133" in fund:
        law = LAW_14133
    article_match = _ARTICLE.search(fund)
    article = int(article_match.group(1)) if article_match else None
    inciso_match = _INCISO.search(fund)
    inciso = (inciso_match.group(1) or inciso_match.group(2)).upper() if inciso_match else None
    if "dispensa" in mod or "dispensa" in fund:
        kind: str | None = DISPENSA
    elif "inexigib" in mod or "inexigib" in fund:
        kind = INEXIGIBILIDADE
    elif article in (75, 24) and law in (LAW_14133, LAW_8666):
        kind = DISPENSA if (article == 75) == (law == LAW_14133) else None
    elif article in (74, 25) and law in (LAW_14133, LAW_8666):
        kind = INEXIGIBILIDADE if (article == 74) == (law == LAW_14133) else None
    elif mod:
        kind = COMPETITIVE
    else:
        kind = None
    if kind is None and not mod:
        group = "desconhecida"
    elif kind in (DISPENSA, INEXIGIBILIDADE):
        group = kind
    elif "pregao" in mod:
        group = "pregao"
    elif "concorrencia" in mod:
        group = "concorrencia"
    else:
        group = "outra"
    return AwardInfo(kind, law, article, inciso, group)


@dataclass(frozen=True, slots=True)
class DispensaLimit:
    value: float
    law: str
    inciso: str
    source: str
    law_assumed: bool  # the text did not name the law; it was inferred from the date


@lru_cache(maxsize=1)
def _legal() -> dict[str, Any]:
    return load_table("legal.json")


def dispensa_limit(award: AwardInfo, signed: date, works: bool) -> DispensaLimit | None:
    """The value limit a dispensa by value had to respect, or None when no table covers the date."""
    table = _legal()["dispensa_limits"]
    inciso = award.inciso if award.inciso in ("I", "II") else ("I" if works else "II")
    law, assumed = award.law, award.law is None
    if law is None:
        # Both laws coexisted from 2021-04-01 to 2023-12-30; an unnamed law then is read as the new one.
        law = LAW_8666 if signed < date.fromisoformat(table[LAW_14133]["in_force_from"]) else LAW_14133
    if law == LAW_14133:
        row = table[LAW_14133]["by_year"].get(str(signed.year))
        if row is None:
            return None
        return DispensaLimit(float(row[inciso]), law, inciso, row["source"], assumed)
    periods = table[LAW_8666]["periods"]
    starts = [date.fromisoformat(p["from"]) for p in periods]
    index = bisect_right(starts, signed) - 1
    if index < 0:
        return None
    return DispensaLimit(float(periods[index][inciso]), law, inciso, periods[index]["source"], assumed)


def amendment_caps() -> tuple[float, float]:
    caps = _legal()["amendment_caps"]
    return float(caps["default"]), float(caps["renovation"])


def publication_deadlines() -> tuple[int, int]:
    table = _legal()["publication_deadlines"]
    return int(table["default_business_days"]), int(table["direct_award_business_days"])


def _easter(year: int) -> date:
    # Anonymous Gregorian algorithm (Meeus/Jones/Butcher).
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def national_holidays(year: int) -> set[date]:
    table = _legal()["national_holidays"]
    days = set()
    for row in table["fixed"]:
        if year >= row.get("from_year", 0):
            month, day = (int(x) for x in row["month_day"].split("-"))
            days.add(date(year, month, day))
    easter = _easter(year)
    days.update(easter + timedelta(days=offset) for offset in table["easter_offsets"])
    return days


_FIRST_YEAR, _LAST_YEAR = 1990, 2040


@lru_cache(maxsize=1)
def _business_index() -> tuple[int, list[int]]:
    """Cumulative business-day counts per calendar day, so a span costs two lookups."""
    start = date(_FIRST_YEAR, 1, 1)
    holidays: set[date] = set()
    for year in range(_FIRST_YEAR, _LAST_YEAR + 1):
        holidays |= national_holidays(year)
    counts, total, day = [], 0, start
    while day.year <= _LAST_YEAR:
        if day.weekday() < 5 and day not in holidays:
            total += 1
        counts.append(total)
        day += timedelta(days=1)
    return start.toordinal(), counts


def business_days_after(start: date, end: date) -> int | None:
    """Business days in (start, end]: weekdays that are not national holidays. None outside the table."""
    base, counts = _business_index()
    i, j = start.toordinal() - base, end.toordinal() - base
    if i < 0 or j < 0 or i >= len(counts) or j >= len(counts):
        return None
    return counts[j] - counts[i]
