"""``GET /api/v1/stats`` and ``GET /api/v1/orgaos``: counts, the last runs, and the órgão risk ranking.

Both come from :mod:`services.api.summaries`: about ``API_SUMMARY_TTL_SECONDS`` old (a stale answer
is served while its one refresh runs), shared between web workers through Redis when there is one.
"""

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from services.api.auth import read_route
from services.api.deps import get_resources
from services.api.resources import ApiResources
from services.api.responses import json_bytes, json_response
from services.api.schemas.reports import OrgaoOut, StatsOut, from_ranking, from_stats
from shared import redis_keys
from shared.config import Settings
from shared.pipeline.errors import describe

log = logging.getLogger("vigia.api.reports")


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["reports"])

    @read_route(router, settings, "/stats", response_model=StatsOut,
                summary="Counts by status, indicator and órgão, and the last run of each scheduled task")
    async def stats(resources: Annotated[ApiResources, Depends(get_resources)]) -> StatsOut:
        # The cache holds the serialised body: a hit costs neither the database nor pydantic, and
        # runs on the event loop (only a worker's first call waits, in the thread pool).
        body = await _cached(resources, "stats", lambda: from_stats(resources.store.stats()).model_dump_json().encode())
        return json_response(body)  # type: ignore[return-value]

    @read_route(router, settings, "/orgaos", response_model=list[OrgaoOut],
                summary="Watched órgãos with their latest risk ranking, riskiest first")
    async def orgaos(
        resources: Annotated[ApiResources, Depends(get_resources)],
        limit: Annotated[int, Query(ge=1, le=settings.api_max_page_size)] = min(100, settings.api_max_page_size),
    ) -> list[OrgaoOut]:
        body = await _cached(
            resources, f"orgaos:{limit}",
            lambda: json_bytes([from_ranking(row) for row in resources.store.orgao_ranking(limit=limit)]),
        )
        return json_response(body)  # type: ignore[return-value]

    return router


async def _cached(resources: ApiResources, key: str, load: Callable[[], bytes]) -> bytes:
    hit = resources.summaries.peek(key)
    if hit is not None:
        return hit
    return await run_in_threadpool(resources.summaries.get, key, lambda: _shared(resources, key, load))


def _shared(resources: ApiResources, key: str, load: Callable[[], bytes]) -> bytes:
    """The answer another web worker (or instance) computed within the TTL, from Redis, before
    aggregating again: one aggregate per TTL for the deployment, not one per worker."""
    redis_key = f"{redis_keys.API_SUMMARY}{key}"
    ttl = resources.settings.api_summary_ttl_seconds
    if resources.redis is not None and ttl > 0:
        try:
            cached = resources.redis.get(redis_key)
            if cached:
                return bytes(cached)
        except Exception as error:  # Redis away: aggregate here instead
            log.warning("could not read the shared %s summary: %s", key, describe(error))
    body = load()
    if resources.redis is not None and ttl > 0:
        try:
            resources.redis.set(redis_key, body, px=max(1, int(ttl * 1000)))
        except Exception as error:
            log.warning("could not share the %s summary: %s", key, describe(error))
    return body
