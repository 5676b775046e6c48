"""On-demand investigations (``POST /api/v1/investigations``): one contract, or one órgão over a window.

A contract is fetched fresh from the Portal (its stored copy is used when the Portal is down),
stored, and analysed with its órgão's contracts of the same year as peers. An órgão request
sweeps that órgão's contracts in force during the window, stores them, and gathers every finding
of those contracts plus the órgão-level findings of the window's years into the one
investigation. Either way the investigation ends completed or failed with a reason; a retryable
error propagates so the task can retry, and the task fails the investigation when it gives up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from shared.detection import risk_score
from shared.domain import Contract, Finding
from shared.logging import public_text
from shared.pipeline.analysis import detect
from shared.pipeline.context import PipelineContext
from shared.pipeline.errors import RETRYABLE, describe
from shared.pipeline.ingest import store_contracts
from shared.pipeline.windows import Window
from shared.store.base import Conflict, Investigation, NotFound

log = logging.getLogger("vigia.pipeline.investigate")

# Findings rewritten in an órgão investigation's summary; the rest are listed, not summarised.
SUMMARY_FINDINGS = 10
UPSERT_BATCH = 500


def _only(findings: Sequence[Finding], indicators: Sequence[str]) -> list[Finding]:
    wanted = set(indicators)
    return [f for f in findings if not wanted or f.indicator in wanted]


def fail(ctx: PipelineContext, investigation_id: str, reason: str) -> Investigation | None:
    """Fail an open investigation; a terminal one keeps its state."""
    try:
        return ctx.store.fail_investigation(investigation_id,
                                            error=public_text(reason, ctx.settings.secret_values())[:1000])
    except (Conflict, NotFound) as error:
        log.info("investigation not failed: %s", error, extra={"investigation_id": investigation_id})
        return None


def run_investigation(ctx: PipelineContext, investigation_id: str) -> Investigation | None:
    detail = ctx.store.get_investigation(investigation_id)
    if detail is None:
        log.warning("on-demand investigation does not exist", extra={"investigation_id": investigation_id})
        return None
    investigation = detail.investigation
    if investigation.status.is_terminal:
        return investigation  # a redelivery after the end
    try:
        ctx.store.mark_running(investigation_id)
    except Conflict:
        return None  # cancelled or finished meanwhile
    if investigation.contract_id is not None:
        return _contract(ctx, investigation, investigation.contract_id)
    if investigation.orgao_codigo and investigation.window_start and investigation.window_end:
        return _orgao(ctx, investigation, investigation.orgao_codigo,
                      Window(investigation.window_start, investigation.window_end))
    return fail(ctx, investigation_id, "an on-demand investigation needs a contract id, or an órgão code with "
                                       "window_start and window_end")


def _fresh_contract(ctx: PipelineContext, contract_id: int) -> Contract | None:
    try:
        fetched = ctx.portal.get_contract(contract_id)
    except RETRYABLE as error:
        stored = ctx.store.get_contract(contract_id)
        if stored is None:
            raise
        log.warning("Portal unavailable; analysing the stored copy", extra={"contract_id": contract_id,
                                                                              "reason": describe(error)})
        return stored
    if fetched is None:
        return None
    store_contracts(ctx, {fetched.id: fetched})
    return fetched


def _contract(ctx: PipelineContext, investigation: Investigation, contract_id: int) -> Investigation | None:
    contract = _fresh_contract(ctx, contract_id)
    if contract is None:
        return fail(ctx, investigation.id, f"contrato {contract_id} não encontrado no Portal da Transparência "
                                           "(GET /contratos/id respondeu sem registro)")
    ctx.store.set_progress(investigation.id, 0.4)
    suite = detect(ctx, contract.orgao_codigo, [contract], read_termos=True, first_vigencias=False)
    findings = _only(suite.findings_by_contract.get(contract.id, []), investigation.indicators)
    ctx.store.set_progress(investigation.id, 0.8)
    summary = ctx.summaries.write(contract, findings)
    return ctx.store.complete_investigation(investigation.id, findings=findings, risk_score=risk_score(findings),
                                            summary=summary.text, summary_source=summary.source)


def _orgao(ctx: PipelineContext, investigation: Investigation, orgao: str, window: Window) -> Investigation | None:
    held: dict[int, Contract] = {}
    batch: dict[int, Contract] = {}
    # A wide window of a big órgão could page the Portal for hours on one request, spending the
    # per-key budget the scheduled monitoring needs: past the cap it stops and says so.
    cap = ctx.settings.api_on_demand_max_pages
    pages = ctx.portal.iter_contract_pages(orgao, data_inicial=window.data_inicial, data_final=window.data_final)
    for number, page in enumerate(pages, start=1):
        if number > cap:
            log.warning("on-demand órgão window over the page cap", extra={"orgao": orgao, "max_pages": cap})
            return fail(ctx, investigation.id,
                        f"a janela tem mais de {cap} páginas de contratos no Portal (API_ON_DEMAND_MAX_PAGES); "
                        "peça uma janela menor")
        batch.update((c.id, c) for c in page.items)
        if len(batch) >= UPSERT_BATCH:
            store_contracts(ctx, batch)
            held.update(batch)
            batch = {}
        # Paging has no known end: progress approaches 0.6 as pages arrive.
        ctx.store.set_progress(investigation.id, round(0.6 * number / (number + 10), 3))
    if batch:
        store_contracts(ctx, batch)
        held.update(batch)
    # Every contract of the window is analysed as paged (new, changed or not), none read back.
    targets = [held[cid] for cid in sorted(held)]
    suite = detect(ctx, orgao, targets, first_vigencias=False)
    ctx.store.set_progress(investigation.id, 0.8)
    years = set(range(window.data_inicial.year, window.data_final.year + 1))
    findings: list[Finding] = [f for cid in sorted(suite.findings_by_contract) for f in suite.findings_by_contract[cid]]
    findings += [f for (code, year), found in suite.orgao_findings.items() if code == orgao and year in years
                 for f in found]
    findings = _only(findings, investigation.indicators)
    top = sorted(findings, key=lambda f: (-f.score, f.indicator, f.subject_id))[:SUMMARY_FINDINGS]
    summary = ctx.summaries.write(None, top)
    text = summary.text
    if len(findings) > len(top):
        text += f" Outros {len(findings) - len(top)} alertas estão listados nos achados desta investigação."
    log.info("órgão investigated", extra={"orgao": orgao, "contracts": len(targets), "findings": len(findings),
                                          "window_start": window.data_inicial.isoformat()})
    scores = [suite.risk_scores[c] for c in suite.findings_by_contract if c in suite.risk_scores]
    return ctx.store.complete_investigation(investigation.id, findings=findings,
                                            risk_score=max(scores) if scores else 0.0,
                                            summary=text, summary_source=summary.source)

