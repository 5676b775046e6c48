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

from shared.domain import UpsertResult
from shared.store import commands
from shared.store.models import SanctionMirror
from shared.store.postgres.core import PostgresCore, sql_conditions, where
from shared.store.rows import CONTRACT_COLUMNS, SANCTION_COLUMNS, json_rows

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


class ContractsMixin(PostgresCore):
    def _upsert_contracts(self, batch: commands.ContractBatch) -> UpsertResult:
        ids = batch.ids
        with self._op("upsert_contracts", f"{len(ids)} contracts") as conn:
            # Lock the existing rows (in id order, so concurrent batches cannot deadlock) and learn
            # which changed; nobody can change them until this transaction ends.
            previous = {
                row["id"]: row["content_hash"]
                for row in conn.execute(
                    "SELECT id, content_hash FROM contracts WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE",
                    (ids,),
                )
            }
            plan = batch.against(previous)
            # Only what must be written is serialised (a re-run of unchanged contracts sends ids only).
            written = conn.execute(
                _UPSERT_CONTRACTS, {"unchanged": plan.unchanged, "rows": json_rows(plan.to_write)}
            ).fetchall()
        inserted = {row["id"] for row in written if row["inserted"]}
        # a "new" id another worker inserted a moment earlier comes back as an update
        updated = {row["id"] for row in written if not row["inserted"]}
        return batch.result(new=inserted, changed=updated | plan.changed)

    def _contract_row(self, contract_id: int) -> commands.Row | None:
        return self._one("get_contract", str(contract_id), "SELECT * FROM contracts WHERE id = %s", (contract_id,))

    def _contract_rows(self, conditions: list[commands.Condition], limit: int, detail: str, *,
                       id_only: bool) -> list[commands.Row]:
        clauses, params = sql_conditions(conditions)
        query = f"SELECT {'id' if id_only else '*'} FROM contracts{where(clauses)} ORDER BY id LIMIT %(limit)s"
        return self._all("contract_ids" if id_only else "iter_contracts", detail, query, {**params, "limit": limit})

    def count_contracts(self) -> int:
        row = self._one("count_contracts", "", "SELECT count(*) AS n FROM contracts")
        assert row is not None
        return int(row["n"])

    # -- sanctions -------------------------------------------------------------------------------
    def _upsert_sanctions(self, rows: list[commands.Row]) -> int:
        with self._op("upsert_sanctions", f"{len(rows)} sanctions") as conn:
            return conn.execute(_UPSERT_SANCTIONS, (json_rows(rows),)).rowcount

    def _sanction_rows(self, documents: list[str], roots: list[str]) -> list[commands.Row]:
        return self._all(
            "sanctions_for",
            f"{len(documents)} documents, {len(roots)} CNPJ roots",
            "SELECT * FROM sanctions WHERE documento = ANY(%s::text[])"
            " OR (length(documento) = 14 AND left(documento, 8) = ANY(%s::text[])) ORDER BY documento, lista, id",
            (documents, roots),
        )

    def _version_rows(self, contract_ids: list[int]) -> list[commands.Row]:
        return self._all(
            "first_vigencias", f"{len(contract_ids)} contracts",
            "SELECT DISTINCT ON (contract_id) contract_id, version, raw FROM contract_versions"
            " WHERE contract_id = ANY(%s::bigint[]) ORDER BY contract_id, version",
            (contract_ids,),
        )

    def sanction_mirror(self) -> SanctionMirror:
        row = self._one("sanction_mirror", "", "SELECT count(*) AS n, max(last_seen_at) AS newest FROM sanctions")
        assert row is not None
        return SanctionMirror(int(row["n"]), row["newest"])
