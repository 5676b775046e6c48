"""The simulator's data, indexed the way the API is queried, and amendable at runtime.

:class:`Catalog` wraps a :class:`~shared.portal.simulator.data.SimDataset`: contracts by órgão
(``unidadeGestora.orgaoVinculado.codigoSIAFI``) with their vigência precomputed, by id and by
supplier document; sanctions; licitações by órgão. :class:`StreamedOrgao` serves a huge órgão
(100 000 contracts for the memory benchmark) from a generator without ever holding it: a cursor
follows sequential page requests and restarts only when asked to go back.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Any

from shared.portal.simulator.data import SimDataset
from shared.portal.wire import PAGE_SIZE, digits, parse_date


def _lenient_date(value: object) -> date | None:
    try:
        return parse_date(value)
    except ValueError:
        return None


def orgao_of(record: dict[str, Any]) -> str | None:
    ug = record.get("unidadeGestora")
    if not isinstance(ug, dict):
        return None
    orgao = ug.get("orgaoVinculado")
    return str(orgao.get("codigoSIAFI")) if isinstance(orgao, dict) and orgao.get("codigoSIAFI") else None


@dataclass(slots=True)
class _Entry:
    record: dict[str, Any]
    start: date | None
    end: date | None


def in_window(start: date | None, end: date | None, data_inicial: date | None, data_final: date | None) -> bool:
    """Whether a vigência [start, end] overlaps the asked window (open ends stretch forever)."""
    if data_inicial is None and data_final is None:
        return True
    if start is None and end is None:
        return False
    if data_final is not None and start is not None and start > data_final:
        return False
    return not (data_inicial is not None and end is not None and end < data_inicial)


def page_slice(items: Sequence[Any], page: int, overlap: int = 0) -> list[Any]:
    first = (page - 1) * (PAGE_SIZE - overlap)
    return list(items[first : first + PAGE_SIZE])


class StreamedOrgao:
    """An órgão whose contracts come from ``factory()`` one at a time (constant memory)."""

    def __init__(self, codigo: str, total: int, factory: Callable[[], Iterator[dict[str, Any]]]) -> None:
        self.codigo = codigo
        self.total = total
        self._factory = factory
        self._lock = threading.Lock()
        self._iterator: Iterator[dict[str, Any]] | None = None
        self._position = 0  # index of the next record the iterator yields
        self._recent: deque[dict[str, Any]] = deque(maxlen=PAGE_SIZE)  # the last records served
        self._filter: tuple[date | None, date | None] | None = None

    def page(self, page: int, data_inicial: date | None, data_final: date | None, overlap: int = 0) -> list[Any]:
        first = (page - 1) * (PAGE_SIZE - overlap)
        with self._lock:
            window = (data_inicial, data_final)
            buffered_from = self._position - len(self._recent)
            if self._iterator is None or window != self._filter or first < buffered_from:
                self._iterator = self._filtered(*window)
                self._position, self._filter = 0, window
                self._recent.clear()
                buffered_from = 0
            # Overlapping pages re-serve the tail of the previous page from the small buffer.
            records = list(self._recent)[first - buffered_from :] if first < self._position else []
            if first > self._position:  # a jump forward: skip without keeping
                for _ in islice(self._iterator, first - self._position):
                    pass
                self._position = first
                self._recent.clear()
            for record in islice(self._iterator, PAGE_SIZE - len(records)):
                records.append(record)
                self._recent.append(record)
                self._position += 1
            return records

    def _filtered(self, data_inicial: date | None, data_final: date | None) -> Iterator[dict[str, Any]]:
        for record in self._factory():
            start = _lenient_date(record.get("dataInicioVigencia"))
            end = _lenient_date(record.get("dataFimVigencia"))
            if in_window(start, end, data_inicial, data_final):
                yield record


class Catalog:
    def __init__(self, dataset: SimDataset, *, streamed: Sequence[StreamedOrgao] = ()) -> None:
        self.dataset = dataset
        self._lock = threading.RLock()
        self.by_id: dict[int, _Entry] = {}
        self.by_orgao: dict[str, list[_Entry]] = defaultdict(list)
        self.by_supplier: dict[str, list[_Entry]] = defaultdict(list)
        self._in_window: dict[tuple[str, date | None, date | None], list[_Entry]] = {}
        for record in sorted(dataset.contracts, key=lambda r: int(r.get("id") or 0)):
            entry = _Entry(record, _lenient_date(record.get("dataInicioVigencia")),
                           _lenient_date(record.get("dataFimVigencia")))
            if isinstance(record.get("id"), int):
                self.by_id[record["id"]] = entry
            code = orgao_of(record)
            if code:
                self.by_orgao[code].append(entry)
            fornecedor = record.get("fornecedor") or {}
            document = digits(fornecedor.get("cnpjFormatado") or fornecedor.get("cpfFormatado"))
            if document:
                self.by_supplier[document].append(entry)
        self.licitacoes_by_orgao: dict[str, list[tuple[date | None, dict[str, Any]]]] = defaultdict(list)
        for record in dataset.licitacoes:
            code = orgao_of(record) or str(record.get("codigoOrgao") or "")
            self.licitacoes_by_orgao[code].append((_lenient_date(record.get("dataAbertura")), record))
        self.streamed = {s.codigo: s for s in streamed}
        self.orgaos = list(dataset.orgaos)
        known = {str(o.get("codigo")) for o in self.orgaos}
        for code in self.streamed:
            if code not in known:
                self.orgaos.append({"codigo": code, "descricao": f"ORGAO SINTETICO GRANDE {code}"})

    @property
    def contract_count(self) -> int:
        return len(self.by_id) + sum(s.total for s in self.streamed.values())

    def contracts_page(
        self, codigo: str, page: int, data_inicial: date | None, data_final: date | None, overlap: int = 0
    ) -> list[dict[str, Any]]:
        if codigo in self.streamed:
            return self.streamed[codigo].page(page, data_inicial, data_final, overlap)
        key = (codigo, data_inicial, data_final)
        with self._lock:
            entries = self._in_window.get(key)
            if entries is None:
                # A sweep asks for the same window page after page: filter the órgão once per window
                # (until an amendment, which may move a vigência, empties this memo).
                entries = [e for e in self.by_orgao.get(codigo, ()) if in_window(e.start, e.end, data_inicial, data_final)]
                if len(self._in_window) >= 256:
                    self._in_window.clear()
                self._in_window[key] = entries
            return [e.record for e in page_slice(entries, page, overlap)]

    def supplier_page(self, document: str, page: int, overlap: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            records = [e.record for e in self.by_supplier.get(document, ())]
        return page_slice(records, page, overlap)

    def contract(self, contract_id: int) -> dict[str, Any] | None:
        entry = self.by_id.get(contract_id)
        return entry.record if entry else None

    def licitacoes_page(self, codigo: str, page: int, data_inicial: date, data_final: date) -> list[dict[str, Any]]:
        records = [r for opened, r in self.licitacoes_by_orgao.get(codigo, ())
                   if opened is not None and data_inicial <= opened <= data_final]
        return page_slice(records, page)

    def amend(self, contract_id: int, changes: dict[str, Any]) -> dict[str, Any] | None:
        """Replace fields of a contract (e.g. ``valorFinalCompra`` after a termo aditivo); None if unknown.

        The record is replaced, not edited in place, so an answer being written never sees half a change.
        """
        with self._lock:
            entry = self.by_id.get(contract_id)
            if entry is None:
                return None
            record = {**entry.record, **changes, "id": contract_id}
            entry.record = record
            entry.start = _lenient_date(record.get("dataInicioVigencia"))
            entry.end = _lenient_date(record.get("dataFimVigencia"))
            self._in_window.clear()
            return record
