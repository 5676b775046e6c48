"""The page's routes: ``/``, ``/investigacoes/{id}`` and ``/orgaos`` (HTML, outside the API schema).

Plain ``def`` routes: the store blocks, so FastAPI runs them in its thread pool. Query values are
checked with the API's own patterns; a bad one is ignored with a note on the page rather than an
error, since people type these into a form.
"""

# No `from __future__ import annotations`: FastAPI must resolve the `allowed` dependency, a local
# of build_router, from the annotations themselves.
import re
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.security import APIKeyHeader
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.api.auth import API_KEY_HEADER, key_matches, writes_are_open
from services.api.deps import get_store
from services.api.page import present
from services.api.schemas.fields import INDICATOR_PATTERN, ORGAO_PATTERN
from shared.config import Settings
from shared.domain import Severity
from shared.store.base import InvestigationFilter, Store

PAGE_SIZE = 25
MAX_PAGES = 400  # 10 000 rows, the depth the API's numbered pages stop at
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.globals.update(
    money=present.money, number=present.number, risk=present.risk, day=present.day, title=present.indicator_title,
    severity_label=lambda s: present.SEVERITY_LABELS.get(Severity(s), str(s)) if s else "—",
    status_label=lambda s: present.STATUS_LABELS.get(str(s), str(s)),
)
_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(name).render(**context), status_code=status_code)


def _clean(value: str | None, pattern: str) -> str | None:
    value = (value or "").strip()
    return value if value and re.match(pattern, value) else None


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def allowed(request: Request, key: str | None = Depends(_key_header)) -> bool:
        """Reads need a key only when the API's do; a browser that sends none is told why."""
        if not settings.api_read_key_required or writes_are_open(settings):
            return True
        return key_matches(key, settings.api_keys)

    def denied() -> HTMLResponse:
        response = render("denied.html", status_code=401, header=API_KEY_HEADER)
        response.headers["WWW-Authenticate"] = API_KEY_HEADER
        return response

    @router.get("/", response_class=HTMLResponse)
    def investigations(
        store: Annotated[Store, Depends(get_store)],
        ok: Annotated[bool, Depends(allowed)],
        orgao: str | None = None,
        indicator: str | None = None,
        severity: str | None = None,
        pagina: str | None = None,
    ) -> HTMLResponse:
        if not ok:
            return denied()
        notes = []
        chosen_orgao = _clean(orgao, ORGAO_PATTERN)
        if orgao and chosen_orgao is None:
            notes.append(f"órgão “{orgao}” ignorado: use um código SIAFI de 5 dígitos")
        chosen_indicator = _clean(indicator, INDICATOR_PATTERN)
        if indicator and chosen_indicator not in dict(present.indicator_choices()):
            notes.append(f"indicador “{indicator}” ignorado: não existe")
            chosen_indicator = None
        chosen_severity = severity if severity in {s.value for s in Severity} else None
        if severity and chosen_severity is None:
            notes.append(f"severidade “{severity}” ignorada")
        page = int(pagina) if pagina and pagina.isdigit() and 0 < int(pagina) <= MAX_PAGES else 1
        filters = InvestigationFilter(orgao_codigo=chosen_orgao, indicator=chosen_indicator,
                                      severity=Severity(chosen_severity) if chosen_severity else None)
        # Numbered pages, as people browse; counted and offset only as deep as the API's own
        # numbered pages go, so a million stored investigations cost what ten thousand do.
        result = store.list_investigations(filters, sort="-created_at", limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                                           count_limit=MAX_PAGES * PAGE_SIZE)
        total = result.total or 0
        ranking = store.orgao_ranking(limit=settings.api_max_page_size)
        query = {k: v for k, v in (("orgao", chosen_orgao), ("indicator", chosen_indicator),
                                   ("severity", chosen_severity)) if v}
        return render(
            "list.html",
            items=result.items,
            total=min(total, MAX_PAGES * PAGE_SIZE),
            total_capped=total > MAX_PAGES * PAGE_SIZE,
            page=page,
            pages=min(MAX_PAGES, max(1, -(-total // PAGE_SIZE))),
            query=query,
            notes=notes,
            orgaos=[(row.orgao_codigo, row.orgao_nome or row.orgao_codigo) for row in ranking],
            orgao_names={row.orgao_codigo: row.orgao_nome for row in ranking},
            indicators=present.indicator_choices(),
            severities=[(s.value, present.SEVERITY_LABELS[s]) for s in Severity],
            chosen={"orgao": chosen_orgao, "indicator": chosen_indicator, "severity": chosen_severity},
        )

    @router.get("/investigacoes/{investigation_id}", response_class=HTMLResponse)
    def investigation(
        investigation_id: str,
        store: Annotated[Store, Depends(get_store)],
        ok: Annotated[bool, Depends(allowed)],
    ) -> HTMLResponse:
        if not ok:
            return denied()
        try:
            key = str(UUID(investigation_id))
        except ValueError:
            return render("missing.html", status_code=404, what=investigation_id)
        detail = store.get_investigation(key)
        if detail is None:
            return render("missing.html", status_code=404, what=investigation_id)
        inv = detail.investigation
        findings = [
            {
                "finding": stored.finding,
                "legal": present.legal_basis(stored.finding.indicator, stored.finding.baseline),
                "numbers": {k: v for k, v in stored.finding.baseline.items() if k != "base_legal"},
            }
            for stored in detail.findings
        ]
        return render(
            "detail.html",
            inv=inv,
            contract=detail.contract,
            findings=findings,
            portal=present.portal_link(detail.contract, inv.contract_id, inv.orgao_codigo),
            api_url=f"/api/v1/investigations/{inv.id}",
        )

    @router.get("/orgaos", response_class=HTMLResponse)
    def orgaos(store: Annotated[Store, Depends(get_store)], ok: Annotated[bool, Depends(allowed)]) -> HTMLResponse:
        if not ok:
            return denied()
        rows = store.orgao_ranking(limit=settings.api_max_page_size)
        bars = present.ranking_bars(rows)
        return render(
            "orgaos.html",
            rows=rows,
            bars=bars,
            chart_width=present.CHART_WIDTH,
            chart_height=len(bars) * (present.BAR_HEIGHT + 6),
            bar_height=present.BAR_HEIGHT,
        )

    return router
