"""Refresh the local CEIS/CNEP mirror that the sanctioned-supplier indicator reads.

Each list is paged from the Portal and upserted by (list, id) in batches; the cursor per list
lives in Redis, so a refresh longer than one task's budget continues in the next task and a
killed worker resumes at the last stored batch. A list that cannot be read after the retries is
recorded as a failed part; the run fails when both lists failed or nothing was read.
"""

from __future__ import annotations

import logging

from shared.domain import Sanction
from shared.pipeline import runs
from shared.pipeline.context import Budget, PipelineContext, Step, lease_seconds
from shared.pipeline.ingest import PageTally
from shared.pipeline.state import RunState, SweepState

log = logging.getLogger("vigia.pipeline.sanctions")

LISTAS = ("ceis", "cnep")
UPSERT_BATCH = 500


def start_refresh(ctx: PipelineContext, *, task: str, task_id: str | None) -> int | None:
    """The refresh's run id (None when this task id's run already closed)."""
    run = runs.begin(ctx, task, task_id, {"lists": list(LISTAS)})
    if run is None:
        return None
    RunState(ctx.redis, run.id).plan(LISTAS)
    return run.id


def _refresh_list(ctx: PipelineContext, progress: SweepState, lista: str, budget: Budget) -> bool:
    first = progress.cursor()
    batch: dict[str, Sanction] = {}
    tally = PageTally("sanction", count_duplicates=False, where={"lista": lista})
    batch_first = next_page = first

    def flush() -> None:
        nonlocal batch, batch_first
        written = ctx.store.upsert_sanctions(list(batch.values())) if batch else 0
        progress.record_batch(batch_first, next_page, tally.counters() | {"sanctions_written": written,
                                                                          f"{lista}_seen": tally.seen})
        batch, batch_first = {}, next_page
        tally.reset()

    for page in ctx.portal.iter_sanction_pages(lista, first_page=first):
        tally.add(page)
        for sanction in page.items:
            batch[sanction.id] = sanction
        next_page = page.number + 1
        if len(batch) >= UPSERT_BATCH or budget.exhausted():
            flush()
            if budget.exhausted():
                return False
    if tally.pages or batch:
        flush()
    return True


def refresh(ctx: PipelineContext, *, run_id: int, owner: str, budget: Budget, error: str | None = None) -> Step:
    """Advance the refresh: DONE, CONTINUE (budget spent) or BUSY (another copy runs).

    ``error`` (retries exhausted) fails the list being read and moves on to the next one.
    """
    state = RunState(ctx.redis, run_id)
    for lista in LISTAS:
        if state.is_done(lista):
            continue
        progress = SweepState(ctx.redis, run_id, lista)
        if not progress.acquire(owner, lease_seconds(ctx.settings)):
            return Step.BUSY
        try:
            if error is None and not _refresh_list(ctx, progress, lista, budget):
                return Step.CONTINUE
            first, _, _ = state.finish_part(lista, error)
            if first:
                ctx.store.add_run_counters(run_id, progress.batch_counters())
                log.info("sanctions list refreshed" if error is None else "sanctions list failed",
                         extra={"lista": lista, "error": error, **progress.batch_counters()})
            error = None
        finally:
            progress.release(owner)
    runs.close_if_complete(ctx, run_id, seen_counter="sanctions_seen")
    return Step.DONE
