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

from shared.domain import UpsertResult, utcnow
from shared.store import commands
from shared.store.models import SanctionMirror
from shared.store.rows import CONTRACT_COLUMNS, without_nul
from shared.store.supabase.core import IDS_PER_REQUEST, SupabaseCore, apply_conditions

# numeric as text: a JSON number would pass through a float on the way
CONTRACT_SELECT = ",".join(f"{c}::text" if c in {"valor_inicial", "valor_final"} else c for c in CONTRACT_COLUMNS)


def _json_row(row: commands.Row) -> commands.Row:
    return {k: str(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, date) else v for k, v in row.items()}


def _chunks(items: Sequence[Any], size: int = IDS_PER_REQUEST) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class ContractsMixin(SupabaseCore):
    def _upsert_contracts(self, batch: commands.ContractBatch) -> UpsertResult:
        ids = batch.ids
        detail = f"{len(ids)} contracts"
        previous: dict[int, str] = {}
        # partial binds each chunk's ids when the request is built (a lambda would see the loop variable).
        for chunk in _chunks(ids):
            response = self._call(
                "upsert_contracts", detail,
                partial(lambda chunk_ids: self.table("contracts").select("id,content_hash").in_("id", chunk_ids).execute(),
                        chunk),
            )
            previous.update({int(row["id"]): row["content_hash"] for row in response.data})
        plan = batch.against(previous)
        to_write = without_nul([_json_row(v) for v in plan.to_write])
        if to_write:
            self._call(
                "upsert_contracts", detail,
                lambda: self.table("contracts").upsert(to_write, on_conflict="id", returning="minimal").execute(),
            )
        seen_at = utcnow().isoformat()  # the trigger replaces it with the database's now()
        for chunk in _chunks(plan.unchanged):
            self._call(
                "upsert_contracts", detail,
                partial(lambda chunk_ids: self.table("contracts").update({"last_seen_at": seen_at}, returning="minimal")
                        .in_("id", chunk_ids).execute(), chunk),
            )
        return batch.result(new={i for i in ids if i not in previous}, changed=plan.changed)

    def _contract_row(self, contract_id: int) -> commands.Row | None:
        response = self._call(
            "get_contract", str(contract_id),
            lambda: self.table("contracts").select(CONTRACT_SELECT).eq("id", contract_id).execute(),
        )
        return response.data[0] if response.data else None

    def _contract_rows(self, conditions: list[commands.Condition], limit: int, detail: str, *,
                       id_only: bool) -> list[commands.Row]:
        return list(self._call(
            "contract_ids" if id_only else "iter_contracts", detail,
            lambda: apply_conditions(self.table("contracts").select("id" if id_only else CONTRACT_SELECT), conditions)
            .order("id").limit(limit).execute(),
        ).data)

    def count_contracts(self) -> int:
        response = self._call(
            "count_contracts", "",
            lambda: self.table("contracts").select("id", count=CountMethod.exact).limit(1).execute(),
        )
        return int(response.count or 0)

    # -- sanctions -------------------------------------------------------------------------------
    def _upsert_sanctions(self, rows: list[commands.Row]) -> int:
        payload = without_nul([_json_row(r) for r in rows])
        self._call(
            "upsert_sanctions", f"{len(payload)} sanctions",
            lambda: self.table("sanctions").upsert(payload, on_conflict="lista,id", returning="minimal").execute(),
        )
        return len(payload)

    def _sanction_rows(self, documents: list[str], roots: list[str]) -> list[commands.Row]:
        rows: list[commands.Row] = []
        for chunk in _chunks(documents):
            rows += self._call(
                "sanctions_for", f"{len(documents)} documents",
                partial(lambda documents: self.table("sanctions").select("*").in_("documento", documents).execute(),
                        chunk),
            ).data
        # PostgREST has no prefix-in filter: one ``like`` request per CNPJ root.
        for root in roots:
            response = self._call(
                "sanctions_for", f"CNPJ root {root}",
                partial(lambda prefix: self.table("sanctions").select("*").like("documento", f"{prefix}*").execute(), root),
            )
            rows += [row for row in response.data if len(row["documento"]) == 14]
        return rows

    def _version_rows(self, contract_ids: list[int]) -> list[commands.Row]:
        rows: list[commands.Row] = []
        for chunk in _chunks(contract_ids):
            rows += self._call(
                "first_vigencias", f"{len(chunk)} contracts",
                partial(lambda ids: self.table("contract_versions").select("contract_id,version,raw")
                        .in_("contract_id", ids).execute(), chunk),
            ).data
        return rows

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
