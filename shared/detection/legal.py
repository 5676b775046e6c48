"""Legal facts as data: the regime of a contract, how it was awarded, limits, deadlines, business days.

The numbers live in ``data/legal.json`` (limits by year and law, amendment caps, publication
deadlines, national holidays); this module only reads them. :func:`award_info` reads
``modalidadeCompra`` and ``fundamentoLegal`` (free text such as "Lei nº 14.133/2021, art. 75,
inciso II") into a kind of award, a law and an inciso. :func:`regime_of` decides which of the
three federal regimes governs the contract and from which field:

* Lei 14.133/2021 (https://www.planalto.gov.br/ccivil_03/_ato2019-2022/2021/lei/l14133.htm), in
  force since 2021-04-01; its art. 191 (as amended by Lei Complementar 198/2023) let the
  administration still choose the old laws for an edital or ato autorizativo published up to
  2023-12-29 (the old laws were revoked on 2023-12-30, art. 193 II), and art. 191 §1º keeps a
  contract so chosen under the old law for its whole vigência, even when signed later;
* Lei 8.666/1993 (https://www.planalto.gov.br/ccivil_03/leis/l8666cons.htm) with Lei 10.520/2002
  for pregão (https://www.planalto.gov.br/ccivil_03/leis/2002/l10520.htm);
* Lei 13.303/2016 (https://www.planalto.gov.br/ccivil_03/_ato2015-2018/2016/lei/l13303.htm), for
  empresas públicas and sociedades de economia mista.

The order is ``fundamentoLegal`` (it names the law), then the modality text (convite and tomada
de preços exist only in Lei 8.666; diálogo competitivo only in Lei 14.133), then the signature
date (before 2021-04-01: Lei 8.666; from 2024-01-01: Lei 14.133; in between both were lawful, so
Lei 8.666 is presumed and the finding says it was presumed). :func:`business_days_after` counts
business days with a precomputed cumulative table, so it costs two lookups per contract;
:func:`art61_deadline` is Lei 8.666 art. 61 parágrafo único read with art. 110 (consecutive days,
a deadline that falls on a day without expediente moves to the next business day).
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
LAW_13303 = "lei_13303"
LAW_LABEL = {LAW_14133: "Lei 14.133/2021", LAW_8666: "Lei 8.666/1993", LAW_13303: "Lei 13.303/2016"}
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


# Modality texts the Portal sends when it does not know: unknown, never "competitive".
_UNKNOWN_MODALITY = ("nao se aplica", "sem informacao", "nao informad", "nao identificad")


@lru_cache(maxsize=20_000)
def award_info(modalidade: str | None, fundamento: str | None) -> AwardInfo:
    mod, fund = fold(modalidade), fold(fundamento)
    if any(term in mod for term in _UNKNOWN_MODALITY):
        mod = ""
    compact = fund.replace(" ", "")
    law = LAW_8666 if ("8666" in compact or "10520" in compact) else None
    if "14133" in compact:
        law = LAW_14133
    elif "13303" in compact:
        law = LAW_13303
    article_match = _ARTICLE.search(fund)
    article = int(article_match.group(1)) if article_match else None
    inciso_match = _INCISO.search(fund)
    inciso = (inciso_match.group(1) or inciso_match.group(2)).upper() if inciso_match else None
    if "dispensa" in mod or "dispensa" in fund:
        kind: str | None = DISPENSA
    elif "inexigib" in mod or "inexigib" in fund:
        kind = INEXIGIBILIDADE
    elif (law, article) in ((LAW_14133, 75), (LAW_8666, 24), (LAW_13303, 29)):
        kind = DISPENSA
    elif (law, article) in ((LAW_14133, 74), (LAW_8666, 25), (LAW_13303, 30)):
        kind = INEXIGIBILIDADE
    elif article in (74, 75, 24, 25, 29, 30) and law is not None:
        kind = None
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


NEW_LAW_FROM = date(2021, 4, 1)
OLD_LAW_CHOICE_UNTIL = date(2023, 12, 30)
_OLD_ONLY_MODALITIES = ("convite", "tomada de precos")
_NEW_ONLY_MODALITIES = ("dialogo competitivo",)


@dataclass(frozen=True, slots=True)
class Regime:
    """The law that governs one contract and how that was decided."""

    law: str  # lei_14133, lei_8666 or lei_13303
    source: str  # fundamentoLegal, modalidadeCompra or dataAssinatura
    presumed: bool  # decided by the date alone (or no date at all)

    @property
    def label(self) -> str:
        return LAW_LABEL[self.law]

    def sentence(self) -> str:
        """pt-BR: which law was assumed and why, for the end of an explanation."""
        if self.source == "fundamentoLegal":
            return f"Regime: {self.label}, conforme o fundamento legal do contrato."
        if self.source == "modalidadeCompra":
            return f"Regime: {self.label}, deduzido da modalidade de compra."
        if self.source == "dataAssinatura":
            return f"Regime presumido: {self.label}, pela data de assinatura (o fundamento legal não o informa)."
        return f"Regime presumido: {self.label} (sem fundamento legal, modalidade ou data que o indiquem)."

    def as_baseline(self) -> dict[str, object]:
        return {"regime": self.law, "regime_fonte": self.source, "regime_presumido": self.presumed}


@lru_cache(maxsize=20_000)
def _regime(law: str | None, modalidade: str | None, period: int) -> Regime:
    if law is not None:
        return Regime(law, "fundamentoLegal", False)
    mod = fold(modalidade)
    if any(term in mod for term in _OLD_ONLY_MODALITIES):
        return Regime(LAW_8666, "modalidadeCompra", False)
    if any(term in mod for term in _NEW_ONLY_MODALITIES):
        return Regime(LAW_14133, "modalidadeCompra", False)
    if period < 0:
        return Regime(LAW_14133, "desconhecido", True)
    return Regime(LAW_8666 if period < 2 else LAW_14133, "dataAssinatura", True)


def regime_of(award: AwardInfo, modalidade: str | None, signed: date | None) -> Regime:
    """The regime of a contract: ``fundamentoLegal``, then the modality text, then the date."""
    if signed is None:
        period = -1
    elif signed < NEW_LAW_FROM:
        period = 0
    elif signed <= OLD_LAW_CHOICE_UNTIL:
        period = 1  # both laws lawful: the old one was still the common choice
    else:
        period = 2
    return _regime(award.law, modalidade, period)


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


def dispensa_limit(award: AwardInfo, signed: date, works: bool, regime: Regime | None = None) -> DispensaLimit | None:
    """The value limit a dispensa by value had to respect, or None when no table covers the date."""
    table = _legal()["dispensa_limits"]
    inciso = award.inciso if award.inciso in ("I", "II") else ("I" if works else "II")
    law, assumed = award.law, award.law is None
    if law is None:
        law = regime.law if regime is not None else (
            LAW_8666 if signed < date.fromisoformat(table[LAW_14133]["in_force_from"]) else LAW_14133)
    if law == LAW_13303:
        row = table[LAW_13303]
        return DispensaLimit(float(row[inciso]), law, inciso, row["source"], assumed)
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


def art61_deadline(signed: date) -> date | None:
    """Lei 8.666 art. 61 parágrafo único: the 5th business day of the month after signature plus
    20 consecutive days (art. 110), moved to the next business day when it falls on a day without
    expediente (art. 110 parágrafo único). None outside the calendar table."""
    return _art61_deadline(signed.year, signed.month)


@lru_cache(maxsize=1024)
def _art61_deadline(year: int, month: int) -> date | None:
    # The deadline depends on the month of signature only.
    table = _legal()["publication_deadlines"]
    nth, extra = int(table["lei_8666_business_day_of_next_month"]), int(table["lei_8666_days_after"])
    first = date(year + month // 12, month % 12 + 1, 1)
    fifth = nth_business_day(first, nth)
    if fifth is None:
        return None
    return next_business_day(fifth + timedelta(days=extra))


def nth_business_day(first: date, n: int) -> date | None:
    """The n-th business day on or after ``first``."""
    base, counts = _business_index()
    i = first.toordinal() - base
    if i < 1 or i >= len(counts):
        return None
    target = counts[i - 1] + n
    j = bisect_right(counts, target - 1, lo=i)
    return date.fromordinal(base + j) if j < len(counts) else None


def next_business_day(day: date) -> date | None:
    """``day`` itself when it is a business day, else the next one."""
    return nth_business_day(day, 1)


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
