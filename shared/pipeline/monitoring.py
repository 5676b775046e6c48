"""A monitoring cycle: open a run, sweep each órgão's contracts, analyse what is new, close the run.

:func:`start_cycle` opens the run (once per task id, so a redelivered fan-out reuses it), picks
the window and the órgãos, and records the plan in Redis. The task layer then sends one sweep
per órgão. :func:`sweep` pages ``/contratos`` through the shared rate limiter and upserts in
batches, writing each batch's ids to the órgão's write-ahead set first; then it analyses the
contracts the upserts reported new or changed, as it holds them. Both phases stop when their
time budget is spent and say so (:attr:`Step.CONTINUE`); the cursor in Redis lets the next task resume at the next
page. The sweep that finishes last closes the run: *failed* when every sweep failed or when
nothing was read and something failed, never a silent zero-contract success.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from shared import redis_keys
from shared.domain import Contract, RunStatus, Trigger
from shared.observability import hooks
from shared.pipeline import state
from shared.pipeline.analysis import analyze_contracts
from shared.pipeline.context import Budget, PipelineContext, Step, lease_seconds
from shared.pipeline.ingest import PageTally, store_contracts
from shared.pipeline.runs import DUPLICATE_DELIVERY, close_if_complete
from shared.pipeline.state import OrgaoQueue, RunState, SweepState
from shared.pipeline.windows import Window, sweep_window
from shared.store.base import Run, StoreUnavailable

log = logging.getLogger("vigia.pipeline.monitoring")

# Contracts per upsert transaction: small enough that an órgão's pages are stored in several
# batches, each overlapping the reading of the next pages.
UPSERT_BATCH = 100
ORGAOS_CACHE_KEY = redis_keys.ORGAOS_CACHE
ORGAOS_CACHE_SECONDS = 24 * 3600


class NothingToSweep(RuntimeError):
    """The cycle has no valid órgão (none listed by the Portal, or every configured code unknown)."""


@dataclass(frozen=True, slots=True)
class CyclePlan:
    run_id: int
    orgaos: list[str]
    window: Window
    trigger: Trigger
    closed: bool = False  # the run was already closed (a redelivery after the end)
    unknown: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SweepStep:
    status: Step
    counters: dict[str, int] = field(default_factory=dict)
    run: Run | None = None
    retry_in: int = 0  # BUSY: seconds until the other copy's lease expires


def portal_orgaos(ctx: PipelineContext) -> dict[str, str | None]:
    """``/orgaos-siafi`` as code -> name, cached in Redis for a day (every process shares it)."""
    cached = ctx.redis.get(ORGAOS_CACHE_KEY)
    if cached:
        return dict(json.loads(cached))
    listed = {str(o["codigo"]): o.get("descricao") for o in ctx.portal.iter_orgaos()}
    if listed:
        ctx.redis.set(ORGAOS_CACHE_KEY, json.dumps(listed), ex=ORGAOS_CACHE_SECONDS)
    return listed


def resolve_orgaos(ctx: PipelineContext, configured: list[str]) -> tuple[list[str], list[str]]:
    """(órgãos to sweep, configured codes the Portal does not list). Empty ``configured`` = all."""
    listed = portal_orgaos(ctx)
    if not configured:
        return sorted(listed), []
    unknown = [code for code in configured if code not in listed]
    if unknown:
        log.error("configured órgão codes are not in /orgaos-siafi; they are skipped",
                  extra={"unknown": unknown, "fix": "check WATCHED_ORGAOS / PRIORITY_ORGAOS"})
    return [code for code in dict.fromkeys(configured) if code in listed], unknown


def catch_up_reference(ctx: PipelineContext, task: str) -> Run | None:
    """The run a new cycle's window reaches back to: the latest succeeded run that lost no órgão.

    A run that lost one (a Portal storm it did not weather) does not count: otherwise that órgão's
    contracts published late whose vigência ended meanwhile would fall before every later window.
    """
    runs = ctx.store.last_runs(task=task, status=RunStatus.SUCCEEDED, limit=20)
    return next((run for run in runs if not int(run.counters.get("orgaos_failed", 0))), runs[-1] if runs else None)


def start_cycle(
    ctx: PipelineContext,
    *,
    task: str,
    task_id: str | None,
    trigger: Trigger,
    lookback_hours: int,
    configured: list[str],
) -> CyclePlan:
    """Open (or find again) the task's run and fix its plan. Portal errors propagate (retry them);
    :class:`NothingToSweep` closes the run as failed before it propagates."""
    run_id = state.task_run(ctx.redis, task_id)
    if run_id is not None:
        run = ctx.store.get_run(run_id)
        saved = RunState(ctx.redis, run_id)
        plan_orgaos, plan_window = saved.field("orgaos"), saved.field("window")
        if run is not None and plan_orgaos is not None and plan_window is not None:
            return CyclePlan(run_id, list(plan_orgaos), Window.from_params(plan_window), trigger,
                             closed=run.status is not RunStatus.RUNNING)
    else:
        last = catch_up_reference(ctx, task)
        window = sweep_window(ctx.clock(), lookback_hours=lookback_hours, timezone=ctx.settings.timezone,
                              last_success_started=last.started_at if last else None)
        params: dict[str, Any] = {"lookback_hours": lookback_hours, "trigger": str(trigger), **window.as_params(),
                                  "configured_orgaos": configured[:100], "task_id": task_id}
        opened = ctx.store.open_run(task, params)
        run_id = state.remember_task_run(ctx.redis, task_id, opened.id)
        if run_id != opened.id:
            ctx.store.close_run(opened.id, status=RunStatus.FAILED, error=f"{DUPLICATE_DELIVERY} {task_id}")
    run = ctx.store.get_run(run_id)
    assert run is not None
    window = Window.from_params(run.parameters)
    orgaos, unknown = resolve_orgaos(ctx, configured)
    if not orgaos:
        reason = (f"no configured órgão is listed by /orgaos-siafi: {unknown}" if unknown
                  else "/orgaos-siafi listed no órgão")
        if RunState(ctx.redis, run_id).claim_close():
            closed = ctx.store.close_run(run_id, status=RunStatus.FAILED, error=reason,
                                         result={"unknown_orgaos": unknown})
            hooks.cycle_closed(ctx.settings, ctx.redis, closed)
        raise NothingToSweep(reason)
    RunState(ctx.redis, run_id).plan(orgaos, orgaos=orgaos, window=window.as_params(), trigger=str(trigger),
                                     unknown=unknown)
    log.info("monitoring cycle planned", extra={"run_id": run_id, "orgaos": len(orgaos), **window.as_params()})
    return CyclePlan(run_id, orgaos, window, trigger, unknown=unknown)


def fail_cycle(ctx: PipelineContext, run_id: int, error: str) -> None:
    """The fan-out itself failed for good (e.g. the Portal never listed the órgãos)."""
    if RunState(ctx.redis, run_id).claim_close():
        hooks.cycle_closed(ctx.settings, ctx.redis, ctx.store.close_run(run_id, status=RunStatus.FAILED, error=error))


def _page(ctx: PipelineContext, sweep_state: SweepState, queue: OrgaoQueue, orgao: str, window: Window,
          budget: Budget, held: dict[int, Contract]) -> bool:
    """Fetch and store pages from the cursor on; True when the last page was stored. The contracts
    each upsert reports new or changed go into ``held``, for the analysis that follows.

    One upsert at a time runs on a writer thread while the next pages are read: the database's
    share of a batch (most of its cost) then overlaps the Portal's. Batches are stored, and the
    cursor moved past them, in page order; a failed upsert raises here before any later batch."""
    first = sweep_state.cursor()
    batch: dict[int, Contract] = {}
    tally = PageTally("contract", where={"orgao": orgao})
    batch_first = next_page = first
    in_flight: tuple[Future[None], int] | None = None  # the upsert running, and the page after its batch

    def store(contracts: dict[int, Contract], pages: tuple[int, int], counters: dict[str, int]) -> None:
        result = store_contracts(ctx, contracts, queue=queue)
        held.update((cid, contracts[cid]) for cid in result.to_analyze)
        sweep_state.record_batch(pages[0], pages[1], counters | {
            "contracts_new": len(result.new), "contracts_changed": len(result.changed),
            "contracts_unchanged": len(result.unchanged),
        })

    def stored() -> None:
        nonlocal in_flight
        if in_flight is not None:
            (future, after), in_flight = in_flight, None
            future.result()
            log.info("sweep progress", extra={"orgao": orgao, "next_page": after})

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"upsert-{orgao}") as writer:

        def flush() -> None:
            nonlocal batch, batch_first, in_flight
            stored()
            in_flight = writer.submit(store, batch, (batch_first, next_page), tally.counters()), next_page
            batch, batch_first = {}, next_page
            tally.reset()

        pages = ctx.portal.iter_contract_pages(orgao, data_inicial=window.data_inicial, data_final=window.data_final,
                                               first_page=first)
        for page in pages:
            tally.add(page)
            for contract in page.items:
                batch[contract.id] = contract
            next_page = page.number + 1
            log.debug("page read", extra={"orgao": orgao, "page": page.number})
            if len(batch) >= UPSERT_BATCH or budget.exhausted():
                flush()
                if budget.exhausted():
                    stored()
                    return False
        if tally.pages or batch:
            flush()
        stored()
    return True


def sweep(
    ctx: PipelineContext,
    *,
    run_id: int,
    orgao: str,
    window: Window,
    trigger: Trigger,
    owner: str,
    budget: Budget,
    error: str | None = None,
) -> SweepStep:
    """Advance one órgão's sweep as far as ``budget`` allows.

    ``error`` (retries exhausted) skips the remaining pages: what was stored is still analysed,
    then the part finishes as failed with that reason.
    """
    runs = RunState(ctx.redis, run_id)
    if runs.is_done(orgao):
        return SweepStep(Step.ALREADY_DONE, run=close_if_complete(ctx, run_id))
    sweep_state = SweepState(ctx.redis, run_id, orgao)
    if not sweep_state.acquire(owner, lease_seconds(ctx.settings)):
        log.info("another copy of this sweep holds its lease; checking again when it expires",
                 extra={"orgao": orgao})
        return SweepStep(Step.BUSY, retry_in=sweep_state.lease_left())
    try:
        queue = OrgaoQueue(ctx.redis, ctx.source.value, orgao)
        recovered = queue.recover()
        if recovered:
            log.warning("contracts of an interrupted upsert queued for analysis",
                        extra={"orgao": orgao, "count": recovered})
        if error is not None:
            sweep_state.set_phase("analysis", error=error)
        held: dict[int, Contract] = {}
        if sweep_state.phase() == "paging":
            if not _page(ctx, sweep_state, queue, orgao, window, budget, held):
                return SweepStep(Step.CONTINUE)
            sweep_state.set_phase("analysis")
        # Pending ids this task did not upsert (an earlier task's, or recovered above) are read
        # back from the store: that is the write-ahead set's recovery path, and the only one.
        outcome = analyze_contracts(ctx, queue.pending(), held=held, trigger=trigger, changed=queue.changed(),
                                    budget=budget, recorder=sweep_state, on_done=queue.done)
        if not outcome.complete:
            return SweepStep(Step.CONTINUE)
        return _finish(ctx, runs, sweep_state, orgao)
    finally:
        sweep_state.release(owner)


def _finish(ctx: PipelineContext, runs: RunState, sweep_state: SweepState, orgao: str) -> SweepStep:
    counters = sweep_state.counters()
    error = sweep_state.error()
    counters["orgaos_done"] = 1
    counters["orgaos_failed"] = 1 if error else 0
    # Counters once, then the part done, so the run closes with every part's counters in. A crash
    # between claiming and adding loses one sweep's counters rather than counting them twice on
    # redelivery; a database that is away gives the claim back, and the task's retry adds them.
    if runs.claim_counters(orgao):
        try:
            ctx.store.add_run_counters(runs.run_id, counters)
        except StoreUnavailable:
            runs.release_counters(orgao)
            raise
    first, done, total = runs.finish_part(orgao, error)
    if first:
        log.info("sweep finished", extra={"orgao": orgao, "parts_done": done, "parts": total, "error": error,
                                          **counters})
    return SweepStep(Step.DONE, counters, close_if_complete(ctx, runs.run_id))
