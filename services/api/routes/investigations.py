"""``/api/v1/investigations``: list with filters and pagination, read one, request one on demand.

Routes are plain ``def``: the store and the Celery client block, so FastAPI runs them in its
thread pool instead of on the event loop. A request is queued for the workers, or, with
``ENABLE_CELERY_WORKERS=false``, started in this process (:mod:`services.api.inline`). The router is built from settings because the page
size bound is part of the published schema.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the Query bounds taken from
# settings, which are locals of build_router.
import logging
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from services.api.auth import read_route, require_write_key
from services.api.changes import detail_scope
from services.api.deps import get_resources, get_store
from services.api.errors import ApiError, error_responses, invalid
from services.api.inline import Busy, InlineInvestigations
from services.api.pagecache import list_scopes
from services.api.pagination import Cursor, decode_cursor, encode_cursor, fingerprint
from services.api.resources import ApiResources
from services.api.responses import json_bytes, json_response
from services.api.schemas.fields import (
    ID_MAX,
    INDICATOR_PATTERN,
    ORGAO_PATTERN,
    IsoDateTimeFrom,
    IsoDateTimeTo,
)
from services.api.schemas.investigations import (
    InvestigationAccepted,
    InvestigationDetailOut,
    InvestigationPage,
    InvestigationRequest,
    detail_json,
    from_detail,
    from_investigation,
    investigation_json,
    investigation_url,
    page_json,
)
from shared import task_names
from shared.config import Settings
from shared.domain import InvestigationStatus, Severity, Trigger
from shared.pipeline.errors import describe
from shared.store.base import InvestigationFilter, Keyset, SortKey, Store, keyset_of

log = logging.getLogger("vigia.api.investigations")

INVESTIGATE_TASK = task_names.INVESTIGATE
MAX_PAGE = 1_000_000
# Numbered pages skip rows with OFFSET, which reads every skipped row: deeper than this, the
# cursor (one index range at any depth) is the way on. Totals are counted up to the same bound.
MAX_OFFSET = 10_000

InvestigationId = Annotated[UUID, Path(description="The investigation's id (a UUID).")]


def _aware(value: datetime | None) -> datetime | None:
    """Naive datetimes in a query mean UTC, so they compare with the cursor's snapshot time."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/investigations", tags=["investigations"])
    max_page_size = settings.api_max_page_size

    @read_route(router, settings, "", response_model=InvestigationPage,
                summary="List investigations, newest first by default")
    async def list_investigations(
        request: Request,
        store: Annotated[Store, Depends(get_store)],
        resources: Annotated[ApiResources, Depends(get_resources)],
        orgao: Annotated[str | None, Query(pattern=ORGAO_PATTERN, description="SIAFI órgão code.")] = None,
        indicator: Annotated[
            str | None, Query(pattern=INDICATOR_PATTERN, description="Only those with a finding of this indicator.")
        ] = None,
        severity: Annotated[Severity | None, Query(description="Only those with a finding at least this severe.")] = None,
        status: InvestigationStatus | None = None,
        trigger: Trigger | None = None,
        contract_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
        created_from: Annotated[IsoDateTimeFrom | None, Query(
            description="Created at or after (ISO 8601; UTC if naive; a plain date is that day's start).")] = None,
        created_to: Annotated[IsoDateTimeTo | None, Query(
            description="Created at or before (ISO 8601; UTC if naive; a plain date includes that whole day).")] = None,
        min_risk_score: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
        sort: Annotated[SortKey, Query(description="A leading - sorts descending.")] = "-created_at",
        page: Annotated[int | None, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")] = None,
        page_size: Annotated[int, Query(ge=1, le=max_page_size)] = min(50, max_page_size),
        cursor: Annotated[
            str | None, Query(max_length=512, description="next_cursor of the previous page (instead of page).")
        ] = None,
        include_total: Annotated[
            bool,
            Query(description=f"Count the matching investigations, up to {MAX_OFFSET}: total is null without it."),
        ] = False,
    ) -> InvestigationPage:
        def build() -> bytes:
            since, until = _aware(created_from), _aware(created_to)
            if since and until and since > until:
                raise invalid("query.created_to", "must be at or after created_from")
            filters: dict[str, Any] = {
                "orgao_codigo": orgao,
                "indicator": indicator,
                "severity": severity,
                "status": status,
                "trigger": trigger,
                "contract_id": contract_id,
                "created_from": since,
                "created_to": until,
                "min_risk_score": min_risk_score,
            }
            issued_for = fingerprint({**filters, "sort": sort, "page_size": page_size})
            page_number: int | None
            after: Keyset | None = None
            if cursor is not None:
                if page is not None:
                    raise invalid("query.page", "give page or cursor, not both")
                position = decode_cursor(cursor, expected_fingerprint=issued_for, sort=sort)
                page_number, offset, as_of, after = None, 0, position.as_of, position.after
                # The snapshot: rows created after the first page was read stay out of later pages.
                filters["created_to"] = min(until, as_of) if until else as_of
            else:
                page_number = page or 1
                offset, as_of = (page_number - 1) * page_size, datetime.now(UTC)
                if offset > MAX_OFFSET:
                    raise invalid(
                        "query.page",
                        f"numbered pages reach {MAX_OFFSET} rows deep; follow next_cursor to go further",
                    )
            query = InvestigationFilter(**filters)
            items: list[bytes]
            last: Keyset | None = None
            if resources.json_pages is not None:  # PostgreSQL writes the items' JSON itself
                lean = resources.json_pages.list_investigations(
                    query, sort=sort, limit=page_size, offset=offset, after=after,
                    with_total=include_total, count_limit=MAX_OFFSET,
                )
                items, total = [investigation_json(item) for item in lean.items], lean.total
                if lean.items:
                    last = lean.items[-1].keyset(sort)
            else:
                result = store.list_investigations(
                    query, sort=sort, limit=page_size, offset=offset, after=after,
                    with_total=include_total, count_limit=MAX_OFFSET,
                )
                items, total = [json_bytes(from_investigation(item)) for item in result.items], result.total
                if result.items:
                    last = keyset_of(result.items[-1], sort)
            next_cursor = None
            if len(items) == page_size and last is not None:
                # A full page may be the last one; the next request then answers an empty page.
                next_cursor = encode_cursor(Cursor(last, sort, issued_for, as_of))
            capped = False
            if total is not None and total > MAX_OFFSET:
                total, capped = MAX_OFFSET, True
            return page_json(items, total=total, total_capped=capped, page=page_number, page_size=page_size,
                             offset=offset, next_cursor=next_cursor)

        scopes = list_scopes(orgao, indicator)
        return json_response(await resources.pages.get_or_build("list?" + request.url.query, build, scopes))  # type: ignore[return-value]

    @read_route(router, settings, "/{investigation_id}", response_model=InvestigationDetailOut, errors=(404,),
                summary="One investigation with its findings, contract and summary")
    async def get_investigation(
        investigation_id: InvestigationId,
        store: Annotated[Store, Depends(get_store)],
        resources: Annotated[ApiResources, Depends(get_resources)],
    ) -> InvestigationDetailOut:
        def build() -> bytes:
            if resources.json_pages is not None:  # PostgreSQL writes the investigation's JSON
                lean = resources.json_pages.get_investigation(str(investigation_id))
                if lean is not None:
                    return detail_json(lean)
            else:
                detail = store.get_investigation(str(investigation_id))
                if detail is not None:
                    return json_bytes(from_detail(detail))
            raise ApiError(404, "not_found", f"no investigation has the id {investigation_id}")

        key, scopes = f"detail:{investigation_id}", (detail_scope(str(investigation_id)),)
        return json_response(await resources.pages.get_or_build(key, build, scopes))  # type: ignore[return-value]

    @router.post(
        "",
        status_code=202,
        response_model=InvestigationAccepted,
        responses=error_responses(400, 401, 403, 413, 422, 503),  # 429 (rate or daily quota) added by error_responses
        summary="Investigate a contract, or an órgão over a date window, on demand",
        description=(
            "Queues the work (or, where ENABLE_CELERY_WORKERS is false, starts it in the API process) and answers 202 with the investigation's id and the URL to poll. "
            "An equal request while one is still pending or running returns that one (created=false). "
            f"A window may span at most API_MAX_WINDOW_DAYS days (here {settings.api_max_window_days}). "
            f"One key may start {settings.api_on_demand_daily_quota} a day (API_ON_DEMAND_DAILY_QUOTA); past it, 429."
        ),
    )
    def request_investigation(
        body: InvestigationRequest,
        response: Response,
        store: Annotated[Store, Depends(get_store)],
        resources: Annotated[ApiResources, Depends(get_resources)],
        caller: Annotated[str, Depends(require_write_key)],
    ) -> InvestigationAccepted:
        _validate_request(body, settings)
        from shared.detection import DETECTOR_VERSION

        wait = _quota_wait(resources, caller)
        if wait is not None:
            raise ApiError(
                429, "quota_exceeded",
                f"this key has started its {settings.api_on_demand_daily_quota} on-demand investigations for the day "
                f"(API_ON_DEMAND_DAILY_QUOTA); retry in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        investigation, created = store.create_or_get_investigation(
            contract_id=body.contract_id,
            orgao_codigo=body.orgao_codigo,
            trigger=Trigger.ON_DEMAND,
            detector_version=DETECTOR_VERSION,
            window_start=body.window_start,
            window_end=body.window_end,
        )
        if created:
            _spend_quota(resources, caller)
            if resources.inline is not None:
                _start_here(resources.inline, store, investigation.id)
            else:
                _enqueue(resources.broker, store, investigation.id)
            log.info(
                "on-demand investigation queued" if resources.inline is None else "on-demand investigation started",
                extra={"investigation_id": investigation.id, "caller": caller, "contract_id": body.contract_id,
                       "orgao_codigo": body.orgao_codigo},
            )
        url = investigation_url(investigation.id)
        response.headers["Location"] = url
        return InvestigationAccepted(id=UUID(investigation.id), status=investigation.status, created=created, poll_url=url)

    return router


def _quota_wait(resources: ApiResources, caller: str) -> int | None:
    if resources.quota is None:
        return None
    try:
        return resources.quota.retry_after(caller)
    except Exception as error:  # Redis away: nothing can be queued either, and that path says so
        log.warning("could not read the on-demand quota: %s", describe(error))
        return None


def _spend_quota(resources: ApiResources, caller: str) -> None:
    if resources.quota is None:
        return
    try:
        resources.quota.spend(caller)
    except Exception as error:  # counted as free rather than failing a request already accepted
        log.warning("could not count an on-demand request against the quota: %s", describe(error))


def _validate_request(body: InvestigationRequest, settings: Settings) -> None:
    """Cross-field rules of an on-demand request; each failure names the field at fault."""
    window_fields = {"orgao_codigo": body.orgao_codigo, "window_start": body.window_start, "window_end": body.window_end}
    if body.contract_id is not None:
        extra = [name for name, value in window_fields.items() if value is not None]
        if extra:
            raise invalid(f"body.{extra[0]}", "give contract_id alone, or orgao_codigo with window_start and window_end")
        return
    if all(value is None for value in window_fields.values()):
        raise invalid("body", "give contract_id, or orgao_codigo with window_start and window_end")
    for name, value in window_fields.items():
        if value is None:
            raise invalid(f"body.{name}", "is required unless contract_id is given")
    assert body.window_start is not None and body.window_end is not None
    if body.window_end < body.window_start:
        raise invalid("body.window_end", "must be on or after window_start")
    days = (body.window_end - body.window_start).days + 1
    if days > settings.api_max_window_days:
        raise invalid(
            "body.window_end", f"the window spans {days} days; at most {settings.api_max_window_days} are allowed"
        )


def _enqueue(broker: Any, store: Store, investigation_id: str) -> None:
    """Send the task; if the broker refuses, the investigation fails now rather than wait forever."""
    try:
        broker.send_task(INVESTIGATE_TASK, kwargs={"investigation_id": investigation_id})
    except Exception as error:
        log.error("could not queue investigation %s: %s", investigation_id, error)
        store.fail_investigation(investigation_id, error=f"could not be queued: {describe(error)}")
        raise ApiError(
            503, "unavailable", "the task queue is unavailable; the request was not queued, try again shortly",
            headers={"Retry-After": "10"},
        ) from error


def _start_here(inline: InlineInvestigations, store: Store, investigation_id: str) -> None:
    """Run it in this process; if it cannot be taken now, it fails now rather than wait forever."""
    try:
        inline.submit(investigation_id)
    except Busy as error:
        log.warning("could not start investigation %s: %s", investigation_id, error)
        store.fail_investigation(investigation_id, error=f"could not be started: {error}")
        raise ApiError(
            503, "unavailable", f"{error}; the request was not started, try again shortly",
            headers={"Retry-After": "30"},
        ) from error
