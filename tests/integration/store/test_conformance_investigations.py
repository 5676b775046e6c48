"""Conformance, part 2: investigations, their findings and feedback, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared.domain import FeedbackLabel, InvestigationStatus, Severity, Trigger
from shared.store.base import (
    Completion,
    Conflict,
    InvestigationFilter,
    NotFound,
    Store,
    StoreError,
    keyset_of,
)
from tests.integration.store.factories import make_contract, make_finding

pytestmark = pytest.mark.integration

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def automatic(store: Store, contract_id: int, version: str = "d1", trigger: Trigger = Trigger.SCHEDULED) -> Any:
    return store.create_or_get_investigation(
        contract_id=contract_id, orgao_codigo=None, trigger=trigger, detector_version=version
    )


def test_it_creates_one_automatic_investigation_per_contract_and_detector_version(store: Store) -> None:
    store.upsert_contracts([make_contract(1)])
    first, created = automatic(store, 1)
    assert created and first.status is InvestigationStatus.PENDING and first.orgao_codigo == "26000"
    again, created_again = automatic(store, 1, trigger=Trigger.PRIORITY)  # a redelivered or overlapping task
    assert not created_again and again.id == first.id
    newer, created_newer = automatic(store, 1, version="d2")
    assert created_newer and newer.id != first.id


def test_it_shares_an_open_on_demand_request_and_opens_a_new_one_after_it_ends(store: Store) -> None:
    ask = {"contract_id": 5, "orgao_codigo": None, "trigger": Trigger.ON_DEMAND, "detector_version": "d1",
           "indicators": ["price_outlier"]}
    first, created = store.create_or_get_investigation(**ask)
    assert created and first.indicators == ["price_outlier"] and first.contract_id == 5
    second, created_second = store.create_or_get_investigation(**ask)
    assert not created_second and second.id == first.id
    store.complete_investigation(first.id, findings=[], risk_score=0.0, summary="nada", summary_source="template")
    third, created_third = store.create_or_get_investigation(**ask)
    assert created_third and third.id != first.id


def test_it_keys_orgao_requests_by_window(store: Store) -> None:
    window = {"contract_id": None, "orgao_codigo": "26000", "trigger": Trigger.ON_DEMAND, "detector_version": "d1"}
    a, _ = store.create_or_get_investigation(**window, window_start=date(2024, 1, 1), window_end=date(2024, 6, 30))
    b, created = store.create_or_get_investigation(**window, window_start=date(2024, 1, 1), window_end=date(2024, 6, 30))
    c, created_c = store.create_or_get_investigation(**window, window_start=date(2024, 7, 1), window_end=date(2024, 12, 31))
    assert not created and b.id == a.id and created_c and c.id != a.id
    assert a.window_start == date(2024, 1, 1) and a.contract_id is None
    with pytest.raises(StoreError, match="contract id or an órgão"):
        store.create_or_get_investigation(contract_id=None, orgao_codigo=None, trigger=Trigger.ON_DEMAND,
                                          detector_version="d1")


def test_it_moves_an_investigation_through_its_states(store: Store) -> None:
    inv, _ = automatic(store, 1)
    running = store.mark_running(inv.id)
    assert running.status is InvestigationStatus.RUNNING and running.started_at is not None
    assert store.mark_running(inv.id).started_at == running.started_at  # idempotent
    store.set_progress(inv.id, 0.5)
    detail = store.get_investigation(inv.id)
    assert detail is not None and detail.investigation.progress == pytest.approx(0.5)

    failed = store.fail_investigation(inv.id, error="portal unavailable")
    assert failed.status is InvestigationStatus.FAILED and failed.error == "portal unavailable"
    assert failed.finished_at is not None
    assert store.fail_investigation(inv.id, error="again").status is InvestigationStatus.FAILED
    with pytest.raises(Conflict, match=r"mark_running\(.*\): the investigation is failed"):
        store.mark_running(inv.id)
    store.set_progress(inv.id, 0.9)  # ignored once terminal
    detail = store.get_investigation(inv.id)
    assert detail is not None and detail.investigation.progress == pytest.approx(0.5)

    other, _ = automatic(store, 2)
    cancelled = store.cancel_investigation(other.id, reason="requested by user")
    assert cancelled.status is InvestigationStatus.CANCELLED and cancelled.error == "requested by user"
    with pytest.raises(Conflict, match="cancelled"):
        store.complete_investigation(other.id, findings=[], risk_score=None, summary=None, summary_source=None)
    with pytest.raises(Conflict):
        store.fail_investigation(other.id, error="late")


def test_it_names_unknown_investigations(store: Store) -> None:
    for call in (
        lambda: store.mark_running(UNKNOWN),
        lambda: store.mark_running("not-a-uuid"),
        lambda: store.cancel_investigation(UNKNOWN, reason="x"),
        lambda: store.set_progress(UNKNOWN, 0.1),
        lambda: store.complete_investigation(UNKNOWN, findings=[], risk_score=None, summary=None, summary_source=None),
        lambda: store.record_feedback(UNKNOWN, label=FeedbackLabel.UNCERTAIN),
    ):
        with pytest.raises(NotFound, match=UNKNOWN[:8] + "|not-a-uuid"):
            call()
    assert store.get_investigation(UNKNOWN) is None
    assert store.get_investigation("nope") is None
    with pytest.raises(StoreError, match=r"progress must be within \[0, 1\]"):
        store.set_progress(UNKNOWN, 1.5)


def test_it_replaces_findings_keeping_the_ids_of_those_found_again(store: Store) -> None:
    store.upsert_contracts([make_contract(1)])
    inv, _ = automatic(store, 1)
    store.mark_running(inv.id)
    findings = [make_finding("price_outlier"), make_finding("late_publication", severity=Severity.MEDIUM, score=0.4)]
    done = store.complete_investigation(inv.id, findings=findings, risk_score=0.7, summary="Resumo.",
                                        summary_source="template")
    assert done.status is InvestigationStatus.COMPLETED and done.progress == 1.0
    assert done.findings_count == 2 and done.risk_score == pytest.approx(0.7)
    assert done.finding_indicators == ["late_publication", "price_outlier"]
    assert done.max_severity is Severity.HIGH and done.summary_source == "template"

    detail = store.get_investigation(inv.id)
    assert detail is not None and detail.contract == make_contract(1)
    assert [f.finding for f in detail.findings] == findings
    ids = {f.finding.indicator: f.id for f in detail.findings}

    store.complete_investigation(inv.id, findings=findings, risk_score=0.7, summary="Resumo.", summary_source="template")
    rerun = store.get_investigation(inv.id)
    assert rerun is not None and {f.finding.indicator: f.id for f in rerun.findings} == ids

    reanalysed = store.complete_investigation(inv.id, findings=[make_finding("price_outlier", score=0.95)],
                                              risk_score=0.9, summary="Novo.", summary_source="llama-3.3-70b-versatile")
    assert reanalysed.findings_count == 1 and reanalysed.finding_indicators == ["price_outlier"]
    latest = store.get_investigation(inv.id)
    assert latest is not None and [f.id for f in latest.findings] == [ids["price_outlier"]]
    assert latest.findings[0].finding.score == pytest.approx(0.95)


def test_it_refuses_two_findings_with_one_key_and_keeps_the_previous_result(store: Store) -> None:
    inv, _ = automatic(store, 1)
    store.complete_investigation(inv.id, findings=[make_finding()], risk_score=0.5, summary="a", summary_source="template")
    with pytest.raises(Conflict, match="price_outlier/contract/1"):
        store.complete_investigation(inv.id, findings=[make_finding(), make_finding(score=0.1)], risk_score=0.1,
                                     summary="b", summary_source="template")
    detail = store.get_investigation(inv.id)
    assert detail is not None and detail.investigation.summary == "a" and len(detail.findings) == 1
    with pytest.raises(StoreError, match="must be finite"):
        store.complete_investigation(inv.id, findings=[make_finding(value=float("nan"))], risk_score=0.1,
                                     summary="c", summary_source="template")


def test_it_lists_investigations_by_filter_sort_and_page(store: Store, db: psycopg.Connection[Any]) -> None:
    store.upsert_contracts([make_contract(i, orgao_codigo="26000" if i <= 3 else "36000") for i in range(1, 6)])
    made = []
    for i, (findings, risk) in enumerate([
        ([make_finding("price_outlier", subject_id="1", severity=Severity.CRITICAL)], 0.9),
        ([make_finding("late_publication", subject_id="2", severity=Severity.LOW, score=0.2)], 0.2),
        ([], None),
        ([make_finding("price_outlier", subject_id="4", severity=Severity.MEDIUM, score=0.5)], 0.5),
    ], start=1):
        inv, _ = automatic(store, i)
        if risk is not None:
            inv = store.complete_investigation(inv.id, findings=findings, risk_score=risk, summary="s",
                                               summary_source="template")
        made.append(inv)
    on_demand, _ = store.create_or_get_investigation(contract_id=5, orgao_codigo=None, trigger=Trigger.ON_DEMAND,
                                                     detector_version="d1")
    # distinct, known creation times so the sort is checked, not the insertion order
    for offset, inv in enumerate([*made, on_demand]):
        db.execute("UPDATE investigations SET created_at = %s WHERE id = %s",
                   (datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=offset), inv.id))

    def ids(**filters: Any) -> list[str]:
        return [i.id for i in store.list_investigations(InvestigationFilter(**filters), limit=100).items]

    everything = store.list_investigations()
    assert everything.total == 5 and [i.id for i in everything.items] == [on_demand.id, *reversed([m.id for m in made])]
    assert ids(orgao_codigo="26000") == [made[2].id, made[1].id, made[0].id]
    assert ids(indicator="price_outlier") == [made[3].id, made[0].id]
    assert ids(severity=Severity.MEDIUM) == [made[3].id, made[0].id]
    assert ids(status=InvestigationStatus.PENDING) == [on_demand.id, made[2].id]
    assert ids(trigger=Trigger.ON_DEMAND) == [on_demand.id]
    assert ids(min_risk_score=0.5) == [made[3].id, made[0].id]
    assert ids(contract_id=2) == [made[1].id]
    assert ids(created_from=datetime(2025, 1, 1, 1, tzinfo=UTC), created_to=datetime(2025, 1, 1, 2, tzinfo=UTC)) == [
        made[2].id, made[1].id]

    by_risk = store.list_investigations(sort="-risk_score")
    assert [i.risk_score for i in by_risk.items] == [0.9, 0.5, 0.2, None, None]
    ascending = store.list_investigations(sort="risk_score")
    assert [i.risk_score for i in ascending.items][:3] == [0.2, 0.5, 0.9]
    assert [i.id for i in store.list_investigations(sort="created_at", limit=2).items] == [made[0].id, made[1].id]
    page = store.list_investigations(limit=2, offset=4)
    assert page.total == 5 and [i.id for i in page.items] == [made[0].id] and (page.limit, page.offset) == (2, 4)
    with pytest.raises(StoreError, match="sort must be one of"):
        store.list_investigations(sort="size")  # type: ignore[arg-type]


@pytest.mark.parametrize("sort", ["-created_at", "created_at", "-risk_score", "risk_score"])
def test_it_walks_every_sort_by_keyset_without_repeating_or_skipping(
    store: Store, db: psycopg.Connection[Any], sort: str
) -> None:
    made = []
    for i in range(1, 10):
        inv, _ = automatic(store, i)
        # ties on score (two 0.5s), unscored rows, and one shared creation time, so the id breaks ties
        risk = [0.5, None, 0.9, 0.5, 0.1, None, 0.7, 0.5, None][i - 1]
        if risk is not None:
            inv = store.complete_investigation(inv.id, findings=[], risk_score=risk, summary="s", summary_source="template")
        db.execute("UPDATE investigations SET created_at = %s WHERE id = %s",
                   (datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=min(i, 5)), inv.id))
        made.append(inv)
    whole = [i.id for i in store.list_investigations(sort=sort, limit=100).items]  # type: ignore[arg-type]
    walked: list[str] = []
    after = None
    for _ in range(10):
        page = store.list_investigations(sort=sort, limit=2, after=after, with_total=False)  # type: ignore[arg-type]
        assert page.total is None
        walked += [i.id for i in page.items]
        if len(page.items) < 2:
            break
        after = keyset_of(page.items[-1], sort)  # type: ignore[arg-type]
    assert walked == whole and len(set(walked)) == 9
    scores = [i.risk_score for i in store.list_investigations(sort=sort, limit=100).items]  # type: ignore[arg-type]
    if "risk" in sort:
        assert scores[-3:] == [None, None, None]  # unscored last in both directions
    capped = store.list_investigations(limit=1, count_limit=3)
    assert capped.total == 4  # counted up to the limit + 1, no further


def test_it_fails_investigations_stuck_longer_than_the_limit(store: Store, db: psycopg.Connection[Any]) -> None:
    stuck, _ = automatic(store, 1)
    store.mark_running(stuck.id)
    fresh, _ = automatic(store, 2)
    done, _ = automatic(store, 3)
    store.complete_investigation(done.id, findings=[], risk_score=0.0, summary="", summary_source="template")
    db.execute("ALTER TABLE investigations DISABLE TRIGGER investigations_touch")
    try:
        db.execute("UPDATE investigations SET updated_at = now() - interval '2 hours' WHERE id IN (%s, %s)",
                   (stuck.id, done.id))
    finally:
        db.execute("ALTER TABLE investigations ENABLE TRIGGER investigations_touch")

    failed = store.fail_stuck_investigations(older_than=datetime.now(UTC) - timedelta(hours=1), reason="stuck > 60 min")
    assert failed == [stuck.id]
    detail = store.get_investigation(stuck.id)
    assert detail is not None and detail.investigation.status is InvestigationStatus.FAILED
    assert detail.investigation.error == "stuck > 60 min"
    fresh_detail = store.get_investigation(fresh.id)
    assert fresh_detail is not None and fresh_detail.investigation.status is InvestigationStatus.PENDING


def test_it_records_feedback_on_an_investigation_or_one_of_its_findings(store: Store) -> None:
    inv, _ = automatic(store, 1)
    store.complete_investigation(inv.id, findings=[make_finding()], risk_score=0.8, summary="s", summary_source="template")
    other, _ = automatic(store, 2)
    store.complete_investigation(other.id, findings=[make_finding(subject_id="2")], risk_score=0.8, summary="s",
                                 summary_source="template")
    detail = store.get_investigation(inv.id)
    other_detail = store.get_investigation(other.id)
    assert detail is not None and other_detail is not None
    finding_id = detail.findings[0].id

    on_finding = store.record_feedback(inv.id, label=FeedbackLabel.TRUE_POSITIVE, finding_id=finding_id,
                                       note="Confirmado no DOU", author="analista@example.org")
    assert (on_finding.finding_id, on_finding.label, on_finding.note) == (finding_id, FeedbackLabel.TRUE_POSITIVE,
                                                                          "Confirmado no DOU")
    whole = store.record_feedback(inv.id, label=FeedbackLabel.FALSE_POSITIVE)
    assert whole.finding_id is None and whole.created_at is not None and whole.id > on_finding.id
    with pytest.raises(NotFound, match=f"finding {other_detail.findings[0].id} is not a finding of investigation"):
        store.record_feedback(inv.id, label=FeedbackLabel.UNCERTAIN, finding_id=other_detail.findings[0].id)


def test_it_creates_and_completes_a_chunk_of_investigations_in_one_call_each(store: Store) -> None:
    store.upsert_contracts([make_contract(1), make_contract(2), make_contract(3)])
    existing, _ = automatic(store, 3)
    created = store.create_or_get_investigations([(1, None), (2, "26000"), (3, None), (1, None)],
                                                 trigger=Trigger.SCHEDULED, detector_version="d1")
    assert [was_new for _, was_new in created] == [True, True, False, False]
    first, second, third, repeat = (investigation for investigation, _ in created)
    assert third.id == existing.id and repeat.id == first.id and first.orgao_codigo == "26000"
    assert all(i.status is InvestigationStatus.PENDING for i in (first, second, third))
    store.cancel_investigation(second.id, reason="um revisor encerrou")

    findings = [make_finding("price_outlier"), make_finding("late_publication", severity=Severity.MEDIUM, score=0.4)]
    done = store.complete_investigations([
        Completion(first.id, findings, 0.7, "Resumo.", "template"),
        Completion(second.id, [make_finding()], 0.5, "Outro.", "template"),
        Completion(third.id, [], 0.0, "Sem alertas.", "template"),
    ])
    assert done[1] is None  # the cancellation stands, and the other two completed
    assert done[0] is not None and done[0].status is InvestigationStatus.COMPLETED and done[0].findings_count == 2
    assert done[0].finding_indicators == ["late_publication", "price_outlier"] and done[0].risk_score == pytest.approx(0.7)
    assert done[2] is not None and done[2].findings_count == 0 and done[2].summary == "Sem alertas."
    detail = store.get_investigation(first.id)
    assert detail is not None and [f.finding for f in detail.findings] == findings
    cancelled = store.get_investigation(second.id)
    assert cancelled is not None and cancelled.investigation.status is InvestigationStatus.CANCELLED
    assert cancelled.findings == []

    # the same as one call at a time: completing the first again alone leaves the same rows
    single = store.complete_investigation(first.id, findings=findings, risk_score=0.7, summary="Resumo.",
                                          summary_source="template")
    again = store.get_investigation(first.id)
    assert again is not None and [f.id for f in again.findings] == [f.id for f in detail.findings]
    assert single.findings_count == done[0].findings_count and single.max_severity is done[0].max_severity


def test_it_refuses_chunks_it_cannot_write(store: Store) -> None:
    assert store.create_or_get_investigations([], trigger=Trigger.SCHEDULED, detector_version="d1") == []
    assert store.complete_investigations([]) == []
    with pytest.raises(StoreError, match="on-demand requests are created one at a time"):
        store.create_or_get_investigations([(1, None)], trigger=Trigger.ON_DEMAND, detector_version="d1")
    with pytest.raises(NotFound, match="nope"):
        store.complete_investigations([Completion("nope", [], None, None, None)])
    inv, _ = automatic(store, 1)
    with pytest.raises(Conflict, match="price_outlier/contract/1"):
        store.complete_investigations([Completion(inv.id, [make_finding(), make_finding(score=0.1)], 0.1, "b", "template")])
    detail = store.get_investigation(inv.id)
    assert detail is not None and detail.investigation.status is InvestigationStatus.PENDING and detail.findings == []
