"""The HTTP edge: the only package that knows FastAPI and Starlette."""

from exporter.api.app import create_app

__all__ = ["create_app"]
