"""The analysts' web pages: browse exports, fill parameters, preview, download, follow jobs.

``mount_ui(app, ...)`` adds the pages, their static files and the session middleware that lets
a browser use an API key through a signed cookie (see ``sessions``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from exporter.access.keys import Authenticator
from exporter.api.ui.routes import build_ui_router
from exporter.api.ui.sessions import SessionMiddleware, SessionSigner
from exporter.settings import Settings

__all__ = ["forms", "mount_ui", "preview", "routes", "sessions"]

STATIC_DIR = Path(__file__).parent / "static"


def mount_ui(app: FastAPI, settings: Settings, authenticator: Authenticator) -> None:
    """Add the pages to ``app``. Call before the outermost middleware is added."""
    signer = SessionSigner(settings.session_secret, ttl_s=settings.session_ttl_s)
    app.include_router(build_ui_router(authenticator, signer))
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    app.add_middleware(SessionMiddleware, authenticator=authenticator, signer=signer)
