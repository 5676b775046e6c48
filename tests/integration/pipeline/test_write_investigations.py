"""Writing a chunk's investigations: two round trips with template summaries, one completion per
summary with a model, a person's cancellation kept, and no investigation left pending on failure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from shared.detection import DETECTOR_VERSION
from shared.domain import Contract, Finding, InvestigationStatus, Trigger
from shared.llm import Summary, SummaryWriter
from shared.pipeline.analysis import AnalysisOutcome, Flagged, write_investigations
from tests.integration.store.factories import make_contract, make_finding

pytestmark = pytest.mark.integration


def flagged(*ids: int) -> list[Flagged]:
    return [Flagged(make_contract(i), [make_finding(subject_id=str(i), contract_id=i)], 0.8) for i in ids]


class ModelWriter(SummaryWriter):
    """A writer with a model configured (``chat`` is set); it records, as each summary is asked
    for, the status every investigation of the chunk has in the store at that moment."""

    def __init__(self, ctx: Any, fail_on: int | None = None) -> None:
        super().__init__(chat=object())  # type: ignore[arg-type]
        self.ctx, self.fail_on, self.seen = ctx, fail_on, []

    def write(self, contract: Contract | None, findings: Sequence[Finding]) -> Summary:
        assert contract is not None
        if contract.id == self.fail_on:
            raise RuntimeError("the model went away")
        page = self.ctx.store.list_investigations(limit=50)
        self.seen.append((contract.id, {i.contract_id: i.status for i in page.items}))
        return Summary(f"Resumo de {contract.id}.", "llama-3.3-70b-versatile")


def test_it_writes_a_chunk_keeping_a_cancellation_and_leaves_unchanged_ones_alone(make_context: Any) -> None:
    ctx = make_context()
    ctx.store.upsert_contracts([make_contract(i) for i in (1, 2, 3)])
    cancelled, _ = ctx.store.create_or_get_investigation(contract_id=2, orgao_codigo=None, trigger=Trigger.SCHEDULED,
                                                         detector_version=DETECTOR_VERSION)
    ctx.store.cancel_investigation(cancelled.id, reason="encerrada por um revisor")

    outcome = AnalysisOutcome()
    answers = write_investigations(ctx, flagged(1, 2, 3), trigger=Trigger.SCHEDULED, outcome=outcome)
    assert answers[1] is None
    first, third = answers[0], answers[2]
    assert first is not None and third is not None and first.created and third.created
    assert first.investigation.status is InvestigationStatus.COMPLETED and first.summary_source == "template"
    assert outcome.summaries == {"template": 2} and outcome.unchanged == 0
    stored = ctx.store.get_investigation(cancelled.id)
    assert stored is not None and stored.investigation.status is InvestigationStatus.CANCELLED

    again = AnalysisOutcome()
    rerun = write_investigations(ctx, flagged(1, 2, 3), trigger=Trigger.SCHEDULED, outcome=again)
    assert [a.investigation.id if a else None for a in rerun] == [first.investigation.id, None, third.investigation.id]
    assert all(a is None or (not a.created and a.summary_source is None) for a in rerun)
    assert again.unchanged == 2 and again.summaries == {}


def test_it_completes_each_investigation_as_its_model_summary_is_written(make_context: Any) -> None:
    ctx = make_context()
    ctx.store.upsert_contracts([make_contract(i) for i in (1, 2, 3)])
    ctx.summaries = writer = ModelWriter(ctx)
    outcome = AnalysisOutcome()
    answers = write_investigations(ctx, flagged(1, 2, 3), trigger=Trigger.SCHEDULED, outcome=outcome)
    assert all(a is not None and a.summary_source == "llama-3.3-70b-versatile" for a in answers)
    assert outcome.summaries == {"groq": 3}
    # asked for 3's summary, 1 and 2 were already complete and 3 was shown running
    asked_3 = dict(writer.seen)[3]
    assert asked_3 == {1: InvestigationStatus.COMPLETED, 2: InvestigationStatus.COMPLETED,
                       3: InvestigationStatus.RUNNING}


def test_it_leaves_what_it_could_not_complete_failed_with_the_reason(make_context: Any) -> None:
    ctx = make_context()
    ctx.store.upsert_contracts([make_contract(i) for i in (1, 2, 3)])
    ctx.summaries = ModelWriter(ctx, fail_on=2)
    with pytest.raises(RuntimeError, match="the model went away"):
        write_investigations(ctx, flagged(1, 2, 3), trigger=Trigger.SCHEDULED, outcome=AnalysisOutcome())
    page = ctx.store.list_investigations(limit=50)
    statuses = {i.contract_id: (i.status, i.error) for i in page.items}
    assert statuses[1] == (InvestigationStatus.COMPLETED, None)
    assert statuses[2][0] is InvestigationStatus.FAILED and "the model went away" in (statuses[2][1] or "")
    assert statuses[3][0] is InvestigationStatus.FAILED
