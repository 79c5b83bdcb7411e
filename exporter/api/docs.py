"""``/docs`` (Swagger UI) and ``/redoc`` that work offline: their files come from this service.

FastAPI's default pages load Swagger UI and ReDoc from a CDN, so without internet access they
are blank. The files ship in the ``fastapi-offline`` package (Swagger UI 5, ReDoc 2, MIT);
we serve its static folder and keep FastAPI's own page HTML.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

__all__ = ["mount_offline_docs"]

STATIC_URL = "/docs/static"
_STATIC_DIR = Path(fastapi_offline.__file__).parent / "static"
#: ReDoc shows a decorative logo from its vendor's CDN (hidden when it fails to load): the
#: browser is told not to fetch images from anywhere but here, so offline nothing is tried.
_IMAGES_FROM_HERE = {"Content-Security-Policy": "img-src 'self' data:"}


def mount_offline_docs(app: FastAPI) -> None:
    """Serve ``/docs``, ``/docs/oauth2-redirect`` and ``/redoc`` from local files.

    The app must be created with ``docs_url=None, redoc_url=None``.
    """
    app.mount(STATIC_URL, StaticFiles(directory=_STATIC_DIR), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
            swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            # No badge fetched from the public validator either.
            swagger_ui_parameters={"validatorUrl": None},
        )
        page.headers.update(_IMAGES_FROM_HERE)
        return page

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )
        page.headers.update(_IMAGES_FROM_HERE)
        return page
