"""Contracts and sanctions through Supabase's REST API: upserts with ``on_conflict``.

A batch of contracts costs: one read of the batch's current hashes (``id=in.(...)``, in chunks
that keep URLs short), one upsert of the new and changed rows (``POST ?on_conflict=id`` with
``Prefer: resolution=merge-duplicates``; one request is one transaction, so the batch lands whole
or not at all, and the table's trigger keeps the previous versions), and one ``PATCH`` that marks
the unchanged ones as seen. Without row locks over REST, two workers upserting the same new
contract at once may both report it new; analysis is idempotent, so that costs a repeat, not an error.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from postgrest.types import CountMethod

from shared.domain import Contract, Sanction, Source, UpsertResult, utcnow
from shared.store.base import PeerBaseline, SanctionMirror, StoreError
from shared.store.rows import (
    CONTRACT_COLUMNS,
    contract_from_row,
    contract_values,
    dedupe_last,
    peer_baseline_from_json,
    sanction_from_row,
    sanction_values,
    validate_contract,
    validate_sanction,
    vigencia_of,
    without_nul,
)
from shared.store.supabase.core import IDS_PER_REQUEST, SupabaseCore

# numeric as text: a JSON number would pass through a float on the way
CONTRACT_SELECT = ",".join(f"{c}::text" if c in {"valor_inicial", "valor_final"} else c for c in CONTRACT_COLUMNS)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _chunks(items: Sequence[Any], size: int = IDS_PER_REQUEST) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ContractsMixin(SupabaseCore):
    def upsert_contracts(self, contracts: Sequence[Contract]) -> UpsertResult:
        if not contracts:
            return UpsertResult()
        for contract in contracts:
            validate_contract(contract)
        batch = dedupe_last(list(contracts), key=lambda c: c.id)
        values = [{k: _json_value(v) for k, v in contract_values(c).items()} for c in batch]
        ids = [v["id"] for v in values]
        detail = f"{len(batch)} contracts"
        previous: dict[int, str] = {}
        # partial binds each chunk's ids when the request is built (a lambda would see the loop variable).
        for chunk in _chunks(ids):
            response = self._call(
                "upsert_contracts", detail,
                partial(lambda chunk_ids: self.table("contracts").select("id,content_hash").in_("id", chunk_ids).execute(),
                        list(chunk)),
            )
            previous.update({int(row["id"]): row["content_hash"] for row in response.data})
        # in id order, so concurrent batches insert new ids in one order and cannot deadlock
        to_write = without_nul(sorted((v for v in values if previous.get(v["id"]) != v["content_hash"]),
                                      key=lambda v: v["id"]))
        unchanged = [v["id"] for v in values if previous.get(v["id"]) == v["content_hash"]]
        if to_write:
            self._call(
                "upsert_contracts", detail,
                lambda: self.table("contracts").upsert(to_write, on_conflict="id", returning="minimal").execute(),
            )
        seen_at = utcnow().isoformat()  # the trigger replaces it with the database's now()
        for chunk in _chunks(unchanged):
            self._call(
                "upsert_contracts", detail,
                partial(lambda chunk_ids: self.table("contracts").update({"last_seen_at": seen_at}, returning="minimal")
                        .in_("id", chunk_ids).execute(), list(chunk)),
            )
        result = UpsertResult()
        same = set(unchanged)
        for contract_id in ids:
            if contract_id not in previous:
                result.new.append(contract_id)
            elif contract_id in same:
                result.unchanged.append(contract_id)
            else:
                result.changed.append(contract_id)
        return result

    def get_contract(self, contract_id: int) -> Contract | None:
        response = self._call(
            "get_contract", str(contract_id),
            lambda: self.table("contracts").select(CONTRACT_SELECT).eq("id", int(contract_id)).execute(),
        )
        return contract_from_row(response.data[0]) if response.data else None

    def iter_contracts(
        self,
        *,
        orgao_codigo: str | None = None,
        signed_from: date | None = None,
        signed_to: date | None = None,
        batch_size: int = 1000,
        ids: Sequence[int] | None = None,
        ug_codigo: str | None = None,
        fornecedor_documento: str | None = None,
        modalidade_compra: str | None = None,
        source: Source | None = None,
    ) -> Iterator[Contract]:
        if batch_size < 1:
            raise StoreError(f"iter_contracts: batch_size must be at least 1, not {batch_size}")
        equal = {
            "orgao_codigo": orgao_codigo, "ug_codigo": ug_codigo, "fornecedor_documento": fornecedor_documento,
            "modalidade_compra": modalidade_compra, "source": None if source is None else str(source),
        }
        detail = f"orgao={orgao_codigo}" if orgao_codigo else ""
        id_groups: list[Sequence[int] | None] = [None] if ids is None else list(_chunks(sorted({int(i) for i in ids})))

        def page(group: Sequence[int] | None, after: int) -> list[dict[str, Any]]:
            query = self.table("contracts").select(CONTRACT_SELECT).gt("id", after)
            for column, value in equal.items():
                if value is not None:
                    query = query.eq(column, value)
            if signed_from is not None:
                query = query.gte("data_assinatura", signed_from.isoformat())
            if signed_to is not None:
                query = query.lte("data_assinatura", signed_to.isoformat())
            if group is not None:
                query = query.in_("id", list(group))
            return list(self._call("iter_contracts", detail, lambda: query.order("id").limit(batch_size).execute()).data)

        for group in id_groups:
            after = -1
            while True:
                rows = page(group, after)
                for row in rows:
                    yield contract_from_row(row)
                if len(rows) < batch_size:
                    break
                after = int(rows[-1]["id"])

    def count_contracts(self) -> int:
        response = self._call(
            "count_contracts", "",
            lambda: self.table("contracts").select("id", count=CountMethod.exact).limit(1).execute(),
        )
        return int(response.count or 0)

    def peer_baseline(
        self,
        *,
        year: int,
        orgao_codigo: str | None = None,
        modalidade_compra: str | None = None,
        source: Source | None = None,
    ) -> PeerBaseline:
        data = self._rpc("peer_baseline", f"year={year}", "vigia_peer_baseline", {
            "p_year": int(year), "p_orgao_codigo": orgao_codigo, "p_modalidade_compra": modalidade_compra,
            "p_source": None if source is None else str(source),
        })
        return peer_baseline_from_json(data)

    # -- sanctions -------------------------------------------------------------------------------
    def upsert_sanctions(self, sanctions: Sequence[Sanction]) -> int:
        if not sanctions:
            return 0
        for sanction in sanctions:
            validate_sanction(sanction)
        batch = dedupe_last(list(sanctions), key=lambda s: (s.lista, s.id))
        rows = without_nul([{k: _json_value(v) for k, v in sanction_values(s).items()} for s in batch])
        self._call(
            "upsert_sanctions", f"{len(rows)} sanctions",
            lambda: self.table("sanctions").upsert(rows, on_conflict="lista,id", returning="minimal").execute(),
        )
        return len(rows)

    def sanctions_for(self, documents: Sequence[str], *, roots: Sequence[str] = ()) -> list[Sanction]:
        wanted = sorted({d for d in documents if d})
        found: dict[tuple[str, str], Sanction] = {}
        for chunk in _chunks(wanted):
            response = self._call(
                "sanctions_for", f"{len(wanted)} documents",
                partial(lambda documents: self.table("sanctions").select("*").in_("documento", documents).execute(),
                        list(chunk)),
            )
            for row in response.data:
                s = sanction_from_row(row)
                found[(s.lista, s.id)] = s
        # PostgREST has no prefix-in filter: one ``like`` request per CNPJ root.
        for root in sorted({r for r in roots if len(r) == 8 and r.isdigit()}):
            response = self._call(
                "sanctions_for", f"CNPJ root {root}",
                partial(lambda prefix: self.table("sanctions").select("*").like("documento", f"{prefix}*").execute(), root),
            )
            for row in response.data:
                s = sanction_from_row(row)
                if len(s.documento) == 14:
                    found[(s.lista, s.id)] = s
        return sorted(found.values(), key=lambda s: (s.documento, s.lista, s.id))

    def first_vigencias(self, contract_ids: Sequence[int]) -> dict[int, tuple[date | None, date | None]]:
        earliest: dict[int, tuple[int, Any]] = {}
        for chunk in _chunks(sorted({int(i) for i in contract_ids})):
            response = self._call(
                "first_vigencias", f"{len(chunk)} contracts",
                partial(lambda ids: self.table("contract_versions").select("contract_id,version,raw")
                        .in_("contract_id", ids).execute(), list(chunk)),
            )
            for row in response.data:
                cid, version = int(row["contract_id"]), int(row["version"])
                if cid not in earliest or version < earliest[cid][0]:
                    earliest[cid] = (version, row["raw"])
        return {cid: vigencia_of(raw) for cid, (_v, raw) in earliest.items()}

    def sanction_mirror(self) -> SanctionMirror:
        counted = self._call(
            "sanction_mirror", "count",
            lambda: self.table("sanctions").select("id", count=CountMethod.exact).limit(1).execute(),
        )
        newest = self._call(
            "sanction_mirror", "newest",
            lambda: self.table("sanctions").select("last_seen_at").order("last_seen_at", desc=True).limit(1).execute(),
        )
        last = newest.data[0]["last_seen_at"] if newest.data else None
        return SanctionMirror(int(counted.count or 0), datetime.fromisoformat(last) if isinstance(last, str) else last)
