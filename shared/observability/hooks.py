"""The calls the pipeline makes where something an operator must know about happens.

Each hook takes what its caller already holds (settings, Redis, the run or the report), turns it
into heartbeat pings and alerts, and never raises: observing a failure must not cause one. With
neither ``ALERT_WEBHOOK_URL`` nor ``HEARTBEAT_URL`` set, each returns at once.

* :func:`cycle_started` / :func:`cycle_closed` — around each monitoring cycle (its run row); a
  cycle that failed, lost an órgão or read zero contracts alerts, and pings ``/fail``.
* :func:`health_started` / :func:`health_reported` — around the hourly health check; the overall
  status turning degraded or unhealthy (and healthy again) alerts. The ping is ``/fail`` only when
  it is *unhealthy* (Redis or the database down): a degraded Portal or Groq is an alert, not a
  dead deployment.
* :func:`critical_findings` — an investigation completed with a critical finding.
* :func:`portal_key_refused` — the Portal answered 401/403 to a task.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from shared import redis_keys, task_names
from shared.domain import RunStatus, Severity
from shared.observability import heartbeat
from shared.observability.alerts import Alert, raise_alert

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.domain import Finding
    from shared.store.base import Investigation, Run

log = logging.getLogger("vigia.observability")

MONITOR_TASKS = task_names.MONITOR_CYCLES
# The API's path prefix (services.api.schemas.investigations.API_PREFIX; shared never imports services).
API_PREFIX = "/api/v1"
HEALTH_STATUS_KEY = redis_keys.HEALTH_LAST_STATUS
_CYCLE_NAMES = {task_names.MONITOR_NEW_CONTRACTS: "ciclo de monitoramento",
                task_names.MONITOR_PRIORITY_ORGS: "ciclo dos órgãos prioritários"}


def _wanted(settings: Settings) -> bool:
    return settings.alert_webhook_url is not None or settings.heartbeat_url is not None


def _api_link(settings: Settings, path: str) -> str | None:
    return settings.public_api_url.rstrip("/") + path if settings.public_api_url else None


def _flower_link(settings: Settings, path: str) -> str | None:
    if settings.public_flower_url:
        return settings.public_flower_url.rstrip("/") + path
    return _api_link(settings, "/health/ready")


def cycle_started(settings: Settings, run_id: int) -> None:
    try:
        heartbeat.ping(settings, "start", rid=heartbeat.run_id("run", run_id))
    except Exception as error:  # pragma: no cover - ping() never raises; belt and braces
        log.warning("heartbeat hook failed: %s", error)


def cycle_closed(settings: Settings, redis: Any, run: Run | None) -> None:
    """A monitoring run closed: ping success or fail, and alert what went wrong."""
    if run is None or run.task not in MONITOR_TASKS or not _wanted(settings):
        return
    try:
        _cycle_closed(settings, redis, run)
    except Exception as error:
        log.warning("observability hook failed: %s", error, extra={"run_id": run.id})


def _cycle_closed(settings: Settings, redis: Any, run: Run) -> None:
    name = _CYCLE_NAMES[run.task]
    seen = int(run.counters.get("contracts_seen", 0))
    lost = int(run.counters.get("orgaos_failed", 0))
    link = _flower_link(settings, "/tasks")
    alert: Alert | None = None
    if run.status is RunStatus.FAILED:
        alert = Alert("cycle_failed", f"o {name} falhou (execução {run.id})",
                      f"Motivo: {(run.error or 'não registrado')[:300]}", subject=run.task, link=link)
    elif lost:
        parts = ", ".join(sorted(run.result.get("parts_failed", {}))[:5])
        alert = Alert("cycle_lost_orgao", f"o {name} perdeu {lost} órgão(s) (execução {run.id})",
                      f"Órgãos sem leitura: {parts or '?'}. Os contratos deles voltam no próximo ciclo.",
                      subject=run.task, link=link)
    elif seen == 0:
        alert = Alert("cycle_zero_contracts", f"o {name} leu zero contratos (execução {run.id})",
                      "Nenhum contrato na janela: confira a chave do Portal, WATCHED_ORGAOS e o próprio Portal.",
                      subject=run.task, link=link)
    rid = heartbeat.run_id("run", run.id)
    if run.status is RunStatus.FAILED:
        heartbeat.ping(settings, "fail", rid=rid, body=f"{run.task} run {run.id} failed: {run.error or ''}")
    else:
        heartbeat.ping(settings, "success", rid=rid,
                       body=f"{run.task} run {run.id}: {seen} contracts read, {lost} órgãos lost")
    if alert is not None:
        raise_alert(settings, redis, alert)


def health_started(settings: Settings, task_id: str | None) -> None:
    if task_id:
        heartbeat.ping(settings, "start", rid=heartbeat.run_id("health", task_id))


def health_reported(settings: Settings, redis: Any, task_id: str | None, report: Mapping[str, Any]) -> None:
    """The hourly health check's report: ping its end, alert when the overall status changed."""
    if not _wanted(settings):
        return
    try:
        _health_reported(settings, redis, task_id, report)
    except Exception as error:
        log.warning("observability hook failed: %s", error)


def _problems(report: Mapping[str, Any]) -> str:
    checks = report.get("checks", {})
    bad = [f"{name}: {check.get('detail', '')[:160]}" for name, check in checks.items()
           if isinstance(check, Mapping) and check.get("status") in ("degraded", "unhealthy")]
    return "; ".join(bad)[:900]


def _health_reported(settings: Settings, redis: Any, task_id: str | None, report: Mapping[str, Any]) -> None:
    status = str(report.get("status", "unhealthy"))
    problems = _problems(report)
    if task_id:
        rid = heartbeat.run_id("health", task_id)
        if status == "unhealthy":
            heartbeat.ping(settings, "fail", rid=rid, body=f"health check unhealthy: {problems}")
        else:
            heartbeat.ping(settings, "success", rid=rid, body=f"health check {status}")
    if settings.alert_webhook_url is None:
        return
    previous = _swap_status(redis, status)
    link = _api_link(settings, "/health/ready")
    if status != "healthy" and previous != status:
        raise_alert(settings, redis, Alert(
            "health_degraded", f"a verificação de saúde está {_PT[status]}",
            f"Problemas: {problems or 'ver o relatório'}", subject=status, link=link))
    elif status == "healthy" and previous in ("degraded", "unhealthy"):
        raise_alert(settings, redis, Alert(
            "health_recovered", "a verificação de saúde voltou ao normal",
            f"Estava {_PT[previous]}; todos os componentes respondem.", subject=previous, link=link))


_PT = {"healthy": "saudável", "degraded": "degradada", "unhealthy": "fora do ar"}


def _swap_status(redis: Any, status: str) -> str | None:
    """The overall status the last report had (None the first time), recording this one."""
    if redis is None:
        return None
    previous = redis.set(HEALTH_STATUS_KEY, status, get=True)
    if isinstance(previous, bytes):
        previous = previous.decode()
    return previous if isinstance(previous, str) else None


def critical_findings(settings: Settings, redis: Any, investigation: Investigation,
                      findings: Iterable[Finding]) -> None:
    """An investigation completed with at least one critical finding: one alert per window."""
    if settings.alert_webhook_url is None:
        return
    try:
        critical = [f for f in findings if f.severity is Severity.CRITICAL]
        if not critical:
            return
        first = critical[0]
        raise_alert(settings, redis, Alert(
            "critical_finding",
            f"achado crítico no contrato {investigation.contract_id} (órgão {investigation.orgao_codigo or '?'})",
            f"{first.indicator}: {first.explanation[:300]}",
            link=_api_link(settings, f"{API_PREFIX}/investigations/{investigation.id}")))
    except Exception as error:
        log.warning("observability hook failed: %s", error)


def portal_key_refused(settings: Settings, redis: Any, error: BaseException) -> None:
    """The Portal answered 401 or 403: the key was revoked, mistyped or never activated."""
    status = getattr(error, "status", None)
    if settings.alert_webhook_url is None or status not in (401, 403):
        return
    raise_alert(settings, redis, Alert(
        "portal_key_refused", f"o Portal da Transparência recusou a chave (HTTP {status})",
        "Confira TRANSPARENCY_API_KEY (e o e-mail de ativação do Portal); os ciclos falham até lá.",
        subject=str(status), link=_api_link(settings, "/health/ready")))
