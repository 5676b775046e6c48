"""``GET /api/v1/stats`` and ``GET /api/v1/orgaos``: counts, the last runs, and the órgão risk ranking.

Both come from :mod:`services.api.summaries`, at most ``API_SUMMARY_TTL_SECONDS`` old.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.params import Depends as DependsParam

from services.api.auth import require_read_key
from services.api.deps import get_resources
from services.api.errors import error_responses
from services.api.resources import ApiResources
from services.api.schemas.reports import OrgaoOut, StatsOut, from_ranking, from_stats
from shared.config import Settings


def build_router(settings: Settings) -> APIRouter:
    read: list[DependsParam] = [Depends(require_read_key)] if settings.api_read_key_required else []
    read_errors = (401, 422, 503) if settings.api_read_key_required else (422, 503)
    router = APIRouter(tags=["reports"])

    @router.get(
        "/stats",
        response_model=StatsOut,
        dependencies=read,
        responses=error_responses(*read_errors),
        summary="Counts by status, indicator and órgão, and the last run of each scheduled task",
    )
    def stats(resources: Annotated[ApiResources, Depends(get_resources)]) -> StatsOut:
        # The cached value is the response model, so a hit costs no conversion either.
        return resources.summaries.get("stats", lambda: from_stats(resources.store.stats()))

    @router.get(
        "/orgaos",
        response_model=list[OrgaoOut],
        dependencies=read,
        responses=error_responses(*read_errors),
        summary="Watched órgãos with their latest risk ranking, riskiest first",
    )
    def orgaos(
        resources: Annotated[ApiResources, Depends(get_resources)],
        limit: Annotated[int, Query(ge=1, le=settings.api_max_page_size)] = min(100, settings.api_max_page_size),
    ) -> list[OrgaoOut]:
        return resources.summaries.get(
            f"orgaos:{limit}", lambda: [from_ranking(row) for row in resources.store.orgao_ranking(limit=limit)]
        )

    return router
