"""Models of investigations, their findings and contracts, on-demand requests and feedback.

Response models are built from the store's dataclasses by the ``from_*`` functions, so the store
can grow fields without the API leaking them unannounced.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from services.api.schemas.fields import ID_MAX, ContractId, Note, OrgaoCodigo
from shared.domain import Contract, FeedbackLabel, Finding, InvestigationStatus, Severity, Source, Trigger
from shared.logging import public_text
from shared.store.base import Feedback, Investigation, InvestigationDetail, StoredFinding

if TYPE_CHECKING:
    from shared.store.postgres.pages import JsonDetail, JsonItem

API_PREFIX = "/api/v1"


def investigation_url(investigation_id: str) -> str:
    return f"{API_PREFIX}/investigations/{investigation_id}"


class FindingOut(BaseModel):
    indicator: str
    severity: Severity
    score: float
    subject_type: str = Field(description="contract or orgao")
    subject_id: str
    explanation: str = Field(description="pt-BR sentence built from the numbers below.")
    contract_id: int | None = None
    orgao_codigo: str | None = None
    value: float | None = Field(default=None, description="What was measured.")
    threshold: float | None = Field(default=None, description="The limit it crossed.")
    baseline: dict[str, Any] = Field(default_factory=dict, description="What it was compared with.")
    fields: dict[str, Any] = Field(default_factory=dict, description="The contract fields read.")


class StoredFindingOut(FindingOut):
    id: int = Field(description="Use it as finding_id in feedback.")


BrlAmount = Annotated[Decimal | None, Field(description="BRL")]


class ContractOut(BaseModel):
    id: int
    source: Source = Field(description="simulator marks simulated data, never mixed with the Portal's.")
    numero: str | None = None
    objeto: str | None = None
    numero_processo: str | None = None
    fundamento_legal: str | None = None
    situacao: str | None = None
    modalidade_compra: str | None = None
    orgao_codigo: str | None = None
    orgao_nome: str | None = None
    ug_codigo: str | None = None
    ug_nome: str | None = None
    fornecedor_documento: str | None = None
    fornecedor_nome: str | None = None
    data_assinatura: date | None = None
    data_publicacao_dou: date | None = None
    data_inicio_vigencia: date | None = None
    data_fim_vigencia: date | None = None
    valor_inicial: BrlAmount = None
    valor_final: BrlAmount = None


class InvestigationOut(BaseModel):
    id: UUID
    url: str = Field(description="Where this investigation is served.")
    contract_id: int | None
    orgao_codigo: str | None
    trigger: Trigger
    status: InvestigationStatus
    detector_version: str
    indicators: list[str] = Field(description="Indicators requested; empty means all.")
    window_start: date | None = None
    window_end: date | None = None
    progress: float = Field(ge=0, le=1)
    findings_count: int
    finding_indicators: list[str] = Field(description="Indicators among its findings.")
    max_severity: Severity | None = Field(description="The most severe of its findings.")
    risk_score: float | None
    summary: str | None = Field(description="pt-BR summary (Groq model or template).")
    summary_source: str | None = Field(description="template, or the model that wrote the summary.")
    error: str | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime | None


class InvestigationDetailOut(InvestigationOut):
    findings: list[StoredFindingOut]
    contract: ContractOut | None


class InvestigationPage(BaseModel):
    items: list[InvestigationOut]
    total: int | None = Field(
        default=None,
        description="Only with include_total=true: how many investigations match, counted up to 10000 "
        "(total_capped=true says there are more). Null otherwise: no page pays for a count.",
    )
    total_capped: bool = Field(default=False, description="true when total stopped at its bound.")
    page: int | None = Field(description="This page's number (page pagination); null with a cursor.")
    page_size: int
    offset: int = Field(description="Rows skipped (numbered pages); 0 with a cursor.")
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null when this page is not full (the last one). "
        "A full last page gives a cursor whose page is empty."
    )


class InvestigationRequest(BaseModel):
    """Either a Portal contract id, or an órgão and a date window."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # Exactly one of the two shapes, with no part of the other (null counts as absent).
            "oneOf": [
                {
                    "required": ["contract_id"],
                    "properties": {"contract_id": {"type": "integer"}},
                    "not": {"anyOf": [{"required": [name]} for name in ("orgao_codigo", "window_start", "window_end")]},
                },
                {
                    "required": ["orgao_codigo", "window_start", "window_end"],
                    "properties": {name: {"type": "string"} for name in ("orgao_codigo", "window_start", "window_end")},
                    "not": {"required": ["contract_id"]},
                },
            ],
            "examples": [{"contract_id": 123456}, {"orgao_codigo": "26000", "window_start": "2024-01-01", "window_end": "2024-03-31"}],
        },
    )

    contract_id: ContractId | None = None
    orgao_codigo: OrgaoCodigo | None = None
    window_start: date | None = Field(default=None, description="First day of the window (with orgao_codigo).")
    window_end: date | None = Field(default=None, description="Last day of the window, inclusive.")


class InvestigationAccepted(BaseModel):
    id: UUID
    status: InvestigationStatus
    created: bool = Field(description="false when an equal request was already pending and is returned instead.")
    poll_url: str = Field(description="GET it until status is completed, failed or cancelled.")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: FeedbackLabel
    finding_id: int | None = Field(default=None, ge=1, le=ID_MAX, strict=True, description="One finding of this investigation.")
    note: Note | None = None


class FeedbackOut(BaseModel):
    id: int
    investigation_id: UUID
    finding_id: int | None
    label: FeedbackLabel
    note: str | None
    author: str | None = Field(description="A hash of the API key that sent it, or anonymous.")
    created_at: datetime


def from_finding(finding: Finding) -> dict[str, Any]:
    return {
        "indicator": finding.indicator,
        "severity": finding.severity,
        "score": finding.score,
        "subject_type": finding.subject_type,
        "subject_id": finding.subject_id,
        "explanation": finding.explanation,
        "contract_id": finding.contract_id,
        "orgao_codigo": finding.orgao_codigo,
        "value": finding.value,
        "threshold": finding.threshold,
        "baseline": finding.baseline,
        "fields": finding.fields,
    }


def from_stored_finding(stored: StoredFinding) -> StoredFindingOut:
    return StoredFindingOut(id=stored.id, **from_finding(stored.finding))


def from_contract(contract: Contract) -> ContractOut:
    return ContractOut.model_validate({name: getattr(contract, name) for name in ContractOut.model_fields})


def _investigation_fields(inv: Investigation) -> dict[str, Any]:
    values = {name: getattr(inv, name) for name in InvestigationOut.model_fields if name != "url"}
    values["url"] = investigation_url(inv.id)
    # Written by workers from exceptions; rows from before the sanitising writers are covered too.
    values["error"] = public_text(inv.error) if inv.error else inv.error
    return values


def from_investigation(inv: Investigation) -> InvestigationOut:
    return InvestigationOut.model_validate(_investigation_fields(inv))


def investigation_json(item: JsonItem) -> bytes:
    """The JSON PostgreSQL wrote for one row (:mod:`shared.store.postgres.pages`), with its error
    masked as :func:`_investigation_fields` masks it: the bytes ``from_investigation`` would give."""
    error = "null" if item.error is None else to_json(public_text(item.error)).decode()
    return (item.head + error + item.tail).encode()


def detail_json(detail: JsonDetail) -> bytes:
    """``from_detail`` of the same investigation as JSON: its JSON text from PostgreSQL, then the
    findings and the contract (the last two fields of InvestigationDetailOut) from the models."""
    contract = b"null" if detail.contract is None else from_contract(detail.contract).model_dump_json().encode()
    findings = b"[" + b",".join(from_stored_finding(f).model_dump_json().encode() for f in detail.findings) + b"]"
    return investigation_json(detail.item)[:-1] + b',"findings":' + findings + b',"contract":' + contract + b"}"


_EMPTY_ITEMS = b'{"items":[]'


def page_json(items: list[bytes], **fields: Any) -> bytes:
    """``InvestigationPage(items=..., **fields)`` as JSON, for items already serialised: pydantic
    writes the envelope around an empty list, and the items go in its place."""
    envelope = InvestigationPage(items=[], **fields).model_dump_json().encode()
    assert envelope.startswith(_EMPTY_ITEMS)
    return b'{"items":[' + b",".join(items) + b"]" + envelope[len(_EMPTY_ITEMS):]


def from_detail(detail: InvestigationDetail) -> InvestigationDetailOut:
    return InvestigationDetailOut.model_validate(
        {
            **_investigation_fields(detail.investigation),
            "findings": [from_stored_finding(f) for f in detail.findings],
            "contract": from_contract(detail.contract) if detail.contract is not None else None,
        }
    )


def from_feedback(feedback: Feedback) -> FeedbackOut:
    return FeedbackOut.model_validate({name: getattr(feedback, name) for name in FeedbackOut.model_fields})
