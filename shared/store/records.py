"""Investigations, findings, feedback, runs and datasets: rows to dataclasses and back, for both backends.

Like :mod:`shared.store.rows`, every reader accepts psycopg's native values and PostgREST's JSON
text alike; writers refuse what JSON cannot carry (NaN, infinity), naming the finding or run.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from shared.domain import FeedbackLabel, Finding, InvestigationStatus, RunStatus, Severity, Trigger
from shared.store.models import (
    Dataset,
    Feedback,
    Investigation,
    OrgaoRanking,
    Run,
    StoredFinding,
    StoreError,
    TrainingSample,
)
from shared.store.rows import columns, to_date, to_datetime, to_float, to_json_obj

# ---------------------------------------------------------------------------------------------
# investigations, findings, feedback


# investigation columns read as they are, and those read as timestamps
_INVESTIGATION_TEXT = ("orgao_codigo", "summary", "summary_source", "error")
_INVESTIGATION_TIMES = ("created_at", "started_at", "finished_at", "updated_at")


def investigation_from_row(row: dict[str, Any]) -> Investigation:
    return Investigation(
        id=str(row["id"]),
        contract_id=None if row.get("contract_id") is None else int(row["contract_id"]),
        trigger=Trigger(row["trigger"]),
        status=InvestigationStatus(row["status"]),
        detector_version=row["detector_version"],
        indicators=list(row.get("indicators") or []),
        window_start=to_date(row.get("window_start")),
        window_end=to_date(row.get("window_end")),
        progress=float(row.get("progress") or 0.0),
        findings_count=int(row.get("findings_count") or 0),
        risk_score=to_float(row.get("risk_score")),
        finding_indicators=list(row.get("finding_indicators") or []),
        max_severity=None if row.get("max_severity") is None else Severity(row["max_severity"]),
        **columns(row, _INVESTIGATION_TEXT),
        **columns(row, _INVESTIGATION_TIMES, to_datetime),
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


@dataclass(frozen=True, slots=True)
class DatasetPayload:
    samples: list[dict[str, Any]]  # as stored (JSON-safe)
    checksum: str  # sha256 of their canonical JSON
    positive: int
    negative: int


def dataset_payload(samples: list[dict[str, Any]]) -> DatasetPayload:
    """The samples as stored, their checksum and how many are labelled true and false positives."""
    canonical = _json_safe(samples, "dataset samples")
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return DatasetPayload(
        samples=canonical,
        checksum=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        positive=sum(1 for s in samples if s.get("label") == FeedbackLabel.TRUE_POSITIVE),
        negative=sum(1 for s in samples if s.get("label") == FeedbackLabel.FALSE_POSITIVE),
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
