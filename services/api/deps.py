"""FastAPI dependencies: the connections opened in the lifespan, reached through the request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request

from services.api.resources import ApiResources

if TYPE_CHECKING:
    from shared.store.base import Store


def _resources(request: Request) -> ApiResources:
    resources: ApiResources | None = getattr(request.app.state, "resources", None)
    if resources is None:  # only when the app is served without its lifespan
        raise RuntimeError("the API's resources are not open: serve the app with its lifespan enabled")
    return resources


# async: FastAPI runs a plain-def dependency in the thread pool, a hop per request for a lookup.
async def get_resources(request: Request) -> ApiResources:
    return _resources(request)


async def get_store(request: Request) -> Store:
    return _resources(request).store


async def get_redis(request: Request) -> Any:
    return _resources(request).redis
