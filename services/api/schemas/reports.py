"""Models of the read-only reports: statistics, runs, the órgão ranking and health."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.api.schemas.investigations import FindingOut, from_finding
from shared.domain import RunStatus
from shared.logging import public_text
from shared.store.base import OrgaoRanking, Run, Stats


class RunOut(BaseModel):
    id: int
    task: str = Field(description="The task name, e.g. vigia.monitoring.monitor_new_contracts.")
    parameters: dict[str, Any]
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    counters: dict[str, int]
    result: dict[str, Any]
    error: str | None


class StatsOut(BaseModel):
    investigations_by_status: dict[str, int]
    findings_by_indicator: dict[str, int]
    investigations_by_orgao: dict[str, int]
    last_runs: list[RunOut] = Field(description="The latest run of each scheduled task, newest first.")


class OrgaoOut(BaseModel):
    orgao_codigo: str
    orgao_nome: str | None
    contracts: int
    investigations: int
    findings: int
    max_risk_score: float | None
    mean_risk_score: float | None
    orgao_findings: list[FindingOut] = Field(description="Órgão-level flags: supplier concentration, Benford.")


class HealthOut(BaseModel):
    status: Literal["ok"]


class CheckOut(BaseModel):
    ok: bool
    status: Literal["ok", "degraded", "unhealthy", "skipped"]
    detail: str = Field(description="What answered, or the error.")
    latency_ms: float | None = None


class LastHealthCheckOut(BaseModel):
    status: str | None = Field(description="healthy, degraded or unhealthy, as the last scheduled check found.")
    finished_at: datetime | None
    checks: dict[str, Any]


class ReadyOut(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, CheckOut] = Field(description="redis and database; both must be ok to be ready.")
    last_health_check: LastHealthCheckOut | None = Field(
        description="The latest vigia.maintenance.health_check result (informative: it does not decide readiness)."
    )


def _public(value: Any) -> Any:
    """Error texts and check details as the public may see them: no URLs, hosts or addresses."""
    if isinstance(value, str):
        return public_text(value)
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def from_run(run: Run) -> RunOut:
    values = {name: getattr(run, name) for name in RunOut.model_fields}
    values["error"], values["result"] = _public(run.error), _public(run.result)
    return RunOut.model_validate(values)


def from_stats(stats: Stats) -> StatsOut:
    return StatsOut(
        investigations_by_status=dict(stats.investigations_by_status),
        findings_by_indicator=dict(stats.findings_by_indicator),
        investigations_by_orgao=dict(stats.investigations_by_orgao),
        last_runs=[from_run(run) for run in stats.last_runs],
    )


def from_ranking(row: OrgaoRanking) -> OrgaoOut:
    values = {name: getattr(row, name) for name in OrgaoOut.model_fields if name != "orgao_findings"}
    values["orgao_findings"] = [FindingOut.model_validate(from_finding(f)) for f in row.orgao_findings]
    return OrgaoOut.model_validate(values)
