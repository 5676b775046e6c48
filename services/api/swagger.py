"""Swagger UI at ``/docs`` from files this process serves, so the API's docs work offline.

FastAPI's default ``/docs`` page loads Swagger UI's script and style from a CDN and is blank
without internet (FastAPI's "Custom Docs UI Static Assets (Self-Hosting)" how-to describes
serving them instead). The files come from the ``swagger-ui-bundle-v2`` wheel, which ships
Swagger UI 5's ``dist`` folder (5.x renders the OpenAPI 3.1 schema FastAPI publishes). ReDoc is
not offered: it would need a CDN too.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/docs/assets"


def swagger_ui_dir() -> Path:
    import swagger_ui_bundle  # type: ignore[import-untyped]

    return Path(swagger_ui_bundle.swagger_ui_path)


def install_offline_docs(app: FastAPI, docs_url: str = "/docs") -> None:
    """Serve Swagger UI at ``docs_url`` with its files under ``/docs/assets``; no other host is named."""
    app.mount(ASSETS_PATH, StaticFiles(directory=swagger_ui_dir()), name="swagger-ui-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} - Swagger UI"

    @app.get(docs_url, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        )
