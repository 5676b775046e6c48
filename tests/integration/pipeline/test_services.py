"""The other pipeline services in-process: on-demand investigations, sanctions, re-analysis,
health, stuck work, the training dataset and the metrics report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from shared.detection import DETECTOR_VERSION
from shared.domain import FeedbackLabel, Finding, InvestigationStatus, RunStatus, Severity, Trigger, utcnow
from shared.pipeline import health, investigate, maintenance, monitoring, reanalysis, runs, sanctions
from shared.pipeline.context import Budget, PipelineContext
from shared.store.base import InvestigationFilter
from tests.integration.pipeline.conftest import EVERYTHING_HOURS
from tests.integration.pipeline.expected import expected_flags, parsed_contracts

pytestmark = pytest.mark.integration


def _refresh(ctx: PipelineContext) -> int:
    run_id = sanctions.start_refresh(ctx, task="vigia.maintenance.refresh_sanctions", task_id="refresh")
    assert run_id is not None
    assert sanctions.refresh(ctx, run_id=run_id, owner="t", budget=Budget.unlimited()) == "done"
    return run_id


def _cycle(ctx: PipelineContext, configured: list[str] | None = None, task_id: str = "cycle") -> int:
    plan = monitoring.start_cycle(ctx, task="vigia.monitoring.monitor_new_contracts", task_id=task_id,
                                  trigger=Trigger.SCHEDULED, lookback_hours=EVERYTHING_HOURS,
                                  configured=configured or [])
    for orgao in plan.orgaos:
        monitoring.sweep(ctx, run_id=plan.run_id, orgao=orgao, window=plan.window, trigger=plan.trigger,
                         owner="t", budget=Budget.unlimited())
    return plan.run_id


def _on_demand(ctx: PipelineContext, **where: Any) -> str:
    investigation, created = ctx.store.create_or_get_investigation(
        trigger=Trigger.ON_DEMAND, detector_version=DETECTOR_VERSION, **{"contract_id": None, "orgao_codigo": None,
                                                                         **where})
    assert created
    return investigation.id


def test_it_refreshes_sanctions_and_flags_sanctioned_suppliers(make_context: Any, sim_dataset: Any) -> None:
    ctx = make_context()
    run = ctx.store.get_run(_refresh(ctx))
    assert run is not None and run.status is RunStatus.SUCCEEDED
    total = len(sim_dataset.ceis) + len(sim_dataset.cnep)
    assert run.counters["sanctions_seen"] == total and run.counters["sanctions_written"] == total
    assert run.counters["ceis_seen"] == len(sim_dataset.ceis)
    _cycle(ctx)
    expected = expected_flags(sim_dataset)
    investigations = ctx.store.list_investigations(InvestigationFilter(), limit=5000).items
    assert {i.contract_id for i in investigations} == set(expected)
    sanctioned = {cid for cid, codes in expected.items() if "sanctioned_supplier" in codes}
    assert sanctioned & set(sim_dataset.ground_truth.contracts["sanctioned_supplier"])


def test_it_investigates_one_contract_on_demand(make_context: Any, sim_dataset: Any) -> None:
    ctx = make_context()
    _cycle(ctx, ["26201", "36202"])
    expected = expected_flags(sim_dataset, with_sanctions=False)
    planted = next(cid for cid in sim_dataset.ground_truth.contracts["amendment_over_limit"]
                   if cid in expected and "amendment_over_limit" in expected[cid])
    investigation_id = _on_demand(ctx, contract_id=planted)
    done = investigate.run_investigation(ctx, investigation_id)
    assert done is not None and done.status is InvestigationStatus.COMPLETED
    detail = ctx.store.get_investigation(investigation_id)
    assert detail is not None and "amendment_over_limit" in {f.finding.indicator for f in detail.findings}
    assert detail.investigation.summary and detail.investigation.risk_score


def test_it_fails_an_on_demand_contract_the_portal_does_not_know(make_context: Any) -> None:
    ctx = make_context()
    investigation_id = _on_demand(ctx, contract_id=987654321)
    investigate.run_investigation(ctx, investigation_id)
    detail = ctx.store.get_investigation(investigation_id)
    assert detail is not None and detail.investigation.status is InvestigationStatus.FAILED
    assert "987654321" in (detail.investigation.error or "")


def test_it_investigates_an_orgao_window_on_demand(make_context: Any, sim_dataset: Any) -> None:
    # Benford needs n >= 1 000 contracts in the órgão-year: 70 pages, past the default on-demand cap.
    ctx = make_context(api_on_demand_max_pages=100)
    investigation_id = _on_demand(ctx, orgao_codigo="26201", window_start=date(2024, 1, 1),
                                  window_end=date(2024, 12, 31))
    done = investigate.run_investigation(ctx, investigation_id)
    assert done is not None and done.status is InvestigationStatus.COMPLETED
    detail = ctx.store.get_investigation(investigation_id)
    assert detail is not None
    indicators = {f.finding.indicator for f in detail.findings}
    # Benford was planted for this órgão in 2024 (ground truth); the órgão-level finding is attached.
    assert ("26201", 2024) in sim_dataset.ground_truth.orgao_years["benford_deviation"]
    assert "benford_deviation" in indicators
    assert detail.investigation.summary and "26201" in detail.investigation.summary
    assert ctx.store.count_contracts() > 0


def test_it_reanalyses_stored_contracts_and_clears_flags_that_no_longer_hold(
    make_context: Any, sim_dataset: Any
) -> None:
    ctx = make_context()
    _cycle(ctx)
    expected = expected_flags(sim_dataset, with_sanctions=False)
    today = ctx.clock().date()
    recent = [c for c in parsed_contracts(sim_dataset)
              if c.data_assinatura and today - timedelta(days=180) <= c.data_assinatura <= today
              and c.id not in expected]
    assert recent, "the data set has no recent clean contract"
    clean = recent[0]
    stale, _ = ctx.store.create_or_get_investigation(contract_id=clean.id, orgao_codigo=clean.orgao_codigo,
                                                     trigger=Trigger.SCHEDULED, detector_version=DETECTOR_VERSION)
    fake = Finding(indicator="late_publication", severity=Severity.MEDIUM, score=0.5, subject_type="contract",
                   subject_id=str(clean.id), explanation="sinal antigo", contract_id=clean.id)
    ctx.store.complete_investigation(stale.id, findings=[fake], risk_score=0.5, summary="antigo",
                                     summary_source="template")
    before = ctx.store.list_investigations(InvestigationFilter(), limit=5000).total
    run_id = reanalysis.start_reanalysis(ctx, task="vigia.analysis.reanalyze_historical", task_id="re", months=6)
    assert run_id is not None
    assert reanalysis.reanalyze(ctx, run_id=run_id, owner="t", budget=Budget.unlimited()) == "done"
    run = ctx.store.get_run(run_id)
    assert run is not None and run.status is RunStatus.SUCCEEDED
    assert run.counters["windows_done"] == len(reanalysis.windows_for(today, 6))
    assert run.counters["contracts_seen"] >= len(recent)
    assert ctx.store.list_investigations(InvestigationFilter(), limit=5000).total == before
    cleared = ctx.store.get_investigation(stale.id)
    assert cleared is not None and cleared.findings == [] and cleared.investigation.risk_score == 0


def test_it_completes_again_without_it_an_old_version_flag_the_current_rules_withdraw(
    make_context: Any, sim_dataset: Any
) -> None:
    from shared.pipeline.analysis import analyze_contracts

    ctx = make_context()
    _cycle(ctx)
    previous = "1.0123456789ab"  # what the previous detector version wrote

    def old_investigation(contract_id: int, *codes: str) -> str:
        contract = ctx.store.get_contract(contract_id)
        assert contract is not None
        investigation, created = ctx.store.create_or_get_investigation(
            contract_id=contract_id, orgao_codigo=contract.orgao_codigo, trigger=Trigger.SCHEDULED,
            detector_version=previous)
        assert created
        old = [Finding(indicator=code, severity=Severity.HIGH, score=1.0, subject_type="contract",
                       subject_id=str(contract_id), explanation="a Lei 14.133/2021 (art. 125) ...",
                       contract_id=contract_id) for code in codes]
        ctx.store.complete_investigation(investigation.id, findings=old, risk_score=1.0, summary="antigo",
                                         summary_source="template")
        return investigation.id

    # A prorrogued cleaning contract the old rules flagged over art. 125: the flag no longer holds.
    prorrogued = sim_dataset.ground_truth.lookalikes["amendment_over_limit"][0]
    withdrawn = old_investigation(prorrogued, "amendment_over_limit")
    # A planted acréscimo flagged with a second, withdrawn flag: the acréscimo stays, the other goes.
    planted = sim_dataset.ground_truth.contracts["amendment_over_limit"][0]
    revised = old_investigation(planted, "amendment_over_limit", "supplier_concentration")
    outcome = analyze_contracts(ctx, [prorrogued, planted], trigger=Trigger.REANALYSIS, clear_unflagged=True)
    assert outcome.cleared == 2
    gone = ctx.store.get_investigation(withdrawn)
    assert gone is not None and gone.findings == [] and gone.investigation.risk_score == 0
    assert gone.investigation.status is InvestigationStatus.COMPLETED
    kept = ctx.store.get_investigation(revised)
    assert kept is not None and [s.finding.indicator for s in kept.findings] == ["amendment_over_limit"]
    assert kept.findings[0].finding.baseline["regime"] in {"lei_14133", "lei_8666"}


def test_it_reports_health_and_degrades_on_stale_or_empty_runs(make_context: Any, sim_dataset: Any) -> None:
    from shared.portal.models import parse_sanction

    ctx = make_context()
    now = utcnow()
    periods = {"vigia.maintenance.health_check": timedelta(hours=1)}
    empty = health.check_sanction_mirror(ctx.store, now=now)
    assert empty.status == "degraded" and "no CEIS/CNEP record" in empty.detail
    ctx.store.upsert_sanctions([parse_sanction(sim_dataset.ceis[0], "ceis")])
    assert health.check_sanction_mirror(ctx.store, now=now + timedelta(days=3)).status == "degraded"
    checks = health.run_health_checks(redis=ctx.redis, store=ctx.store, portal=ctx.portal, groq=None,
                                      periods=periods, now=now)
    assert health.overall(checks) == "healthy", {k: v.as_dict() for k, v in checks.items()}
    assert checks["groq"].status == "skipped" and checks["portal"].status == "ok"

    run = ctx.store.open_run("vigia.monitoring.monitor_new_contracts", {})
    ctx.store.close_run(run.id, status=RunStatus.SUCCEEDED, counters={"contracts_seen": 0})
    assert health.check_zero_contract_runs(ctx.store).status == "degraded"

    done = ctx.store.open_run("vigia.maintenance.health_check", {})
    ctx.store.close_run(done.id, status=RunStatus.SUCCEEDED)
    assert health.check_schedules(ctx.store, periods, now=now).status == "ok"
    later = health.check_schedules(ctx.store, periods, now=now + timedelta(hours=3))
    assert later.status == "degraded" and "health_check" in later.detail
    weekly = {"vigia.maintenance.build_training_dataset": timedelta(days=7)}
    assert health.check_schedules(ctx.store, weekly, now=now, first_seen=now - timedelta(hours=1)).status == "ok"
    assert health.check_schedules(ctx.store, weekly, now=now, first_seen=now - timedelta(days=12)).status == "degraded"


def test_it_reports_an_unreachable_database_as_unhealthy(make_context: Any) -> None:
    from shared.store import PostgresStore

    ctx = make_context()
    broken = PostgresStore("postgresql://nobody@127.0.0.1:1/none", connect_timeout=1, pool_timeout=2)
    checks = health.run_health_checks(redis=ctx.redis, store=broken, portal=None, groq=None, periods={},
                                      now=utcnow())
    assert checks["database"].status == "unhealthy" and health.overall(checks) == "unhealthy"
    assert "schedules" not in checks
    broken.close()


def test_it_fails_stuck_investigations_and_runs(make_context: Any) -> None:
    ctx = make_context()
    stuck = _on_demand(ctx, contract_id=1)
    run = ctx.store.open_run("vigia.monitoring.monitor_new_contracts", {})
    ctx.clock = lambda: utcnow() + timedelta(hours=13)
    counters, result = maintenance.cleanup_stuck(ctx)
    assert counters == {"investigations_failed": 1, "runs_failed": 1}
    detail = ctx.store.get_investigation(stuck)
    assert detail is not None and detail.investigation.status is InvestigationStatus.FAILED
    closed = ctx.store.get_run(run.id)
    assert closed is not None and closed.status is RunStatus.FAILED and "did not finish" in (closed.error or "")
    assert stuck in result["investigations"]


def test_it_builds_the_training_dataset_and_the_metrics_report(make_context: Any) -> None:
    ctx = make_context()
    assert maintenance.build_training_dataset(ctx)[0] == {"samples": 0}
    _cycle(ctx, ["30204"])
    investigation = ctx.store.list_investigations(InvestigationFilter(), limit=1).items[0]
    ctx.store.record_feedback(investigation.id, label=FeedbackLabel.TRUE_POSITIVE, note="confirmado")
    counters, result = maintenance.build_training_dataset(ctx)
    assert counters["samples"] == 1 and counters["positive"] == 1
    assert ctx.store.latest_dataset() is not None and result["dataset_id"] == ctx.store.latest_dataset().id
    counters, report = maintenance.metrics_report(ctx)
    assert report["success_rate"] == 1.0 and report["findings_by_indicator"]
    assert report["runs_by_task"]["vigia.monitoring.monitor_new_contracts"] == {"succeeded": 1}


def test_it_records_one_run_per_task_id(make_context: Any) -> None:
    ctx = make_context()
    first = runs.begin(ctx, "vigia.maintenance.metrics_report", "task-1", {})
    assert first is not None
    assert runs.begin(ctx, "vigia.maintenance.metrics_report", "task-1", {}).id == first.id
    runs.succeed(ctx, first.id)
    assert runs.begin(ctx, "vigia.maintenance.metrics_report", "task-1", {}) is None
    assert len(ctx.store.last_runs(task="vigia.maintenance.metrics_report")) == 1


def test_it_writes_groq_summaries_and_falls_back_to_the_template_when_rate_limited(make_context: Any) -> None:
    from tests.support.groq import KEY, MODEL, Reply, groq_standin

    with groq_standin() as groq:
        ctx = make_context(groq_api_key=KEY, groq_api_url=groq.url, groq_model=MODEL)
        groq.queue(Reply(content="Este contrato tem sinais de alerta que merecem verificação."),
                   Reply(kind="rate_limited", retry_after="120"))
        run_id = _cycle(ctx, ["30204"])
        run = ctx.store.get_run(run_id)
        assert run is not None and run.status is RunStatus.SUCCEEDED
        investigations = ctx.store.list_investigations(InvestigationFilter(), limit=500).items
        sources = [i.summary_source for i in investigations]
        # The first summary came from Groq; the 429 paused it, and the rest used the template.
        assert sources.count(MODEL) == 1 and sources.count("template") == len(investigations) - 1
        assert len(groq.completions) == 2
        assert run.counters["summaries_groq"] == 1 and run.counters["summaries_template"] == len(investigations) - 1
        assert all(i.status is InvestigationStatus.COMPLETED for i in investigations)
