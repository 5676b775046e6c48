"""Contracts and sanctions on PostgreSQL: batched upserts and streamed reads.

``upsert_contracts`` is the hot path (every page of every sweep). A batch of any size costs two
statements in one transaction: lock the batch's existing rows and read their hashes, then one
statement that refreshes ``last_seen_at`` of the unchanged rows and upserts the new and changed
ones from a single jsonb parameter (``jsonb_populate_recordset``, the way PostgREST itself writes
a JSON array); the table's trigger keeps the previous version of a changed row. A single
parameter keeps the statement the same for every batch size and works behind transaction
poolers, where temporary tables (the COPY route) and prepared statements do not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from shared.domain import Contract, Sanction, Source, UpsertResult
from shared.store.base import PeerBaseline, SanctionMirror, StoreError
from shared.store.postgres.core import PostgresCore
from shared.store.rows import (
    CONTRACT_COLUMNS,
    SANCTION_COLUMNS,
    contract_from_row,
    contract_values,
    dedupe_last,
    json_rows,
    peer_baseline_from_json,
    sanction_from_row,
    sanction_values,
    to_json_obj,
    validate_contract,
    validate_sanction,
    vigencia_of,
)

_UPDATABLE = [c for c in CONTRACT_COLUMNS if c != "id"]

# The contracts_versioning trigger copies a changed row's previous version into
# contract_versions and keeps first/last seen, version and changed_at.
_UPSERT_CONTRACTS = f"""
WITH seen AS (
    UPDATE contracts SET last_seen_at = now() WHERE id = ANY(%(unchanged)s::bigint[])
)
INSERT INTO contracts AS c ({", ".join(CONTRACT_COLUMNS)})
SELECT {", ".join(CONTRACT_COLUMNS)} FROM jsonb_populate_recordset(NULL::contracts, %(rows)s::jsonb)
ON CONFLICT (id) DO UPDATE SET {", ".join(f"{c} = excluded.{c}" for c in _UPDATABLE)}
WHERE c.content_hash IS DISTINCT FROM excluded.content_hash
RETURNING c.id, (c.xmax = 0) AS inserted
"""

_UPSERT_SANCTIONS = f"""
INSERT INTO sanctions AS s ({", ".join(SANCTION_COLUMNS)})
SELECT {", ".join(SANCTION_COLUMNS)} FROM jsonb_populate_recordset(NULL::sanctions, %s::jsonb)
ON CONFLICT (lista, id) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in SANCTION_COLUMNS if c not in {"lista", "id"})}
"""


def contract_filters(
    *,
    orgao_codigo: str | None,
    signed_from: date | None,
    signed_to: date | None,
    ids: Sequence[int] | None,
    ug_codigo: str | None,
    fornecedor_documento: str | None,
    modalidade_compra: str | None,
    source: Source | None,
) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    for column, value in (
        ("orgao_codigo", orgao_codigo),
        ("ug_codigo", ug_codigo),
        ("fornecedor_documento", fornecedor_documento),
        ("modalidade_compra", modalidade_compra),
        ("source", None if source is None else str(source)),
    ):
        if value is not None:
            where.append(f"{column} = %({column})s")
            params[column] = value
    if signed_from is not None:
        where.append("data_assinatura >= %(signed_from)s")
        params["signed_from"] = signed_from
    if signed_to is not None:
        where.append("data_assinatura <= %(signed_to)s")
        params["signed_to"] = signed_to
    if ids is not None:
        where.append("id = ANY(%(ids)s::bigint[])")
        params["ids"] = [int(i) for i in ids]
    return where, params


class ContractsMixin(PostgresCore):
    def upsert_contracts(self, contracts: Sequence[Contract]) -> UpsertResult:
        if not contracts:
            return UpsertResult()
        for contract in contracts:
            validate_contract(contract)
        batch = dedupe_last(list(contracts), key=lambda c: c.id)
        values = [contract_values(c) for c in batch]
        ids = [v["id"] for v in values]
        with self._op("upsert_contracts", f"{len(batch)} contracts") as conn:
            # Lock the existing rows (in id order, so concurrent batches cannot deadlock) and learn
            # which changed; nobody can change them until this transaction ends.
            previous = {
                row["id"]: row["content_hash"]
                for row in conn.execute(
                    "SELECT id, content_hash FROM contracts WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE",
                    (ids,),
                )
            }
            changed = [v["id"] for v in values if v["id"] in previous and previous[v["id"]] != v["content_hash"]]
            unchanged = sorted(v["id"] for v in values if previous.get(v["id"]) == v["content_hash"])
            # Only what must be written is serialised (a re-run of unchanged contracts sends ids
            # only), in id order, so concurrent batches insert new ids in one order and cannot deadlock.
            rows_json = json_rows(sorted((v for v in values if previous.get(v["id"]) != v["content_hash"]),
                                         key=lambda v: v["id"]))
            written = conn.execute(_UPSERT_CONTRACTS, {"unchanged": unchanged, "rows": rows_json}).fetchall()
        inserted = {row["id"] for row in written if row["inserted"]}
        updated = {row["id"] for row in written if not row["inserted"]}
        result = UpsertResult()
        for contract_id in ids:
            if contract_id in inserted:
                result.new.append(contract_id)
            elif contract_id in updated or contract_id in changed:
                # a "new" id another worker inserted a moment earlier comes back as an update
                result.changed.append(contract_id)
            else:
                result.unchanged.append(contract_id)
        return result

    def get_contract(self, contract_id: int) -> Contract | None:
        row = self._one("get_contract", str(contract_id), "SELECT * FROM contracts WHERE id = %s", (int(contract_id),))
        return None if row is None else contract_from_row(row)

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
        where, params = contract_filters(
            orgao_codigo=orgao_codigo, signed_from=signed_from, signed_to=signed_to, ids=ids, ug_codigo=ug_codigo,
            fornecedor_documento=fornecedor_documento, modalidade_compra=modalidade_compra, source=source,
        )
        query = (
            "SELECT * FROM contracts WHERE id > %(after)s"
            + "".join(f" AND {w}" for w in where)
            + " ORDER BY id LIMIT %(limit)s"
        )
        detail = f"orgao={orgao_codigo}" if orgao_codigo else ""
        after = -1
        while True:
            rows = self._all("iter_contracts", detail, query, {**params, "after": after, "limit": batch_size})
            for row in rows:
                yield contract_from_row(row)
            if len(rows) < batch_size:
                return
            after = rows[-1]["id"]

    def count_contracts(self) -> int:
        row = self._one("count_contracts", "", "SELECT count(*) AS n FROM contracts")
        assert row is not None
        return int(row["n"])

    def peer_baseline(
        self,
        *,
        year: int,
        orgao_codigo: str | None = None,
        modalidade_compra: str | None = None,
        source: Source | None = None,
    ) -> PeerBaseline:
        row = self._one(
            "peer_baseline",
            f"year={year}",
            "SELECT vigia_peer_baseline(%s, %s, %s, %s) AS b",
            (int(year), orgao_codigo, modalidade_compra, None if source is None else str(source)),
        )
        assert row is not None
        return peer_baseline_from_json(row["b"])

    # -- sanctions -------------------------------------------------------------------------------
    def upsert_sanctions(self, sanctions: Sequence[Sanction]) -> int:
        if not sanctions:
            return 0
        for sanction in sanctions:
            validate_sanction(sanction)
        batch = dedupe_last(list(sanctions), key=lambda s: (s.lista, s.id))
        rows_json = json_rows([sanction_values(s) for s in batch])
        with self._op("upsert_sanctions", f"{len(batch)} sanctions") as conn:
            return conn.execute(_UPSERT_SANCTIONS, (rows_json,)).rowcount

    def sanctions_for(self, documents: Sequence[str], *, roots: Sequence[str] = ()) -> list[Sanction]:
        wanted = sorted({d for d in documents if d})
        branches = sorted({r for r in roots if len(r) == 8 and r.isdigit()})
        if not wanted and not branches:
            return []
        rows = self._all(
            "sanctions_for",
            f"{len(wanted)} documents, {len(branches)} CNPJ roots",
            "SELECT * FROM sanctions WHERE documento = ANY(%s::text[])"
            " OR (length(documento) = 14 AND left(documento, 8) = ANY(%s::text[])) ORDER BY documento, lista, id",
            (wanted, branches),
        )
        return [sanction_from_row(row) for row in rows]

    def first_vigencias(self, contract_ids: Sequence[int]) -> dict[int, tuple[date | None, date | None]]:
        wanted = sorted({int(i) for i in contract_ids})
        if not wanted:
            return {}
        rows = self._all(
            "first_vigencias", f"{len(wanted)} contracts",
            "SELECT DISTINCT ON (contract_id) contract_id, raw FROM contract_versions"
            " WHERE contract_id = ANY(%s::bigint[]) ORDER BY contract_id, version",
            (wanted,),
        )
        return {int(row["contract_id"]): vigencia_of(to_json_obj(row["raw"], {})) for row in rows}

    def sanction_mirror(self) -> SanctionMirror:
        row = self._one("sanction_mirror", "", "SELECT count(*) AS n, max(last_seen_at) AS newest FROM sanctions")
        assert row is not None
        return SanctionMirror(int(row["n"]), row["newest"])

