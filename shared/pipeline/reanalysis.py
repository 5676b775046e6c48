"""The weekly re-analysis: the current detector version over the last months of stored contracts.

The period is cut into 7-day windows by signature date, done one after another (so the
re-analysis never floods the queue); within a window each órgão's contracts are analysed with
their peers, in bounded chunks. Which windows and órgãos are done lives in Redis: a task that
runs out of budget hands over to a fresh one, and a killed worker's redelivered task skips what
was finished. Investigations that no longer hold under the current version are cleared, and those
written by an earlier detector version are completed again without the flags it withdrew; the
amendment indicator's candidates get their termos aditivos read from the Portal.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from shared.detection import DETECTOR_VERSION
from shared.domain import Contract, Trigger
from shared.pipeline import runs
from shared.pipeline.analysis import analyze_contracts
from shared.pipeline.context import Budget, PipelineContext, Step, lease_seconds
from shared.pipeline.state import RunState, SweepState
from shared.store.base import ContractFilter

log = logging.getLogger("vigia.pipeline.reanalysis")

WINDOW_DAYS = 7


def windows_for(today: date, months: int) -> list[tuple[date, date]]:
    """7-day windows covering ``months`` months back from ``today`` (inclusive), oldest first."""
    start = today - timedelta(days=round(months * 30.44))
    windows = []
    while start <= today:
        end = min(start + timedelta(days=WINDOW_DAYS - 1), today)
        windows.append((start, end))
        start = end + timedelta(days=1)
    return windows


def start_reanalysis(ctx: PipelineContext, *, task: str, task_id: str | None, months: int) -> int | None:
    run = runs.begin(ctx, task, task_id, {"months": months, "detector_version": DETECTOR_VERSION})
    if run is None:
        return None
    today = ctx.clock().astimezone(ZoneInfo(ctx.settings.timezone)).date()
    windows = windows_for(today, months)
    RunState(ctx.redis, run.id).plan([str(i) for i in range(len(windows))],
                                      windows=[(s.isoformat(), e.isoformat()) for s, e in windows])
    return run.id


def reanalyze(ctx: PipelineContext, *, run_id: int, owner: str, budget: Budget) -> Step:
    """Advance the re-analysis: DONE, CONTINUE (budget spent) or BUSY (another copy runs)."""
    state = RunState(ctx.redis, run_id)
    windows = state.field("windows") or []
    for index, (start_text, end_text) in enumerate(windows):
        part = str(index)
        if state.is_done(part):
            continue
        progress = SweepState(ctx.redis, run_id, f"window-{index}")
        if not progress.acquire(owner, lease_seconds(ctx.settings)):
            return Step.BUSY
        try:
            start, end = date.fromisoformat(start_text), date.fromisoformat(end_text)
            by_orgao: dict[str, dict[int, Contract]] = defaultdict(dict)
            for contract in ctx.store.iter_contracts(ContractFilter(signed_from=start, signed_to=end, source=ctx.source)):
                by_orgao[contract.orgao_codigo or ""][contract.id] = contract
            finished = progress.marked("orgaos")
            for orgao in sorted(by_orgao):
                if orgao in finished:
                    continue
                held = by_orgao[orgao]
                outcome = analyze_contracts(ctx, held, held=held, trigger=Trigger.REANALYSIS, budget=budget,
                                            recorder=progress, clear_unflagged=True, read_termos=True)
                if not outcome.complete:
                    return Step.CONTINUE
                progress.mark("orgaos", orgao)
            first, done, total = state.finish_part(part)
            if first:
                counters = progress.counters() | {"windows_done": 1,
                                                  "contracts_seen": sum(len(v) for v in by_orgao.values())}
                ctx.store.add_run_counters(run_id, counters)
                log.info("re-analysis window done", extra={"window": f"{start_text}..{end_text}",
                                                           "windows_done": done, "windows": total, **counters})
        finally:
            progress.release(owner)
        if budget.exhausted() and index + 1 < len(windows):
            return Step.CONTINUE
    runs.close_if_complete(ctx, run_id, seen_counter="windows_done")
    return Step.DONE
