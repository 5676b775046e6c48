"""Analyse contracts: detection with peer context, then one investigation per flagged contract.

Detection compares a contract with its peers, so :func:`detect` runs the targets together with
the stored contracts of their órgão signed in the same years, with ``focus`` on the targets:
peers inform baselines, concentration and Benford, only targets get findings. The targets are
the contracts the caller holds — a sweep and an on-demand request what they just upserted, the
re-analysis what it read — and are never read back; only ids the caller does not hold are read
from the store. The órgão-level findings of those complete years are replaced as well.

Each flagged contract gets one investigation per detector version (``create_or_get`` makes a
redelivered batch find the one it already wrote). An investigation whose stored findings equal
the new ones is left alone — no second Groq call for a redelivery or an unchanged re-analysis —
and a changed contract that no longer trips any indicator has its investigation completed again
with no findings, so the API never shows a stale flag. A re-analysis (``clear_unflagged``) also
revisits investigations written by earlier detector versions: each is completed again without the
flags the current rules no longer raise (see :func:`_revise_older`). Whatever fails after an investigation was
created marks it failed before the error propagates: none is left pending.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from shared.detection import DETECTOR_VERSION, SuiteResult, risk_score, run_suite
from shared.detection.indicators.amendment_over_limit import candidates as amendment_candidates
from shared.domain import Contract, Finding, InvestigationStatus, Sanction, Trigger
from shared.llm import TEMPLATE_SOURCE, Summary
from shared.observability import hooks
from shared.pipeline.context import Budget, PipelineContext
from shared.pipeline.errors import describe
from shared.store.base import (
    Completion,
    Conflict,
    ContractFilter,
    CreatedInvestigation,
    Investigation,
    InvestigationFilter,
    StoreError,
)

log = logging.getLogger("vigia.pipeline.analysis")

# Investigations written between two progress records (and budget checks).
CHUNK = 100
# Ids per ``iter_contracts(ContractFilter(ids=...))`` query.
ID_QUERY_CHUNK = 1000
# Termos aditivos read per órgão batch at most (one Portal call each, through the shared limiter).
MAX_TERMOS_PER_BATCH = 50


class Recorder(Protocol):
    def record_analysis(self, analyzed: Iterable[int], flagged: Iterable[int], written: Iterable[str],
                        created: Iterable[str], summarized: Mapping[str, Iterable[str]] | None = None) -> None: ...


def summary_kind(source: str) -> str:
    """"template", or "groq" for any model name: the run counts summaries by who wrote them."""
    return TEMPLATE_SOURCE if source == TEMPLATE_SOURCE else "groq"


@dataclass
class AnalysisOutcome:
    complete: bool = True
    analyzed: int = 0
    flagged: int = 0
    written: int = 0
    created: int = 0
    unchanged: int = 0
    cleared: int = 0
    missing: int = 0
    summaries: dict[str, int] = field(default_factory=dict)  # "groq" / "template"

    def counters(self) -> dict[str, int]:
        base = {"analyzed": self.analyzed, "flagged": self.flagged, "investigations_written": self.written,
                "investigations_created": self.created, "investigations_unchanged": self.unchanged,
                "investigations_cleared": self.cleared, "contracts_missing": self.missing}
        return base | {f"summaries_{kind}": n for kind, n in self.summaries.items()}


def _chunks(values: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def load_contracts(ctx: PipelineContext, ids: Sequence[int]) -> dict[int, Contract]:
    found: dict[int, Contract] = {}
    for chunk in _chunks(sorted(set(ids)), ID_QUERY_CHUNK):
        for contract in ctx.store.iter_contracts(ContractFilter(ids=chunk), batch_size=ID_QUERY_CHUNK):
            found[contract.id] = contract
    return found


def peer_context(ctx: PipelineContext, orgao: str | None, targets: Sequence[Contract]) -> list[Contract]:
    """The targets plus every stored contract of their órgão signed in the targets' years. Only
    the peers' ids are read first, then the rows of those not in hand (a sweep holds most of them:
    it has just upserted them), so the copy in hand wins over the stored one."""
    contracts = {c.id: c for c in targets}
    years = sorted({c.data_assinatura.year for c in targets if c.data_assinatura is not None})
    if orgao:
        stored: set[int] = set()
        for year in years:
            stored.update(ctx.store.contract_ids(ContractFilter(orgao_codigo=orgao, signed_from=date(year, 1, 1),
                                                                signed_to=date(year, 12, 31), source=ctx.source)))
        missing = sorted(stored - contracts.keys())
        if missing:
            for peer in ctx.store.iter_contracts(ContractFilter(ids=missing)):
                contracts[peer.id] = peer
    return list(contracts.values())


def sanctions_of(ctx: PipelineContext, contracts: Sequence[Contract]) -> tuple[list[Sanction], bool]:
    """The mirror's records for these suppliers (and their CNPJ roots), and whether a mirror is loaded."""
    documents = sorted({c.fornecedor_documento for c in contracts if c.fornecedor_documento})
    roots = sorted({d[:8] for d in documents if len(d) == 14})
    sanctions = ctx.store.sanctions_for(documents, roots=roots) if documents else []
    return sanctions, bool(sanctions) or ctx.store.sanction_mirror().count > 0


def termos_aditivos(ctx: PipelineContext, contracts: Sequence[Contract]) -> dict[int, tuple[str, ...] | None]:
    """The Portal's termos aditivos of the amendment indicator's candidates; None for a contract
    whose termos could not be read (the finding then says "unknown"). Simulated and real data
    both come through the same client."""
    found: dict[int, tuple[str, ...] | None] = {}
    for cid in amendment_candidates(contracts)[:MAX_TERMOS_PER_BATCH]:
        try:
            found[cid] = tuple(t.objeto or "" for t in ctx.portal.termos_aditivos(cid))
        except Exception as error:  # unknown, not fatal: the finding records that it could not check
            log.info("termos aditivos not read", extra={"contract_id": cid, "reason": describe(error)})
            found[cid] = None
    return found


def detect(ctx: PipelineContext, orgao: str | None, targets: Sequence[Contract], *, read_termos: bool = False,
           first_vigencias: bool = True) -> SuiteResult:
    """Run the indicators on ``targets`` (contracts of one órgão, in hand) with their stored peers,
    the mirror's sanctions of their suppliers, and — for the amendment indicator — the termos
    aditivos from the Portal (``read_termos``) and the vigência of each candidate's first stored
    version (``first_vigencias``)."""
    context = peer_context(ctx, orgao, targets)
    sanctions, loaded = sanctions_of(ctx, targets)
    amendments = termos_aditivos(ctx, targets) if read_termos else None
    candidates = amendment_candidates(targets) if first_vigencias else []
    first = ctx.store.first_vigencias(candidates) if candidates else None
    return run_suite(context, sanctions=sanctions, sanctions_loaded=loaded, amendments=amendments,
                     first_vigencia=first, focus=[c.id for c in targets])


def _finding_key(finding: Finding) -> tuple[object, ...]:
    return (finding.indicator, finding.subject_type, finding.subject_id, finding.severity.value,
            round(finding.score, 6), finding.value, finding.threshold)


def _same_findings(stored: Iterable[Finding], fresh: Iterable[Finding]) -> bool:
    return sorted(map(_finding_key, stored), key=repr) == sorted(map(_finding_key, fresh), key=repr)


@dataclass(frozen=True, slots=True)
class Flagged:
    """A flagged contract whose investigation is to be written."""

    contract: Contract
    findings: Sequence[Finding]
    risk: float | None


@dataclass(frozen=True, slots=True)
class Written:
    """A contract's investigation after :func:`write_investigations`."""

    investigation: Investigation
    created: bool  # created by this run, or completed for the first time
    summary_source: str | None  # who wrote the new summary; None when it was already up to date


def _cancelled_meanwhile(investigation_id: str) -> None:
    # A person cancelled it while we analysed: their decision stands.
    log.info("investigation cancelled during analysis", extra={"investigation_id": investigation_id})


def write_investigations(ctx: PipelineContext, flagged: Sequence[Flagged], *, trigger: Trigger,
                         outcome: AnalysisOutcome) -> list[Written | None]:
    """Create or refresh the investigations of ``flagged``, one answer each, in order: None for
    one a person cancelled. One round trip creates (or finds) them all. With template summaries
    one more completes them all; with a model, each is completed as soon as its summary is written
    (a summary takes seconds, and one written is then never lost). An investigation whose stored
    findings equal the new ones is left as it is, with no new summary."""
    answers: list[Written | None] = [None] * len(flagged)
    created = ctx.store.create_or_get_investigations(
        [(f.contract.id, f.contract.orgao_codigo) for f in flagged], trigger=trigger, detector_version=DETECTOR_VERSION)
    uses_model = ctx.summaries.chat is not None
    waiting: list[tuple[int, CreatedInvestigation, Summary]] = []

    def complete() -> None:
        done = ctx.store.complete_investigations([
            Completion(c.investigation.id, flagged[index].findings, flagged[index].risk, summary.text, summary.source)
            for index, c, summary in waiting
        ])
        for (index, (before, is_new), summary), after in zip(waiting, done, strict=True):
            if after is None:
                _cancelled_meanwhile(before.id)
                continue
            kind = summary_kind(summary.source)
            outcome.summaries[kind] = outcome.summaries.get(kind, 0) + 1
            hooks.critical_findings(ctx.settings, ctx.redis, after, flagged[index].findings)
            # Created by this run also when an earlier attempt created it but never completed it
            # (the database went away mid-chunk): no run counted it, and the run's sets count it once.
            answers[index] = Written(after, created=is_new or before.status is not InvestigationStatus.COMPLETED,
                                     summary_source=summary.source)
        waiting.clear()

    try:
        for index, (item, entry) in enumerate(zip(flagged, created, strict=True)):
            investigation, is_new = entry
            if investigation.status is InvestigationStatus.CANCELLED:
                continue
            if not is_new and investigation.status is InvestigationStatus.COMPLETED:
                detail = ctx.store.get_investigation(investigation.id)
                if detail is not None and _same_findings((s.finding for s in detail.findings), item.findings):
                    outcome.unchanged += 1
                    answers[index] = Written(investigation, created=False, summary_source=None)
                    continue
            if uses_model and investigation.status is InvestigationStatus.PENDING:
                # A model is about to be asked: the investigation shows it is running meanwhile.
                try:
                    ctx.store.mark_running(investigation.id)
                except Conflict:
                    _cancelled_meanwhile(investigation.id)
                    continue
            waiting.append((index, entry, ctx.summaries.write(item.contract, item.findings)))
            if uses_model:
                complete()
        complete()
    except Exception as error:
        # Leave a terminal state with the reason; a later attempt may still complete them.
        reason = f"analysis failed: {describe(error)}"
        for index, (investigation, _) in enumerate(created):
            if answers[index] is None and investigation.status not in (InvestigationStatus.COMPLETED,
                                                                       InvestigationStatus.CANCELLED):
                with suppress(StoreError):
                    ctx.store.fail_investigation(investigation.id, error=reason)
        raise
    return answers


def _clear_if_flagged(ctx: PipelineContext, contract: Contract, outcome: AnalysisOutcome) -> None:
    """A changed contract no longer flagged: its current-version investigation says so."""
    page = ctx.store.list_investigations(InvestigationFilter(contract_id=contract.id), limit=20)
    for investigation in page.items:
        if (investigation.trigger is not Trigger.ON_DEMAND and investigation.detector_version == DETECTOR_VERSION
                and investigation.status is InvestigationStatus.COMPLETED and investigation.findings_count > 0):
            _clear(ctx, contract, investigation, outcome)


def _flagged_investigations(ctx: PipelineContext, orgao: str) -> dict[int, list[Investigation]]:
    """The órgão's completed automatic investigations that carry findings, of any detector version."""
    found: dict[int, list[Investigation]] = defaultdict(list)
    offset, size = 0, 500
    while True:
        page = ctx.store.list_investigations(
            InvestigationFilter(orgao_codigo=orgao, status=InvestigationStatus.COMPLETED),
            sort="created_at", limit=size, offset=offset)
        for investigation in page.items:
            if (investigation.contract_id is not None and investigation.trigger is not Trigger.ON_DEMAND
                    and investigation.findings_count > 0):
                found[investigation.contract_id].append(investigation)
        offset += size
        if page.total is None or offset >= page.total or not page.items:
            return found


def _revise_older(ctx: PipelineContext, contract: Contract, older: Sequence[Investigation],
                  findings: Sequence[Finding], outcome: AnalysisOutcome) -> None:
    """Investigations written by an earlier detector version: each keeps only the flags that still
    hold under the current one (same indicator, current numbers), and is completed again when one
    of its flags no longer holds, so the API never shows a flag the current rules withdrew."""
    for investigation in older:
        detail = ctx.store.get_investigation(investigation.id)
        if detail is None:
            continue
        before = {s.finding.indicator for s in detail.findings}
        kept = [f for f in findings if f.indicator in before]
        if {f.indicator for f in kept} == before:
            continue
        if not kept:
            _clear(ctx, contract, investigation, outcome)
            continue
        summary = ctx.summaries.write(contract, kept)
        ctx.store.complete_investigation(investigation.id, findings=kept, risk_score=risk_score(kept),
                                         summary=summary.text, summary_source=summary.source)
        outcome.cleared += 1


def _clear(ctx: PipelineContext, contract: Contract, investigation: Investigation, outcome: AnalysisOutcome) -> None:
    summary = ctx.summaries.write(contract, [])
    ctx.store.complete_investigation(investigation.id, findings=[], risk_score=0.0,
                                     summary=summary.text, summary_source=summary.source)
    outcome.cleared += 1


def _save_orgao_findings(ctx: PipelineContext, orgao: str, years: Iterable[int],
                         found: dict[tuple[str, int], list[Finding]]) -> None:
    for year in sorted(set(years)):
        ctx.store.save_orgao_findings(orgao, year, found.get((orgao, year), []), DETECTOR_VERSION)


def analyze_contracts(
    ctx: PipelineContext,
    ids: Iterable[int],
    *,
    held: Mapping[int, Contract] | None = None,
    trigger: Trigger,
    changed: Iterable[int] = (),
    budget: Budget | None = None,
    recorder: Recorder | None = None,
    on_done: Callable[[list[int]], None] | None = None,
    clear_unflagged: bool = False,
    read_termos: bool = False,
) -> AnalysisOutcome:
    """Analyse the contracts ``ids``; ``complete`` is False when the budget ran out first.

    ``held`` are contracts the caller has in hand (what it just upserted, or read): they are
    analysed as they are. Ids it does not hold are read from the store.

    ``on_done`` receives each chunk of ids once its investigations are written (the caller's
    queue forgets them then); ``recorder`` receives what each chunk produced. Changed contracts
    (``changed``) that no longer trip an indicator have their investigation cleared; with
    ``clear_unflagged`` every target is checked that way (a re-analysis), with one query per órgão.
    ``read_termos`` reads the Portal's termos aditivos of the amendment indicator's candidates (one
    call each): the weekly re-analysis does, the monitoring cycle leaves its Portal budget to sweeps.
    """
    budget = budget or Budget.unlimited()
    outcome = AnalysisOutcome()
    wanted = sorted(set(ids))
    changed_ids = set(changed)
    held = held or {}
    targets = {cid: held[cid] for cid in wanted if cid in held}
    # Ids not in hand (given by id, or a sweep's recovery: see monitoring.sweep) come from the store.
    unheld = [cid for cid in wanted if cid not in targets]
    if unheld:
        targets.update(load_contracts(ctx, unheld))
    missing = [cid for cid in wanted if cid not in targets]
    if missing:
        # Ids queued for analysis that the store does not hold (e.g. a rolled-back batch): the
        # sweep that stores them queues them again.
        log.warning("contracts to analyse are not stored", extra={"count": len(missing), "ids": missing[:20]})
        outcome.missing = len(missing)
        if on_done:
            on_done(missing)
    by_orgao: dict[str, list[Contract]] = defaultdict(list)
    for contract in targets.values():
        by_orgao[contract.orgao_codigo or ""].append(contract)
    for orgao in sorted(by_orgao):
        group = sorted(by_orgao[orgao], key=lambda c: c.id)
        suite = detect(ctx, orgao or None, group, read_termos=read_termos)
        if orgao:
            _save_orgao_findings(ctx, orgao, (c.data_assinatura.year for c in group if c.data_assinatura),
                                 suite.orgao_findings)
        flagged_before = _flagged_investigations(ctx, orgao) if clear_unflagged and orgao else {}
        for chunk in _chunks([c.id for c in group], CHUNK):
            flagged, written, created = [], [], []
            summarized: dict[str, list[str]] = {}
            done: list[int] = []
            try:
                to_write: list[Flagged] = []
                for cid in chunk:
                    contract = targets[cid]
                    findings = suite.findings_by_contract.get(cid, [])
                    older = [i for i in flagged_before.get(cid, ()) if i.detector_version != DETECTOR_VERSION]
                    if older:
                        _revise_older(ctx, contract, older, findings, outcome)
                    if findings:
                        to_write.append(Flagged(contract, findings, suite.risk_scores.get(cid)))
                        continue
                    if cid in flagged_before:
                        for investigation in flagged_before[cid]:
                            if investigation.detector_version == DETECTOR_VERSION:
                                _clear(ctx, contract, investigation, outcome)
                    elif cid in changed_ids:
                        _clear_if_flagged(ctx, contract, outcome)
                    done.append(cid)
                answers = write_investigations(ctx, to_write, trigger=trigger, outcome=outcome) if to_write else []
                for item, result in zip(to_write, answers, strict=True):
                    flagged.append(item.contract.id)
                    done.append(item.contract.id)
                    if result is not None:
                        written.append(result.investigation.id)
                        if result.created:
                            created.append(result.investigation.id)
                        if result.summary_source is not None:
                            summarized.setdefault(summary_kind(result.summary_source), []).append(
                                result.investigation.id)
            except Exception:
                # What this attempt already committed is recorded before the error goes up: a retry
                # finds those investigations complete and unchanged, and would never count them as
                # created. The run's sets are keyed by id, so recording them twice counts them once.
                if recorder is not None and done:
                    with suppress(Exception):
                        recorder.record_analysis(done, [c for c in flagged if c in done], written, created,
                                                 summarized)
                raise
            outcome.analyzed += len(chunk)
            outcome.flagged += len(flagged)
            outcome.written += len(written)
            outcome.created += len(created)
            if recorder is not None:
                recorder.record_analysis(chunk, flagged, written, created, summarized)
            if on_done is not None:
                on_done(chunk)
            if budget.exhausted() and outcome.analyzed < len(targets):
                outcome.complete = False
                return outcome
    log.info("contracts analysed", extra=outcome.counters())
    return outcome
