"""``GET /api/v1/stats`` and ``GET /api/v1/orgaos``: counts, the last runs, and the órgão risk ranking.

Both come from memory (:mod:`services.api.summaries`): loaded when the worker starts, refreshed in
the background once ``API_SUMMARY_TTL_SECONDS`` old while readers keep the previous answer, and
shared between web workers through Redis when there is one. No request waits for the aggregates.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from services.api.auth import read_route
from services.api.deps import get_resources
from services.api.resources import ApiResources
from services.api.responses import json_response
from services.api.schemas.reports import OrgaoOut, StatsOut
from services.api.summaries import Parts
from shared.config import Settings


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["reports"])

    @read_route(router, settings, "/stats", response_model=StatsOut,
                summary="Counts by status, indicator and órgão, and the last run of each scheduled task")
    async def stats(resources: Annotated[ApiResources, Depends(get_resources)]) -> StatsOut:
        # The summary holds the serialised body: an answer costs neither the database nor pydantic.
        parts = await _summary(resources, "stats")
        return json_response(parts[0])  # type: ignore[return-value]

    @read_route(router, settings, "/orgaos", response_model=list[OrgaoOut],
                summary="Watched órgãos with their latest risk ranking, riskiest first")
    async def orgaos(
        resources: Annotated[ApiResources, Depends(get_resources)],
        limit: Annotated[int, Query(ge=1, le=settings.api_max_page_size)] = min(100, settings.api_max_page_size),
    ) -> list[OrgaoOut]:
        # One ranking at the largest page for every limit: a smaller one is its first rows.
        rows = await _summary(resources, "orgaos")
        return json_response(b"[" + b",".join(rows[:limit]) + b"]")  # type: ignore[return-value]

    return router


async def _summary(resources: ApiResources, key: str) -> Parts:
    parts = resources.summaries.peek(key)
    if parts is not None:
        return parts
    # Only before the worker's first answer (its start-up load failed or is still running).
    return await run_in_threadpool(resources.summaries.load, key)
