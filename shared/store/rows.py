"""Contracts and sanctions as rows and back, and the value readers both backends share.

A row is a ``dict`` whether it came from psycopg (native ``date``, ``Decimal``, ``UUID``) or from
PostgREST JSON (ISO strings, numbers), so every reader here accepts both and the two backends
return equal values. Writers validate what the schema would refuse, naming the record, and
serialise rows to JSON without the NUL characters PostgreSQL cannot store. Investigations,
runs and datasets are in :mod:`shared.store.records`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.domain import Contract, Sanction, Source
from shared.store.models import PeerBaseline, StoreError, Vigencia

_DIGITS = re.compile(r"[0-9]*")

# contracts columns the backends write, in one order (the raw JSON and hash go with them)
CONTRACT_COLUMNS: tuple[str, ...] = (
    "id", "source", "numero", "objeto", "numero_processo", "fundamento_legal", "situacao",
    "modalidade_compra", "orgao_codigo", "orgao_nome", "orgao_maximo_codigo", "ug_codigo", "ug_nome",
    "fornecedor_documento", "fornecedor_nome", "data_assinatura", "data_publicacao_dou",
    "data_inicio_vigencia", "data_fim_vigencia", "valor_inicial", "valor_final", "content_hash", "raw",
)
SANCTION_COLUMNS: tuple[str, ...] = (
    "lista", "id", "documento", "nome", "tipo", "data_inicio", "data_fim", "orgao_sancionador",
    "orgao_sancionador_uf", "abrangencia", "nacional", "source", "raw",
)


def to_date(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def to_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = str(value).replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def to_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    # PostgREST sends numeric as a JSON number; str() of the parsed float is its shortest exact text
    return Decimal(str(value))


def to_float(value: Any) -> float | None:
    return None if value is None else float(value)


def to_json_obj(value: Any, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, str):
        return json.loads(value)
    return value


def columns(row: dict[str, Any], names: tuple[str, ...], read: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """The named columns of ``row`` (missing ones as None), each through ``read`` when given."""
    if read is None:
        return {name: row.get(name) for name in names}
    return {name: read(row.get(name)) for name in names}


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# contracts and sanctions


def contract_values(contract: Contract) -> dict[str, Any]:
    """The columns of one contract (raw as a dict), computing the hash when the caller left it empty."""
    from shared.domain import canonical_hash

    values = {name: getattr(contract, name) for name in CONTRACT_COLUMNS if name not in {"raw", "content_hash"}}
    values["source"] = str(contract.source)
    values["raw"] = contract.raw or {}
    values["content_hash"] = contract.content_hash or canonical_hash(values["raw"])
    return values


def validate_contract(contract: Contract) -> None:
    """Refuse what the schema would refuse, naming the contract, before the batch touches the database."""
    if isinstance(contract.id, bool) or not isinstance(contract.id, int) or contract.id <= 0:
        raise StoreError(f"contract id must be a positive integer, not {contract.id!r}")
    if contract.fornecedor_documento is not None and not _DIGITS.fullmatch(contract.fornecedor_documento):
        raise StoreError(f"contract {contract.id}: fornecedor_documento must hold digits only")
    Source(contract.source)


def validate_sanction(sanction: Sanction) -> None:
    if sanction.lista not in {"CEIS", "CNEP"}:
        raise StoreError(f"sanction {sanction.id}: lista must be CEIS or CNEP, not {sanction.lista!r}")
    if not sanction.documento or not sanction.documento.isdigit():
        raise StoreError(f"sanction {sanction.lista}/{sanction.id}: documento must hold digits only")


# contract columns read as they are, and those read as dates
_CONTRACT_TEXT = (
    "numero", "objeto", "numero_processo", "fundamento_legal", "situacao", "modalidade_compra", "orgao_codigo",
    "orgao_nome", "orgao_maximo_codigo", "ug_codigo", "ug_nome", "fornecedor_documento", "fornecedor_nome",
)
_CONTRACT_DATES = ("data_assinatura", "data_publicacao_dou", "data_inicio_vigencia", "data_fim_vigencia")


def contract_from_row(row: dict[str, Any]) -> Contract:
    return Contract(
        id=int(row["id"]),
        source=Source(row["source"]),
        valor_inicial=to_decimal(row.get("valor_inicial")),
        valor_final=to_decimal(row.get("valor_final")),
        raw=to_json_obj(row.get("raw"), {}),
        content_hash=row.get("content_hash") or "",
        **columns(row, _CONTRACT_TEXT),
        **columns(row, _CONTRACT_DATES, to_date),
    )


def sanction_values(sanction: Sanction) -> dict[str, Any]:
    values = {name: getattr(sanction, name) for name in SANCTION_COLUMNS}
    values["source"] = str(sanction.source)
    values["raw"] = sanction.raw or {}
    return values


def sanction_from_row(row: dict[str, Any]) -> Sanction:
    return Sanction(
        id=str(row["id"]),
        lista=row["lista"],
        documento=row["documento"],
        nome=row.get("nome"),
        tipo=row.get("tipo"),
        data_inicio=to_date(row.get("data_inicio")),
        data_fim=to_date(row.get("data_fim")),
        orgao_sancionador=row.get("orgao_sancionador"),
        orgao_sancionador_uf=row.get("orgao_sancionador_uf"),
        abrangencia=row.get("abrangencia"),
        nacional=bool(row.get("nacional")),
        source=Source(row.get("source") or "portal"),
        raw=to_json_obj(row.get("raw"), {}),
    )


def vigencia_of(raw: Any) -> Vigencia:
    """The vigência a stored ContratoDTO states (ISO or DD/MM/AAAA; anything else is unknown)."""
    from shared.portal.wire import parse_date

    def read(key: str) -> date | None:
        try:
            return parse_date(raw.get(key)) if isinstance(raw, dict) else None
        except ValueError:
            return None

    return Vigencia(read("dataInicioVigencia"), read("dataFimVigencia"))


def dedupe_last(items: list[Any], key: Any) -> list[Any]:
    """Keep the last occurrence of each key (a batch may repeat a record), in first-seen order."""
    latest: dict[Any, Any] = {}
    for item in items:
        latest[key(item)] = item
    return list(latest.values())

def peer_baseline_from_json(data: dict[str, Any]) -> PeerBaseline:
    def number(key: str) -> float | None:
        value = data.get(key)
        return None if value is None else float(value)

    return PeerBaseline(
        n=int(data.get("n") or 0), median=number("median"), mad=number("mad"), q1=number("q1"), q3=number("q3")
    )


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    return value


def without_nul(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with NUL characters removed from every string: PostgreSQL text and jsonb cannot hold
    them, and one such character from the Portal would otherwise fail its whole batch, every sweep.
    The content hash stays the one of the record as received, so the next sweep sees it unchanged."""
    if "\\u0000" not in json.dumps(rows, default=str):
        return rows
    return [_strip_nul(row) for row in rows]



def json_rows(rows: list[dict[str, Any]]) -> str:
    """Many rows as one JSON array (one encoder call), NUL characters removed."""
    text = json.dumps(rows, default=str, ensure_ascii=False, separators=(",", ":"))
    if "\\u0000" in text:
        text = json.dumps([_strip_nul(row) for row in rows], default=str, ensure_ascii=False, separators=(",", ":"))
    return text
