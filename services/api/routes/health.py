"""``GET /health`` (liveness) and ``GET /health/ready`` (readiness), at the root for platform probes.

Liveness says only that the process answers, so a slow database never gets the web restarted.
Readiness needs Redis and the database to answer now (the checks of
:mod:`shared.pipeline.health`, shared with the hourly task and ``vigia doctor``); with
``ENABLE_CELERY_WORKERS=false`` the deployment has no Redis, so that check is ``skipped`` and
the database alone decides. It also reports the last scheduled health
check (the Portal, the workers) for people, without letting it decide readiness: a Portal outage
is no reason to take the API out of rotation. Both stay public even when reads need a key.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from services.api.deps import get_resources
from services.api.resources import ApiResources
from services.api.schemas.reports import CheckOut, HealthOut, LastHealthCheckOut, ReadyOut
from shared import task_names
from shared.checks import Check
from shared.logging import RedactingFilter, public_text
from shared.pipeline.health import check_database, check_redis

log = logging.getLogger("vigia.api.health")

HEALTH_CHECK_TASK = task_names.HEALTH_CHECK
NO_BROKER = Check("redis", "skipped", "ENABLE_CELERY_WORKERS=false: this deployment has no broker; "
                                      "on-demand investigations run in the API process")


def _as_out(check: Check, redactor: RedactingFilter) -> CheckOut:
    # Driver errors quote URLs and host names; the body is public: secrets and servers are masked.
    return CheckOut(
        ok=check.status in ("ok", "skipped"),
        status=check.status,
        detail=public_text(check.detail, redactor.secrets),
        latency_ms=check.latency_ms,
    )


def _last_health_check(resources: ApiResources) -> LastHealthCheckOut | None:
    try:
        runs = resources.store.last_runs(task=HEALTH_CHECK_TASK, limit=1)
    except Exception as error:  # already reported by the database check
        log.debug("could not read the last health check: %s", error)
        return None
    if not runs:
        return None
    result = runs[0].result or {}
    checks = result.get("checks")
    return LastHealthCheckOut(
        status=result.get("status") if isinstance(result.get("status"), str) else None,
        finished_at=runs[0].finished_at,
        checks=checks if isinstance(checks, dict) else {},
    )


def build_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health", response_model=HealthOut, summary="Liveness: the process is up")
    async def health() -> HealthOut:
        return HealthOut(status="ok")

    @router.get(
        "/health/ready",
        response_model=ReadyOut,
        responses={503: {"model": ReadyOut, "description": "Redis or the database does not answer"}},
        summary="Readiness: Redis and the database answer; the last scheduled health check",
    )
    def ready(resources: Annotated[ApiResources, Depends(get_resources)]) -> JSONResponse:
        redactor = RedactingFilter(resources.settings.secret_values())
        checks = {
            "redis": _as_out(check_redis(resources.redis) if resources.redis is not None else NO_BROKER, redactor),
            "database": _as_out(check_database(resources.store), redactor),
        }
        is_ready = all(check.ok for check in checks.values())
        body = ReadyOut(
            status="ready" if is_ready else "not_ready",
            checks=checks,
            last_health_check=_last_health_check(resources) if checks["database"].ok else None,
        )
        if not is_ready:
            log.warning("not ready", extra={"checks": {k: v.detail for k, v in checks.items() if not v.ok}})
        return JSONResponse(body.model_dump(mode="json"), status_code=200 if is_ready else 503)

    return router
