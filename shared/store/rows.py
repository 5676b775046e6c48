"""Rows to dataclasses and back, shared by both backends.

A row is a ``dict`` whether it came from psycopg (native ``date``, ``Decimal``, ``UUID``) or from
PostgREST JSON (ISO strings, numbers), so every reader here accepts both and the two backends
return equal values. Writers produce JSON-ready dicts (the SQL functions take findings as jsonb)
and refuse values JSON cannot carry (NaN, infinity) with a message naming the finding.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.domain import (
    Contract,
    FeedbackLabel,
    Finding,
    InvestigationStatus,
    RunStatus,
    Sanction,
    Severity,
    Source,
    Trigger,
)
from shared.store.base import (
    Conflict,
    Dataset,
    Feedback,
    Investigation,
    NotFound,
    OrgaoRanking,
    PeerBaseline,
    Run,
    StoredFinding,
    StoreError,
    TrainingSample,
)

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


def contract_from_row(row: dict[str, Any]) -> Contract:
    return Contract(
        id=int(row["id"]),
        source=Source(row["source"]),
        numero=row.get("numero"),
        objeto=row.get("objeto"),
        numero_processo=row.get("numero_processo"),
        fundamento_legal=row.get("fundamento_legal"),
        situacao=row.get("situacao"),
        modalidade_compra=row.get("modalidade_compra"),
        orgao_codigo=row.get("orgao_codigo"),
        orgao_nome=row.get("orgao_nome"),
        orgao_maximo_codigo=row.get("orgao_maximo_codigo"),
        ug_codigo=row.get("ug_codigo"),
        ug_nome=row.get("ug_nome"),
        fornecedor_documento=row.get("fornecedor_documento"),
        fornecedor_nome=row.get("fornecedor_nome"),
        data_assinatura=to_date(row.get("data_assinatura")),
        data_publicacao_dou=to_date(row.get("data_publicacao_dou")),
        data_inicio_vigencia=to_date(row.get("data_inicio_vigencia")),
        data_fim_vigencia=to_date(row.get("data_fim_vigencia")),
        valor_inicial=to_decimal(row.get("valor_inicial")),
        valor_final=to_decimal(row.get("valor_final")),
        raw=to_json_obj(row.get("raw"), {}),
        content_hash=row.get("content_hash") or "",
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


def dedupe_last(items: list[Any], key: Any) -> list[Any]:
    """Keep the last occurrence of each key (a batch may repeat a record), in first-seen order."""
    latest: dict[Any, Any] = {}
    for item in items:
        latest[key(item)] = item
    return list(latest.values())


# ---------------------------------------------------------------------------------------------
# investigations, findings, feedback


def investigation_from_row(row: dict[str, Any]) -> Investigation:
    return Investigation(
        id=str(row["id"]),
        contract_id=None if row.get("contract_id") is None else int(row["contract_id"]),
        orgao_codigo=row.get("orgao_codigo"),
        trigger=Trigger(row["trigger"]),
        status=InvestigationStatus(row["status"]),
        detector_version=row["detector_version"],
        indicators=list(row.get("indicators") or []),
        window_start=to_date(row.get("window_start")),
        window_end=to_date(row.get("window_end")),
        progress=float(row.get("progress") or 0.0),
        findings_count=int(row.get("findings_count") or 0),
        risk_score=to_float(row.get("risk_score")),
        summary=row.get("summary"),
        summary_source=row.get("summary_source"),
        error=row.get("error"),
        created_at=to_datetime(row.get("created_at")),
        started_at=to_datetime(row.get("started_at")),
        finished_at=to_datetime(row.get("finished_at")),
        updated_at=to_datetime(row.get("updated_at")),
        finding_indicators=list(row.get("finding_indicators") or []),
        max_severity=None if row.get("max_severity") is None else Severity(row["max_severity"]),
    )


def finding_from_row(row: dict[str, Any]) -> Finding:
    return Finding(
        indicator=row["indicator"],
        severity=Severity(row["severity"]),
        score=float(row["score"]),
        subject_type=row["subject_type"],
        subject_id=str(row["subject_id"]),
        explanation=row["explanation"],
        contract_id=None if row.get("contract_id") is None else int(row["contract_id"]),
        orgao_codigo=row.get("orgao_codigo"),
        value=to_float(row.get("value")),
        threshold=to_float(row.get("threshold")),
        baseline=to_json_obj(row.get("baseline"), {}),
        fields=to_json_obj(row.get("fields"), {}),
    )


def stored_finding_from_row(row: dict[str, Any]) -> StoredFinding:
    return StoredFinding(id=int(row["id"]), investigation_id=str(row["investigation_id"]), finding=finding_from_row(row))


def _finite(number: float | None, what: str) -> float | None:
    if number is None:
        return None
    number = float(number)
    if not math.isfinite(number):
        raise StoreError(f"{what} is {number}; a stored number must be finite")
    return number


def _json_safe(value: Any, what: str) -> Any:
    """``value`` as JSON text would carry it, refusing NaN and infinities (jsonb rejects them)."""
    try:
        return json.loads(json.dumps(value, default=str, allow_nan=False))
    except ValueError as error:
        raise StoreError(f"{what} holds a value JSON cannot carry: {error}") from error


def finding_to_json(finding: Finding) -> dict[str, Any]:
    what = f"finding {finding.indicator}/{finding.subject_type}/{finding.subject_id}"
    return {
        "indicator": finding.indicator,
        "severity": str(Severity(finding.severity)),
        "score": _finite(finding.score, f"{what} score"),
        "subject_type": finding.subject_type,
        "subject_id": str(finding.subject_id),
        "contract_id": finding.contract_id,
        "orgao_codigo": finding.orgao_codigo,
        "value": _finite(finding.value, f"{what} value"),
        "threshold": _finite(finding.threshold, f"{what} threshold"),
        "baseline": _json_safe(finding.baseline or {}, f"{what} baseline"),
        "fields": _json_safe(finding.fields or {}, f"{what} fields"),
        "explanation": finding.explanation,
    }


def feedback_from_row(row: dict[str, Any]) -> Feedback:
    created = to_datetime(row["created_at"])
    assert created is not None
    return Feedback(
        id=int(row["id"]),
        investigation_id=str(row["investigation_id"]),
        finding_id=None if row.get("finding_id") is None else int(row["finding_id"]),
        label=FeedbackLabel(row["label"]),
        note=row.get("note"),
        author=row.get("author"),
        created_at=created,
    )


# ---------------------------------------------------------------------------------------------
# runs and datasets


def run_from_row(row: dict[str, Any]) -> Run:
    started = to_datetime(row["started_at"])
    assert started is not None
    counters = to_json_obj(row.get("counters"), {})
    return Run(
        id=int(row["id"]),
        task=row["task"],
        parameters=to_json_obj(row.get("parameters"), {}),
        status=RunStatus(row["status"]),
        started_at=started,
        finished_at=to_datetime(row.get("finished_at")),
        # sums come back as numerics; counters are whole numbers
        counters={key: int(value) for key, value in counters.items()},
        result=to_json_obj(row.get("result"), {}),
        error=row.get("error"),
    )


def run_json(value: dict[str, Any] | None, what: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise StoreError(f"{what} must be an object, not {type(value).__name__}")
    return dict(_json_safe(value, what))


def counters_json(counters: dict[str, int] | None, what: str) -> dict[str, int] | None:
    if counters is None:
        return None
    for key, value in counters.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise StoreError(f"{what}: counter {key!r} must be an integer, not {value!r}")
    return dict(counters)


def dataset_from_row(row: dict[str, Any]) -> Dataset:
    created = to_datetime(row["created_at"])
    assert created is not None
    return Dataset(
        id=int(row["id"]),
        created_at=created,
        feature_version=row["feature_version"],
        total=int(row["total"]),
        positive=int(row["positive"]),
        negative=int(row["negative"]),
        checksum=row["checksum"],
        samples=list(to_json_obj(row.get("samples"), [])),
    )


def dataset_payload(samples: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str, int, int]:
    """The samples as stored, their sha256 over canonical JSON, and the positive/negative counts."""
    import hashlib

    canonical = _json_safe(samples, "dataset samples")
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    positive = sum(1 for s in samples if s.get("label") == FeedbackLabel.TRUE_POSITIVE)
    negative = sum(1 for s in samples if s.get("label") == FeedbackLabel.FALSE_POSITIVE)
    return canonical, hashlib.sha256(text.encode("utf-8")).hexdigest(), positive, negative


def peer_baseline_from_json(data: dict[str, Any]) -> PeerBaseline:
    def number(key: str) -> float | None:
        value = data.get(key)
        return None if value is None else float(value)

    return PeerBaseline(
        n=int(data.get("n") or 0), median=number("median"), mad=number("mad"), q1=number("q1"), q3=number("q3")
    )


def training_sample_from_json(data: dict[str, Any]) -> TrainingSample:
    return TrainingSample(
        feedback_id=int(data["feedback_id"]),
        investigation_id=str(data["investigation_id"]),
        finding_id=None if data.get("finding_id") is None else int(data["finding_id"]),
        indicator=data.get("indicator"),
        label=FeedbackLabel(data["label"]),
        features=dict(data.get("features") or {}),
    )


def training_sample_to_json(sample: TrainingSample) -> dict[str, Any]:
    return {
        "feedback_id": sample.feedback_id,
        "investigation_id": sample.investigation_id,
        "finding_id": sample.finding_id,
        "indicator": sample.indicator,
        "label": str(sample.label),
        "features": sample.features,
    }


def orgao_ranking_from_json(data: dict[str, Any]) -> OrgaoRanking:
    return OrgaoRanking(
        orgao_codigo=data["orgao_codigo"],
        orgao_nome=data.get("orgao_nome"),
        contracts=int(data.get("contracts") or 0),
        investigations=int(data.get("investigations") or 0),
        findings=int(data.get("findings") or 0),
        max_risk_score=to_float(data.get("max_risk_score")),
        mean_risk_score=to_float(data.get("mean_risk_score")),
        orgao_findings=[finding_from_row({**f, "orgao_codigo": data["orgao_codigo"]}) for f in data.get("orgao_findings") or []],
    )


# ---------------------------------------------------------------------------------------------
# the investigation state machine, as both backends apply it (a conditional UPDATE on status)

# operation -> (the status it sets, the statuses it may start from; the target itself = idempotent)
TRANSITIONS: dict[str, tuple[InvestigationStatus, frozenset[InvestigationStatus]]] = {
    "mark_running": (
        InvestigationStatus.RUNNING,
        frozenset({InvestigationStatus.PENDING, InvestigationStatus.RUNNING}),
    ),
    "fail_investigation": (
        InvestigationStatus.FAILED,
        frozenset({InvestigationStatus.PENDING, InvestigationStatus.RUNNING, InvestigationStatus.FAILED}),
    ),
    "cancel_investigation": (
        InvestigationStatus.CANCELLED,
        frozenset({InvestigationStatus.PENDING, InvestigationStatus.RUNNING, InvestigationStatus.CANCELLED}),
    ),
}
OPEN_STATUSES = (InvestigationStatus.PENDING, InvestigationStatus.RUNNING)


def refused_transition(operation: str, investigation_id: str, current: str | None) -> StoreError:
    if current is None:
        return NotFound(f"{operation}({investigation_id}): no such investigation")
    target = TRANSITIONS[operation][0]
    return Conflict(f"{operation}({investigation_id}): the investigation is {current}; it cannot become {target}")


def check_progress(investigation_id: str, progress: float) -> float:
    value = float(progress)
    if not (0.0 <= value <= 1.0):
        raise StoreError(f"set_progress({investigation_id}): progress must be within [0, 1], not {progress}")
    return value


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


def json_row(row: dict[str, Any]) -> str:
    """One row as JSON (Decimal and dates as their exact text), NUL characters removed."""
    text = json.dumps(row, default=str, ensure_ascii=False, separators=(",", ":"))
    if "\\u0000" in text:
        text = json.dumps(_strip_nul(row), default=str, ensure_ascii=False, separators=(",", ":"))
    return text


def json_rows(rows: list[dict[str, Any]]) -> str:
    """Many rows as one JSON array (one encoder call), NUL characters removed."""
    text = json.dumps(rows, default=str, ensure_ascii=False, separators=(",", ":"))
    if "\\u0000" in text:
        text = json.dumps([_strip_nul(row) for row in rows], default=str, ensure_ascii=False, separators=(",", ":"))
    return text
