"""The ASGI application: ``gunicorn services.api.main:app -c services/api/gunicorn_conf.py``.

Pools and clients are opened in the lifespan and closed on shutdown; nothing connects at import.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.bootstrap import bootstrap


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield


def create_app() -> FastAPI:
    app = FastAPI(
        title="Vigia",
        summary="Red flags in Brazilian federal contracts, watched around the clock.",
        version="0.1.0",
        lifespan=lifespan,
    )

    @app.get("/health", tags=["health"], summary="Liveness: the process is up")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


settings = bootstrap("web")
app = create_app()
