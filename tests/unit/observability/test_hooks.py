"""The pipeline's hooks: which run or report gives which ping and which alert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import fakeredis
import pytest

from shared.config import Settings
from shared.domain import Finding, InvestigationStatus, RunStatus, Severity, Trigger
from shared.observability import alerts, hooks
from shared.observability.heartbeat import run_id
from shared.store.base import Investigation, Run
from tests.support.webhooks import HeartbeatReceiver, heartbeat_receiver

MONITOR = "vigia.monitoring.monitor_new_contracts"


@pytest.fixture
def sent() -> Iterator[list[alerts.Alert]]:
    captured: list[alerts.Alert] = []
    alerts.use_sender(captured.append)
    yield captured
    alerts.use_sender(None)


@pytest.fixture
def monitor() -> Iterator[HeartbeatReceiver]:
    with heartbeat_receiver() as receiver:
        yield receiver


def _settings(monitor: HeartbeatReceiver, **values: Any) -> Settings:
    return Settings(_env_file=None, alert_webhook_url="https://hooks.example/x", heartbeat_url=monitor.url,
                    public_api_url="https://api.vigia.example", public_flower_url="https://flower.vigia.example",
                    **values)


def _run(status: RunStatus, task: str = MONITOR, **values: Any) -> Run:
    return Run(id=11, task=task, parameters={}, status=status, started_at=datetime.now(UTC), **values)


@pytest.mark.parametrize(("run", "kind"), [
    (_run(RunStatus.FAILED, error="every part failed (3)"), "cycle_failed"),
    (_run(RunStatus.SUCCEEDED, counters={"contracts_seen": 40, "orgaos_failed": 1},
          result={"parts": 3, "parts_failed": {"26000": "PortalUnavailable"}}), "cycle_lost_orgao"),
    (_run(RunStatus.SUCCEEDED, counters={"contracts_seen": 0}), "cycle_zero_contracts"),
])
def test_it_alerts_a_cycle_that_failed_lost_an_orgao_or_read_nothing(
    run: Run, kind: str, sent: list[alerts.Alert], monitor: HeartbeatReceiver,
) -> None:
    hooks.cycle_closed(_settings(monitor), fakeredis.FakeRedis(), run)
    [alert] = sent
    assert alert.kind == kind and alert.subject == MONITOR
    assert alert.link == "https://flower.vigia.example/tasks"
    expected = "fail" if run.status is RunStatus.FAILED else "success"
    assert [(p.signal, p.rid) for p in monitor.snapshot()] == [(expected, run_id("run", 11))]


def test_it_pings_success_and_stays_quiet_for_a_good_cycle(sent: list[alerts.Alert], monitor: HeartbeatReceiver) -> None:
    settings = _settings(monitor)
    hooks.cycle_started(settings, 11)
    hooks.cycle_closed(settings, fakeredis.FakeRedis(), _run(RunStatus.SUCCEEDED, counters={"contracts_seen": 9}))
    assert sent == []
    assert monitor.signals() == ["start", "success"]
    assert {p.rid for p in monitor.snapshot()} == {run_id("run", 11)}


def test_it_ignores_runs_that_are_not_monitoring_cycles(sent: list[alerts.Alert], monitor: HeartbeatReceiver) -> None:
    hooks.cycle_closed(_settings(monitor), fakeredis.FakeRedis(),
                       _run(RunStatus.FAILED, task="vigia.maintenance.refresh_sanctions"))
    assert sent == [] and monitor.signals() == []


def _report(status: str) -> dict[str, Any]:
    checks = {"redis": {"status": "ok", "detail": "PING answered"},
              "portal": {"status": "ok" if status == "healthy" else "degraded", "detail": "PortalUnavailable: 503"}}
    return {"status": status, "checks": checks}


def test_it_alerts_when_health_turns_degraded_and_back_once_each(
    sent: list[alerts.Alert], monitor: HeartbeatReceiver,
) -> None:
    settings, redis = _settings(monitor), fakeredis.FakeRedis()
    for number, status in enumerate(["healthy", "degraded", "degraded", "healthy", "healthy"]):
        hooks.health_started(settings, f"task-{number}")
        hooks.health_reported(settings, redis, f"task-{number}", _report(status))
    assert [(a.kind, a.subject) for a in sent] == [("health_degraded", "degraded"), ("health_recovered", "degraded")]
    assert "portal: PortalUnavailable: 503" in sent[0].detail
    assert sent[0].link == "https://api.vigia.example/health/ready"
    # A degraded check still ran: success; only an unhealthy one pings /fail.
    assert monitor.signals() == ["start", "success"] * 5


def test_it_pings_fail_when_the_health_check_is_unhealthy(sent: list[alerts.Alert], monitor: HeartbeatReceiver) -> None:
    report = {"status": "unhealthy", "checks": {"database": {"status": "unhealthy", "detail": "refused"}}}
    hooks.health_reported(_settings(monitor), fakeredis.FakeRedis(), "t", report)
    [ping] = monitor.snapshot()
    assert ping.signal == "fail" and "database: refused" in ping.body
    assert [a.kind for a in sent] == ["health_degraded"]


def _investigation() -> Investigation:
    return Investigation(id="6a0f3c3e-0000-4000-8000-000000000001", contract_id=991, orgao_codigo="26000",
                         trigger=Trigger.SCHEDULED, status=InvestigationStatus.COMPLETED, detector_version="v")


def _finding(severity: Severity) -> Finding:
    return Finding(indicator="sanctioned_supplier", severity=severity, score=1.0, subject_type="contract",
                   subject_id="991", explanation="Fornecedor com sanção nacional vigente.")


def test_it_alerts_a_critical_finding_with_a_link_to_its_investigation(
    sent: list[alerts.Alert], monitor: HeartbeatReceiver,
) -> None:
    settings, redis = _settings(monitor), fakeredis.FakeRedis()
    hooks.critical_findings(settings, redis, _investigation(), [_finding(Severity.HIGH)])
    assert sent == []
    hooks.critical_findings(settings, redis, _investigation(), [_finding(Severity.HIGH), _finding(Severity.CRITICAL)])
    [alert] = sent
    assert alert.kind == "critical_finding" and "contrato 991" in alert.title
    assert alert.link == f"https://api.vigia.example/api/v1/investigations/{_investigation().id}"


def test_it_alerts_a_refused_portal_key_but_not_other_permanent_errors(
    sent: list[alerts.Alert], monitor: HeartbeatReceiver,
) -> None:
    from shared.portal.errors import PermanentRequestError

    settings, redis = _settings(monitor), fakeredis.FakeRedis()
    hooks.portal_key_refused(settings, redis, PermanentRequestError("GET /contratos answered 400", status=400))
    hooks.portal_key_refused(settings, redis, PermanentRequestError("GET /contratos answered 401", status=401))
    hooks.portal_key_refused(settings, redis, PermanentRequestError("GET /contratos answered 401", status=401))
    assert [(a.kind, a.subject) for a in sent] == [("portal_key_refused", "401")]
