"""The FastAPI application factory; ``services.api.main`` builds the process's app from it.

:func:`create_app` wires the routers (one module per resource under ``routes/``), the error
handlers, CORS from settings, the body size limit and the JSON access log. The store's pool, the
Celery client and the Redis client (or, with ``ENABLE_CELERY_WORKERS=false``, the pool that runs
on-demand investigations in this process) are opened in the lifespan, once per gunicorn worker,
and closed on shutdown; nothing connects here until the app is served.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from services.api.auth import API_KEY_HEADER, writes_are_open
from services.api.errors import install_error_handlers
from services.api.middleware import (
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
    ResponseSizeLimitMiddleware,
)
from services.api.page import build_router as build_page_router
from services.api.pagecache import PageCache, PublicReadCacheMiddleware, public_cache_on
from services.api.proxy import TrustedProxyMiddleware
from services.api.ratelimit import RateLimiter, RateLimitMiddleware
from services.api.resources import open_resources
from services.api.routes import feedback, health, investigations, reports
from services.api.schemas.investigations import API_PREFIX
from services.api.summaries import WARM_SECONDS
from services.api.swagger import install_offline_docs
from shared.config import Settings

log = logging.getLogger("vigia.api")

DESCRIPTION = """Red flags in Brazilian federal contracts, watched around the clock.

A flag is a reason to look, never proof of wrongdoing. Reads are public unless
API_READ_KEY_REQUIRED is set (then a read key or a write key reads); writes need a write key in the
`X-API-Key` header. Requests are rate-limited per client address and per key (429 with
`Retry-After`); lists page by cursor. Errors are JSON with a machine-readable `error`, a `message`
and, for bad input, the `fields` at fault.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if writes_are_open(settings):
        log.warning("API_KEYS is empty: write endpoints are open (development only)")
    resources = await run_in_threadpool(open_resources, settings)
    app.state.resources = resources
    if app.state.public_pages is not None:
        app.state.public_pages.feed = resources.changes
    # /stats and /orgaos answer from memory from the first request on: load them before serving.
    warm = resources.summaries.start()
    if warm is not None:
        await run_in_threadpool(warm.join, WARM_SECONDS)
        if warm.is_alive():
            log.warning("the /stats and /orgaos summaries are not loaded after %.0f s; serving while they load",
                        WARM_SECONDS)
    try:
        yield
    finally:
        app.state.resources = None
        await run_in_threadpool(resources.close)
        log.info("API resources closed")


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="Vigia",
        summary="Red flags in Brazilian federal contracts, watched around the clock.",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from local files by install_offline_docs: no CDN
        redoc_url=None,
        # Vigia exports no OpenTelemetry data (errors go to Sentry, access lines to the log); with
        # FastAPI's native telemetry on, every request looks up the global providers first.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.resources = None
    app.state.public_pages = PageCache(settings.api_list_cache_seconds) if public_cache_on(settings) else None
    install_error_handlers(app)
    app.include_router(health.build_router())
    for module in (investigations, feedback, reports):
        app.include_router(module.build_router(settings), prefix=API_PREFIX)
    app.include_router(build_page_router(settings))
    install_offline_docs(app)
    # Added last = outermost: every request gets an id and an access line, even a rejected one.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(ResponseSizeLimitMiddleware, max_bytes=settings.api_max_response_bytes)
    if app.state.public_pages is not None:
        app.add_middleware(PublicReadCacheMiddleware, cache=app.state.public_pages,
                           prefix=f"{API_PREFIX}/investigations")
    # Outside the body limit: a client over its rate gets its 429 before any body is read.
    app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(settings))
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=[API_KEY_HEADER, "Content-Type", "X-Request-ID"],
            expose_headers=["Location", "X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware)
    # Outermost: the access line and the rate limiter both see the client the proxies reported.
    app.add_middleware(TrustedProxyMiddleware, hops=settings.api_trusted_proxy_hops)
    return app
