"""Investigation list pages (and the investigation part of a detail) as JSON text written by
PostgreSQL, for the API's lean read path.

The API's list answers 50 investigations a page; decoding 50 rows into dicts, then dataclasses,
then pydantic models, then encoding them again costs more than the query. Here the SELECT writes
each row as the exact JSON text the API's ``InvestigationOut`` model serialises to (compact
separators, its field order, ISO dates, UTC timestamps ending in ``Z`` with microseconds only
when there are any, floats with a ``.0`` when integral), so the API joins the texts into the
page without touching the values. The one field the API must rewrite, ``error`` (it is masked
for public display), comes back apart from the text around it.

Floats outside [1e-4, 1e15) are written in PostgreSQL's exponent notation (``1e-05``) where
pydantic writes ``0.00001``: the same number, spelled differently. Risk scores and progress sit
well inside that range.

The statements are :func:`page_queries`' and :func:`count_query`'s (same filters, order, index
use) with another select list, run through the store's ``_op(single=True)``, in autocommit: a
read needs no transaction, and BEGIN and COMMIT would be two more round trips per page. A
detail's three SELECTs (the investigation, its findings, its contract) go out together in one
pipeline, one round trip; its findings and contract come back as rows (their JSON columns and numerics are
the models' to write).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import tuple_row

from shared.domain import Contract
from shared.store.base import InvestigationFilter, Keyset, SortKey, StoredFinding
from shared.store.postgres import PostgresStore
from shared.store.postgres.investigations import count_query, page_queries
from shared.store.records import stored_finding_from_row
from shared.store.rows import contract_from_row, is_uuid


def _float(column: str) -> str:
    """SQL text of a float column as pydantic writes it (non-finite values are null, as pydantic's
    default ``ser_json_inf_nan='null'``)."""
    return (
        f"CASE WHEN {column} IS NULL OR {column} IN ('NaN', 'Infinity', '-Infinity') THEN 'null' "
        f"WHEN {column} = trunc({column}) AND abs({column}) < 1e16 THEN trunc({column})::numeric::text || '.0' "
        f"ELSE {column}::text END"
    )


def _timestamp(column: str) -> str:
    """SQL text of a timestamptz as pydantic writes an aware UTC datetime: microseconds only when
    there are any (the date and time part cannot hold ``.000000``, so removing it is safe)."""
    text = f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    return f"CASE WHEN {column} IS NULL THEN 'null' ELSE '\"' || replace({text}, '.000000', '') || 'Z\"' END"


def _json(column: str) -> str:
    return f"coalesce(to_json({column})::text, 'null')"


# (field, SQL text of its JSON value), in InvestigationOut's field order; "error" splits the row.
_BEFORE_ERROR = [
    ("id", "'\"' || id::text || '\"'"),
    ("url", "to_json(%(url_prefix)s || id::text)::text"),
    ("contract_id", "coalesce(contract_id::text, 'null')"),
    *[(name, _json(name)) for name in ("orgao_codigo", "trigger", "status", "detector_version", "indicators",
                                       "window_start", "window_end")],
    ("progress", _float("progress")),
    ("findings_count", "findings_count::text"),
    ("finding_indicators", _json("finding_indicators")),
    ("max_severity", _json("max_severity")),
    ("risk_score", _float("risk_score")),
    *[(name, _json(name)) for name in ("summary", "summary_source")],
]
_AFTER_ERROR = [(name, _timestamp(name)) for name in ("created_at", "started_at", "finished_at", "updated_at")]

FIELDS = [name for name, _ in _BEFORE_ERROR] + ["error"] + [name for name, _ in _AFTER_ERROR]


def _concat(parts: list[tuple[str, str]], *, opening: str, closing: str) -> str:
    pieces = [f"'{opening}\"{parts[0][0]}\":' || {parts[0][1]}"]
    pieces += [f"',\"{name}\":' || {value}" for name, value in parts[1:]]
    return " || ".join(pieces) + (f" || '{closing}'" if closing else "")


_HEAD = _concat(_BEFORE_ERROR, opening="{", closing=',"error":')
_TAIL = _concat(_AFTER_ERROR, opening=",", closing="}")
# The keyset columns are renamed: an output column called id (as text) would be what ORDER BY id
# sorts by, instead of the indexed uuid.
_SELECT = (f"SELECT {_HEAD} AS head, error, {_TAIL} AS tail, created_at AS key_created_at, "
           "risk_score AS key_risk_score, id::text AS key_id")
_SELECT_ALL = "SELECT * FROM investigations"


@dataclass(frozen=True, slots=True)
class JsonItem:
    """One investigation as JSON text: ``head`` + the error's JSON + ``tail`` is the whole object."""

    head: str  # from "{" to '"error":'
    error: str | None
    tail: str  # from ',"created_at":' to "}"
    created_at: datetime
    risk_score: float | None
    id: str

    def keyset(self, sort: SortKey) -> Keyset:
        return Keyset(value=self.created_at if sort.lstrip("-") == "created_at" else self.risk_score, id=self.id)


@dataclass(frozen=True, slots=True)
class JsonPage:
    items: list[JsonItem]
    total: int | None  # None when not asked for


@dataclass(frozen=True, slots=True)
class JsonDetail:
    item: JsonItem
    findings: list[StoredFinding]
    contract: Contract | None


class PostgresJsonPages:
    """List pages of ``store``'s investigations as :class:`JsonItem`; urls are ``url_prefix`` + id."""

    def __init__(self, store: PostgresStore, *, url_prefix: str) -> None:
        self.store = store
        self.url_prefix = url_prefix

    def list_investigations(self, filters: InvestigationFilter, *, sort: SortKey, limit: int, offset: int,
                            after: Keyset | None, with_total: bool, count_limit: int | None) -> JsonPage:
        """What :meth:`PostgresStore.list_investigations` returns, as JSON text: same arguments,
        same rows in the same order."""
        queries = page_queries(filters, sort=sort, offset=offset, after=after, limit=limit)
        items: list[JsonItem] = []
        total = None
        with self.store._op("list_investigations_json", single=True) as conn, conn.cursor(row_factory=tuple_row) as cursor:
            if with_total:
                sql, params = count_query(filters, count_limit)
                row = cursor.execute(sql, params).fetchone()
                assert row is not None
                total = int(row[0])
            for sql, params in queries:  # each part continues where the previous one ran out
                if len(items) >= limit:
                    break
                assert sql.startswith(_SELECT_ALL), sql
                lean = _SELECT + sql[len("SELECT *"):]
                rows = cursor.execute(lean, {**params, "limit": limit - len(items), "url_prefix": self.url_prefix})
                items += [JsonItem(*row) for row in rows.fetchall()]
        return JsonPage(items=items, total=total)

    def get_investigation(self, investigation_id: str) -> JsonDetail | None:
        """What :meth:`PostgresStore.get_investigation` returns, the investigation as JSON text."""
        if not is_uuid(investigation_id):
            return None
        one = {"id": investigation_id, "url_prefix": self.url_prefix}
        with self.store._op("get_investigation_json", single=True) as conn, conn.pipeline():
            item = conn.cursor(row_factory=tuple_row).execute(_SELECT + " FROM investigations WHERE id = %(id)s", one)
            findings = conn.cursor().execute(
                "SELECT * FROM findings WHERE investigation_id = %(id)s ORDER BY id", one)
            contract = conn.cursor().execute(
                "SELECT * FROM contracts WHERE id = (SELECT contract_id FROM investigations WHERE id = %(id)s)", one)
            row, finding_rows, contract_row = item.fetchone(), findings.fetchall(), contract.fetchone()
        if row is None:
            return None
        return JsonDetail(
            item=JsonItem(*row),
            findings=[stored_finding_from_row(f) for f in finding_rows],
            contract=None if contract_row is None else contract_from_row(contract_row),
        )
