"""Everything the pages use from the rest of ``exporter``, gathered in one place.

The pages talk to the service the way the JSON routes do; when modules outside ``api/`` move,
this file is the one to update.
"""

from __future__ import annotations

from exporter.auth import ApiKey, Authenticator, token_key_id
from exporter.catalog import ExportDefinition, ParamSpec
from exporter.encoders import FORMATS
from exporter.errors import ExporterError, InvalidParameter, NotAuthenticated
from exporter.params import ExportRequest
from exporter.pipeline import StreamStats
from exporter.service import ExportService
from exporter.settings import Settings

__all__ = [
    "FORMATS",
    "ApiKey",
    "Authenticator",
    "ExportDefinition",
    "ExportRequest",
    "ExportService",
    "ExporterError",
    "InvalidParameter",
    "NotAuthenticated",
    "ParamSpec",
    "Settings",
    "StreamStats",
    "token_key_id",
]
