"""A monitoring cycle in-process: simulator over HTTP -> Portal client -> PostgreSQL, with Redis state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.domain import InvestigationStatus, RunStatus, Trigger
from shared.pipeline import monitoring
from shared.pipeline.context import Budget, PipelineContext
from shared.pipeline.state import OrgaoQueue
from shared.store.base import ContractFilter, InvestigationFilter, StoreUnavailable
from tests.integration.pipeline.conftest import EVERYTHING_HOURS
from tests.integration.pipeline.expected import expected_flags, parsed_contracts

pytestmark = pytest.mark.integration

TASK = "vigia.monitoring.monitor_new_contracts"


def _cycle(ctx: PipelineContext, task_id: str, budget: Callable[[], Budget] = Budget.unlimited,
           configured: list[str] | None = None) -> tuple[monitoring.CyclePlan, int]:
    plan = monitoring.start_cycle(ctx, task=TASK, task_id=task_id, trigger=Trigger.SCHEDULED,
                                  lookback_hours=EVERYTHING_HOURS, configured=configured or [])
    steps = 0
    for orgao in plan.orgaos:
        while True:
            steps += 1
            step = monitoring.sweep(ctx, run_id=plan.run_id, orgao=orgao, window=plan.window,
                                    trigger=plan.trigger, owner=f"{task_id}-{orgao}", budget=budget())
            if step.status != "continue":
                break
    return plan, steps


def _reads_by_id(ctx: PipelineContext) -> list[int]:
    """Record the ids of every ``iter_contracts(ContractFilter(ids=...))`` read the context's store
    answers from now on."""
    read: list[int] = []
    iter_contracts = ctx.store.iter_contracts

    def spy(filters: ContractFilter = ContractFilter(), **options: Any) -> Any:
        read.extend(filters.ids or ())
        return iter_contracts(filters, **options)

    ctx.store.iter_contracts = spy  # type: ignore[method-assign]
    return read


def _investigations(ctx: PipelineContext) -> list[Any]:
    page = ctx.store.list_investigations(InvestigationFilter(), limit=5000)
    return page.items


def test_it_stores_every_contract_and_investigates_the_flagged_ones(make_context: Any, sim_dataset: Any) -> None:
    ctx = make_context()
    read_back = _reads_by_id(ctx)
    plan, _ = _cycle(ctx, "cycle-1")
    assert read_back == []  # the sweep analyses the contracts it upserted as it holds them
    run = ctx.store.get_run(plan.run_id)
    assert run is not None and run.status is RunStatus.SUCCEEDED, run
    assert ctx.store.count_contracts() == len(sim_dataset.contracts)
    assert run.counters["contracts_seen"] == len(sim_dataset.contracts)
    assert run.counters["contracts_new"] == len(sim_dataset.contracts)
    assert run.counters["orgaos_done"] == len(sim_dataset.orgaos) and run.counters["orgaos_failed"] == 0
    assert run.counters["pages"] >= len(sim_dataset.contracts) // 15

    expected = expected_flags(sim_dataset, with_sanctions=False)  # no sanctions refreshed yet
    investigations = _investigations(ctx)
    by_contract = {inv.contract_id: inv for inv in investigations}
    assert len(by_contract) == len(investigations), "a contract has two investigations"
    assert set(by_contract) == set(expected)
    assert run.counters["investigations_created"] == len(expected)
    assert all(inv.status is InvestigationStatus.COMPLETED for inv in investigations)
    sample = ctx.store.get_investigation(investigations[0].id)
    assert sample is not None and sample.findings and sample.investigation.summary
    assert sample.investigation.summary_source == "template"
    assert {f.finding.indicator for f in sample.findings} == expected[sample.investigation.contract_id]
    # Every planted per-contract anomaly that needs no sanctions list is among the investigations.
    planted = {code: ids for code, ids in sim_dataset.ground_truth.contracts.items() if code != "sanctioned_supplier"}
    for code, ids in planted.items():
        found = [cid for cid in ids if code in expected.get(cid, set())]
        assert found, f"no planted {code} contract was flagged"


def test_it_resumes_sweeps_from_the_cursor_when_the_budget_runs_out(make_context: Any, sim_dataset: Any) -> None:
    ctx = make_context()
    ticks = iter(range(10**9))
    # A budget that runs out after three clock reads: many short tasks instead of one long one.
    plan, steps = _cycle(ctx, "cycle-budget", budget=lambda: Budget(2.5, clock=lambda: float(next(ticks))))
    run = ctx.store.get_run(plan.run_id)
    assert run is not None and run.status is RunStatus.SUCCEEDED
    assert steps > len(plan.orgaos) * 2, "the sweeps never handed over"
    assert ctx.store.count_contracts() == len(sim_dataset.contracts)
    assert run.counters["contracts_new"] == len(sim_dataset.contracts)
    assert {i.contract_id for i in _investigations(ctx)} == set(expected_flags(sim_dataset, with_sanctions=False))


def test_it_analyses_contracts_whose_upsert_was_interrupted(make_context: Any, sim_dataset: Any) -> None:
    ctx = make_context()
    orgao = "30204"
    contracts = [c for c in parsed_contracts(sim_dataset) if c.orgao_codigo == orgao]
    # A worker died after writing the batch but before queueing it for analysis.
    OrgaoQueue(ctx.redis, ctx.source.value, orgao).before_upsert([c.id for c in contracts])
    ctx.store.upsert_contracts(contracts)
    read_back = _reads_by_id(ctx)
    plan, _ = _cycle(ctx, "cycle-wal", configured=[orgao])
    assert sorted(read_back) == sorted(c.id for c in contracts)  # the recovery path reads them back
    run = ctx.store.get_run(plan.run_id)
    assert run is not None and run.status is RunStatus.SUCCEEDED
    assert run.counters["contracts_new"] == 0 and run.counters["contracts_unchanged"] == len(contracts)
    expected = {cid for cid in expected_flags(sim_dataset, with_sanctions=False) if cid in {c.id for c in contracts}}
    assert expected and {i.contract_id for i in _investigations(ctx)} == expected


def test_it_runs_twice_without_duplicates_and_reanalyses_a_changed_contract(
    make_context: Any, sim_dataset: Any, simulator: Any
) -> None:
    ctx = make_context()
    _cycle(ctx, "first")
    before = {i.contract_id: i for i in _investigations(ctx)}
    target = next(c for c in parsed_contracts(sim_dataset) if c.id not in before and c.valor_inicial
                  and c.orgao_codigo == "36202")
    # A termo aditivo far above the 25 % cap: the contract changes and now trips amendment_over_limit.
    simulator.catalog.amend(target.id, {"valorFinalCompra": float(target.valor_inicial) * 3})
    plan, _ = _cycle(ctx, "second")
    run = ctx.store.get_run(plan.run_id)
    assert run is not None and run.status is RunStatus.SUCCEEDED
    assert run.counters["contracts_new"] == 0 and run.counters["contracts_changed"] == 1
    after = _investigations(ctx)
    assert len(after) == len(before) + 1 and len({i.contract_id for i in after}) == len(after)
    detail = ctx.store.get_investigation(next(i.id for i in after if i.contract_id == target.id))
    assert detail is not None and "amendment_over_limit" in {f.finding.indicator for f in detail.findings}
    assert run.counters["investigations_created"] == 1


def test_it_fails_a_run_that_read_nothing_because_the_portal_refused(make_context: Any, simulator: Any) -> None:
    from shared.portal.simulator.faults import FaultConfig

    ctx = make_context()
    plan = monitoring.start_cycle(ctx, task=TASK, task_id="refused", trigger=Trigger.SCHEDULED,
                                  lookback_hours=6, configured=["26201", "36202"])
    simulator.faults.configure(FaultConfig(forbidden=True))
    for orgao in plan.orgaos:
        with pytest.raises(Exception) as raised:
            monitoring.sweep(ctx, run_id=plan.run_id, orgao=orgao, window=plan.window, trigger=plan.trigger,
                             owner="t", budget=Budget.unlimited())
        # What the task does once it gives up: analyse what was stored, finish the part as failed.
        step = monitoring.sweep(ctx, run_id=plan.run_id, orgao=orgao, window=plan.window, trigger=plan.trigger,
                                owner="t", budget=Budget.unlimited(), error=str(raised.value)[:100])
        assert step.status == "done"
    run = ctx.store.get_run(plan.run_id)
    assert run is not None and run.status is RunStatus.FAILED
    assert run.counters.get("contracts_seen", 0) == 0 and run.counters["orgaos_failed"] == 2
    assert "every part failed" in (run.error or "")


def test_it_reuses_the_run_of_a_redelivered_cycle(make_context: Any) -> None:
    ctx = make_context()
    first = monitoring.start_cycle(ctx, task=TASK, task_id="same-id", trigger=Trigger.SCHEDULED, lookback_hours=6,
                                   configured=["26201", "99999"])
    again = monitoring.start_cycle(ctx, task=TASK, task_id="same-id", trigger=Trigger.SCHEDULED, lookback_hours=6,
                                   configured=["26201", "99999"])
    assert again.run_id == first.run_id and again.orgaos == first.orgaos == ["26201"]
    assert first.unknown == ["99999"]
    assert len(ctx.store.last_runs(task=TASK)) == 1


def test_it_stops_at_a_failed_upsert_and_resumes_from_the_last_stored_batch(make_context: Any, sim_dataset: Any) -> None:
    ctx = make_context()
    orgao = max({c.orgao_codigo for c in parsed_contracts(sim_dataset)},
                key=lambda o: sum(c.orgao_codigo == o for c in parsed_contracts(sim_dataset)))
    total = sum(c.orgao_codigo == orgao for c in parsed_contracts(sim_dataset))
    assert total > 3 * monitoring.UPSERT_BATCH, "the test needs an órgão of several batches"
    upsert, calls = ctx.store.upsert_contracts, []

    def failing_second(contracts: Any) -> Any:
        calls.append(len(contracts))
        if len(calls) == 2:
            raise StoreUnavailable("upsert_contracts: the database went away")
        return upsert(contracts)

    ctx.store.upsert_contracts = failing_second  # type: ignore[method-assign]
    plan = monitoring.start_cycle(ctx, task=TASK, task_id="cycle-upsert-fails", trigger=Trigger.SCHEDULED,
                                  lookback_hours=EVERYTHING_HOURS, configured=[orgao])
    with pytest.raises(StoreUnavailable, match="went away"):
        monitoring.sweep(ctx, run_id=plan.run_id, orgao=orgao, window=plan.window, trigger=plan.trigger,
                         owner="first", budget=Budget.unlimited())
    # the failure surfaced before a third batch was sent; only the first batch is stored
    assert len(calls) == 2
    assert ctx.store.count_contracts() == calls[0] >= monitoring.UPSERT_BATCH
    ctx.store.upsert_contracts = upsert  # type: ignore[method-assign]
    step = monitoring.sweep(ctx, run_id=plan.run_id, orgao=orgao, window=plan.window, trigger=plan.trigger,
                            owner="second", budget=Budget.unlimited())
    assert step.status == "done"
    assert ctx.store.count_contracts() == total
    run = ctx.store.get_run(plan.run_id)
    assert run is not None and run.status is RunStatus.SUCCEEDED
    expected = {cid for cid in expected_flags(sim_dataset, with_sanctions=False)
                if cid in {c.id for c in parsed_contracts(sim_dataset) if c.orgao_codigo == orgao}}
    assert {i.contract_id for i in _investigations(ctx)} == expected
