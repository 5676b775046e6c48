"""A batch of contracts prepared once for every indicator: parallel columns, not per-indicator parsing.

Converting Decimal money to float, reading the object class from ``objeto`` and the kind of award
from ``modalidadeCompra``/``fundamentoLegal`` and the legal regime happen once per contract here (the text lookups are
cached per distinct text), and each indicator walks the columns it needs. Columns are plain lists
indexed like ``contracts``, which keeps a million contracts within a few hundred megabytes.
A contract id seen twice keeps its last version, so re-sent records are not counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from shared.detection.legal import AwardInfo, Regime, award_info, regime_of
from shared.detection.text import ObjectInfo, object_info
from shared.domain import Contract


@dataclass(slots=True)
class Batch:
    contracts: list[Contract]
    value: list[float | None]  # valor_inicial as float, None when missing
    year: list[int | None]  # year of data_assinatura
    obj: list[ObjectInfo]
    award: list[AwardInfo]
    regime: list[Regime]
    focus: set[int] | None = None  # ids to report on; the others only inform baselines and groups
    _reportable: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.contracts)

    def reportable(self, index: int) -> bool:
        return self._reportable[index] if self._reportable else True

    def rows(self) -> Iterator[tuple[int, Contract]]:
        """(index, contract) for the contracts to report on: all of them, or those in ``focus``."""
        if not self._reportable:
            return enumerate(self.contracts)
        flags = self._reportable
        return ((i, c) for i, c in enumerate(self.contracts) if flags[i])


def prepare(contracts: Iterable[Contract], *, focus: Iterable[int] | None = None) -> Batch:
    """Columns for ``contracts`` (last version wins per id), in ascending id order for determinism."""
    by_id: dict[int, Contract] = {}
    for contract in contracts:
        by_id[contract.id] = contract
    ordered = [by_id[key] for key in sorted(by_id)]
    values: list[float | None] = []
    years: list[int | None] = []
    objs: list[ObjectInfo] = []
    awards: list[AwardInfo] = []
    regimes: list[Regime] = []
    add_value, add_year, add_obj, add_award = values.append, years.append, objs.append, awards.append
    add_regime = regimes.append
    for c in ordered:
        v = c.valor_inicial
        add_value(float(v) if v is not None else None)
        d = c.data_assinatura
        add_year(d.year if d is not None else None)
        add_obj(object_info(c.objeto))
        award = award_info(c.modalidade_compra, c.fundamento_legal)
        add_award(award)
        add_regime(regime_of(award, c.modalidade_compra, d))
    focus_set = set(focus) if focus is not None else None
    reportable = [c.id in focus_set for c in ordered] if focus_set is not None else []
    return Batch(ordered, values, years, objs, awards, regimes, focus_set, reportable)

