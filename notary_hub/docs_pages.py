"""The interactive docs pages, offline: Swagger UI and ReDoc from files the hub serves itself.

FastAPI's own ``/docs`` and ``/redoc`` load their scripts and styles from a CDN, which a
notary office's closed network does not reach and which the security headers would have
to allow. The assets come from the ``fastapi-offline`` distribution instead (Swagger UI
5 and ReDoc 2, built files only), mounted at :data:`STATIC_PATH`; the pages are FastAPI's
own HTML pointing at them, so ``Content-Security-Policy`` allows ``'self'`` alone.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
STATIC_PATH = "/docs/static"
ASSETS = Path(fastapi_offline.__file__).parent / "static"
SWAGGER_JS = f"{STATIC_PATH}/swagger-ui-bundle.js"
SWAGGER_CSS = f"{STATIC_PATH}/swagger-ui.css"
REDOC_JS = f"{STATIC_PATH}/redoc.standalone.js"
FAVICON = f"{STATIC_PATH}/favicon.png"


def install_docs_pages(app: FastAPI, openapi_url: str) -> None:
    """``/docs`` (Swagger UI), ``/redoc`` and their assets under :data:`STATIC_PATH`.

    ``app`` is made with ``docs_url=None, redoc_url=None`` so FastAPI's CDN pages are off.
    """
    app.mount(STATIC_PATH, StaticFiles(directory=ASSETS), name="docs-static")
    title = app.title

    @app.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
            swagger_js_url=SWAGGER_JS,
            swagger_css_url=SWAGGER_CSS,
            swagger_favicon_url=FAVICON,
        )

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_PATH, include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=REDOC_JS,
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        )
