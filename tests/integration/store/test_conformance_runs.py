"""Conformance, part 3: runs, training datasets and reports, on both backends."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from shared.domain import FeedbackLabel, RunStatus, Severity, Trigger
from shared.store.base import NotFound, Store, StoreError
from tests.integration.store.factories import make_contract, make_finding

pytestmark = pytest.mark.integration


def test_it_opens_counts_and_closes_a_run(store: Store) -> None:
    run = store.open_run("vigia.monitoring.monitor_new_contracts", {"lookback_hours": 6, "orgaos": ["26000"]})
    assert run.status is RunStatus.RUNNING and run.finished_at is None and run.counters == {}
    assert run.parameters == {"lookback_hours": 6, "orgaos": ["26000"]}

    store.add_run_counters(run.id, {"pages": 2, "contracts_seen": 40})
    store.add_run_counters(run.id, {"pages": 1, "new": 3})
    closed = store.close_run(run.id, status=RunStatus.SUCCEEDED, counters={"investigations_created": 3})
    assert closed.status is RunStatus.SUCCEEDED and closed.finished_at is not None
    assert closed.counters == {"pages": 3, "contracts_seen": 40, "new": 3, "investigations_created": 3}
    assert store.get_run(run.id) == closed
    assert store.get_run(run.id + 1000) is None


def test_it_adds_counters_from_concurrent_subtasks_without_losing_any(store: Store) -> None:
    run = store.open_run("vigia.monitoring.monitor_new_contracts", {})
    errors: list[BaseException] = []

    def report() -> None:
        try:
            for _ in range(10):
                store.add_run_counters(run.id, {"pages": 1, "contracts_seen": 50})
        except BaseException as error:  # surfaced below; a thread cannot fail the test itself
            errors.append(error)

    threads = [threading.Thread(target=report) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    stored = store.get_run(run.id)
    assert stored is not None and stored.counters == {"pages": 40, "contracts_seen": 2000}


def test_it_stores_a_health_check_report_as_a_run_result(store: Store) -> None:
    run = store.open_run("vigia.maintenance.health_check", {})
    report = {"status": "degraded", "checks": {"redis": {"ok": True, "ms": 1.5}, "portal": {"ok": False, "error": "503"}}}
    closed = store.close_run(run.id, status=RunStatus.FAILED, result=report, error="portal: 503")
    assert closed.result == report and closed.error == "portal: 503"
    last = store.last_runs(task="vigia.maintenance.health_check", limit=1)
    assert last == [closed]


def test_it_lists_the_most_recent_runs_first(store: Store) -> None:
    runs = [store.open_run(task, {}) for task in ("a", "b", "a")]
    store.close_run(runs[0].id, status=RunStatus.FAILED, error="boom")
    assert [r.id for r in store.last_runs()] == [runs[2].id, runs[1].id, runs[0].id]
    assert [r.id for r in store.last_runs(task="a")] == [runs[2].id, runs[0].id]
    assert [r.id for r in store.last_runs(status=RunStatus.FAILED)] == [runs[0].id]
    assert len(store.last_runs(limit=2)) == 2


def test_it_refuses_bad_run_input_with_the_operation_named(store: Store) -> None:
    run = store.open_run("t", {})
    with pytest.raises(StoreError, match=r"close_run\(\d+\): a run closes as succeeded or failed"):
        store.close_run(run.id, status=RunStatus.RUNNING)
    with pytest.raises(StoreError, match="counter 'pages' must be an integer"):
        store.add_run_counters(run.id, {"pages": 1.5})  # type: ignore[dict-item]
    with pytest.raises(NotFound, match=r"add_run_counters\(999999\)"):
        store.add_run_counters(999_999, {"pages": 1})
    with pytest.raises(NotFound, match=r"close_run\(999999\)"):
        store.close_run(999_999, status=RunStatus.SUCCEEDED)


def test_it_builds_a_training_dataset_from_feedback(store: Store) -> None:
    store.upsert_contracts([make_contract(1), make_contract(2)])
    for contract_id, label in ((1, FeedbackLabel.TRUE_POSITIVE), (2, FeedbackLabel.FALSE_POSITIVE)):
        inv, _ = store.create_or_get_investigation(contract_id=contract_id, orgao_codigo=None,
                                                   trigger=Trigger.SCHEDULED, detector_version="d1")
        store.complete_investigation(inv.id, findings=[make_finding(subject_id=str(contract_id))], risk_score=0.6,
                                     summary="s", summary_source="template")
        detail = store.get_investigation(inv.id)
        assert detail is not None
        store.record_feedback(inv.id, label=label, finding_id=detail.findings[0].id)
    store.record_feedback(inv.id, label=FeedbackLabel.UNCERTAIN)

    samples = store.training_samples()
    assert [s.label for s in samples] == [FeedbackLabel.TRUE_POSITIVE, FeedbackLabel.FALSE_POSITIVE,
                                          FeedbackLabel.UNCERTAIN]
    assert samples[0].indicator == "price_outlier" and samples[2].finding_id is None
    assert samples[0].features["score"] == pytest.approx(0.8) and samples[0].features["baseline_n"] == 31
    assert samples[0].features["risk_score"] == pytest.approx(0.6)

    assert store.latest_dataset() is None
    first = store.save_dataset(feature_version="f1", samples=samples)
    assert (first.total, first.positive, first.negative) == (3, 1, 1)
    second = store.save_dataset(feature_version="f1", samples=samples)
    assert second.checksum == first.checksum and len(first.checksum) == 64
    latest = store.latest_dataset()
    assert latest is not None and latest.id == second.id and latest.samples == first.samples
    assert latest.samples[0]["label"] == "true_positive"


def test_it_reports_stats_and_ranks_orgaos(store: Store) -> None:
    store.upsert_contracts([make_contract(1), make_contract(2, orgao_codigo="36000", orgao_nome="Saúde"),
                            make_contract(3, orgao_codigo="36000", orgao_nome="Saúde")])
    risks = {1: 0.3, 2: 0.9, 3: 0.5}
    for contract_id, risk in risks.items():
        inv, _ = store.create_or_get_investigation(contract_id=contract_id, orgao_codigo=None,
                                                   trigger=Trigger.SCHEDULED, detector_version="d1")
        store.complete_investigation(inv.id, findings=[make_finding(subject_id=str(contract_id))], risk_score=risk,
                                     summary="s", summary_source="template")
    store.create_or_get_investigation(contract_id=9, orgao_codigo="26000", trigger=Trigger.ON_DEMAND,
                                      detector_version="d1")
    run = store.open_run("vigia.maintenance.health_check", {})

    stats = store.stats()
    assert stats.investigations_by_status == {"completed": 3, "pending": 1}
    assert stats.findings_by_indicator == {"price_outlier": 3}
    assert stats.investigations_by_orgao == {"26000": 2, "36000": 2}
    assert [r.id for r in stats.last_runs] == [run.id]

    concentration = make_finding("supplier_concentration", subject_id="36000", subject_type="orgao",
                                 severity=Severity.HIGH, score=0.7, contract_id=None, orgao_codigo="36000")
    store.save_orgao_findings("36000", 2024, [concentration], "d1")
    ranking = store.orgao_ranking(limit=10)
    assert [r.orgao_codigo for r in ranking] == ["36000", "26000"]
    top = ranking[0]
    assert (top.orgao_nome, top.contracts, top.investigations, top.findings) == ("Saúde", 2, 2, 2)
    assert top.max_risk_score == pytest.approx(0.9) and top.mean_risk_score == pytest.approx(0.7)
    assert top.orgao_findings == [concentration]
    assert ranking[1].max_risk_score == pytest.approx(0.3) and ranking[1].investigations == 2
    assert len(store.orgao_ranking(limit=1)) == 1


def test_it_replaces_the_orgao_findings_of_one_year(store: Store, db: psycopg.Connection[Any]) -> None:
    benford = make_finding("benford_deviation", subject_id="26000", subject_type="orgao", contract_id=None,
                           severity=Severity.MEDIUM, score=0.5)
    concentration = make_finding("supplier_concentration", subject_id="26000", subject_type="orgao", contract_id=None)
    store.save_orgao_findings("26000", 2024, [benford, concentration], "d1")
    store.save_orgao_findings("26000", 2023, [benford], "d1")
    store.save_orgao_findings("26000", 2024, [concentration], "d2")
    rows = db.execute("SELECT year, indicator, detector_version FROM orgao_findings ORDER BY year, indicator").fetchall()
    assert rows == [(2023, "benford_deviation", "d1"), (2024, "supplier_concentration", "d2")]


def test_it_answers_a_ping(store: Store) -> None:
    store.ping()
