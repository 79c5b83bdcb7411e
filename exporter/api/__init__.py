"""The HTTP edge: the only package that knows FastAPI and Starlette.

- ``app``: ``create_app(settings)`` and the lifespan; ``state``: the typed ``Runtime`` requests
  read.
- ``routes``: exports, the catalog and health; ``jobs``: the job API; ``streaming``: the pure
  ASGI response that streams one export.
- ``problems``: the one table from error classes to problem+json answers; ``query``: the
  query string read as strict UTF-8.
- ``openapi``: the per-export documentation; ``negotiation``: formats from ``format=`` and
  ``Accept``.
- Middleware: ``auth``, ``rate_limit``, ``content_coding``, ``request_id``.
- ``ui``: the analysts' pages; ``docs``: Swagger UI and ReDoc served offline.
"""

from exporter.api.app import create_app

__all__ = [
    "app",
    "auth",
    "content_coding",
    "create_app",
    "docs",
    "jobs",
    "negotiation",
    "openapi",
    "problems",
    "query",
    "rate_limit",
    "request_id",
    "routes",
    "state",
    "streaming",
    "ui",
]
