"""The OpenAPI document's builders: each export's operation and the API key schemes.

Routes only register routes; what ``/openapi.json`` says about them is shaped here.
"""

from __future__ import annotations

import math
from typing import Any

from exporter.api.auth import OPEN_PATHS
from exporter.catalog.definitions import ExportDefinition, ParamSpec
from exporter.catalog.filters import operators_for
from exporter.catalog.params import COMPRESS_CHOICES, CSV_DELIMITERS
from exporter.compression import COMPRESSION_NAMES
from exporter.encoders import FORMATS
from exporter.jobs.model import FileStatus, JobState

__all__ = [
    "binary_content",
    "declare_job_schemas",
    "declare_security",
    "document_export",
    "job_schemas",
    "json_body",
]

#: JSON Schema of each parameter type; a type not listed is documented as a plain string.
_SCHEMA_BY_PARAM_TYPE: dict[str, dict[str, Any]] = {
    "smallint": {"type": "integer", "minimum": -(2**15), "maximum": 2**15 - 1},
    "integer": {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
    "bigint": {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
    "numeric": {
        "type": "string",
        "pattern": r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$",
    },
    "real": {"type": "number"},
    "double precision": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "timestamp": {"type": "string", "format": "date-time"},
    "timestamptz": {"type": "string", "format": "date-time"},
    "uuid": {"type": "string", "format": "uuid"},
    "text": {"type": "string"},
}


def _csv_parameters() -> list[dict[str, Any]]:
    """CSV's options (format=csv only; a 422 with any other format)."""
    return [
        {
            "name": "csv_bom",
            "in": "query",
            "required": False,
            "description": "csv only: a UTF-8 byte order mark first, so that Excel reads UTF-8.",
            "schema": {"type": "boolean", "default": False},
        },
        {
            "name": "csv_delimiter",
            "in": "query",
            "required": False,
            "description": "csv only: the field delimiter, as COPY's DELIMITER (';' for Excel in "
            "comma-decimal locales); a tab is %09 or tab.",
            "schema": {"type": "string", "enum": list(CSV_DELIMITERS), "default": ","},
        },
        {
            "name": "csv_header",
            "in": "query",
            "required": False,
            "description": "csv only: false leaves out the header line (Content-Type then says "
            "header=absent).",
            "schema": {"type": "boolean", "default": True},
        },
    ]


def declare_security(schema: dict[str, Any]) -> None:
    """Declare the API key schemes in an OpenAPI document: required everywhere but on
    ``OPEN_PATHS``, with the 401 every protected operation can answer."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (exp_<key id>_<secret>) as 'Authorization: Bearer <key>'.",
    }
    schemes["apiKey"] = {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    schema["security"] = [{"bearer": []}, {"apiKey": []}]
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            if path in OPEN_PATHS:
                operation["security"] = []
            else:
                operation.setdefault("responses", {}).setdefault(
                    "401", {"description": "Missing or wrong API key (problem+json)"}
                )


def document_export(export: ExportDefinition) -> dict[str, Any]:
    """What the OpenAPI document says about ``export``'s own route (FastAPI's ``openapi_extra``):
    its typed parameters, the options every export takes, its columns and its statuses."""
    parameters = [_document_parameter(p) for p in export.params]
    parameters += [
        {
            "name": "format",
            "in": "query",
            "required": False,
            "description": "Output format; overrides Accept. Default: ndjson.",
            "schema": {"type": "string", "enum": list(FORMATS)},
        },
        {
            "name": "fetch_rows",
            "in": "query",
            "required": False,
            "description": "Rows per cursor round trip (server-side bounds apply); for csv, "
            "arrow and parquet, giving it selects the cursor path instead of COPY.",
            "schema": {"type": "integer", "minimum": 1},
        },
        {
            "name": "chunk_bytes",
            "in": "query",
            "required": False,
            "description": "Encoded bytes per HTTP chunk (server-side bounds apply).",
            "schema": {"type": "integer", "minimum": 1024},
        },
        {
            "name": "compress",
            "in": "query",
            "required": False,
            "description": "auto: compress (Content-Encoding from Accept-Encoding: zstd, br, "
            "gzip) only the formats the server compresses by default, csv and ndjson unless "
            "configured otherwise; always: every format, arrow and parquet too (parquet is "
            "compressed inside and gains little). Compressed responses are flushed chunk by "
            "chunk: rows stream as they would uncompressed.",
            "schema": {"type": "string", "enum": list(COMPRESS_CHOICES), "default": "auto"},
        },
        *_csv_parameters(),
    ]
    parameters += _document_shaping(export)
    columns = ", ".join(f"{c.name} {c.sql_type}" for c in export.columns)
    ok: dict[str, Any] = {
        "description": "The export, streamed (chunked); with Content-Encoding when "
        "compressed (see compress), and always Vary: Accept-Encoding.",
        "content": {f.media_type: {"schema": {"type": "string", "format": "binary"}}
                    for f in FORMATS.values()},
    }  # fmt: skip
    if export.watermark is not None:
        ok["headers"] = {
            "Exporter-Watermark": {
                "description": "The token the next incremental pull passes as after= (rows "
                f"with a greater {export.watermark}); known before the first byte.",
                "schema": {"type": "string"},
            }
        }
    return {
        "description": f"{export.description}\n\nColumns: {columns}",
        "parameters": parameters,
        "responses": {
            "200": ok,
            "403": {"description": "The API key may not use this export (problem+json)"},
            "404": {"description": "Unknown export (problem+json)"},
            "406": {"description": "Unsupported format, or an Accept-Encoding that refuses "
                           "identity and every coding offered (problem+json)"},
            "422": {"description": "Invalid parameter (problem+json)"},
            "429": {"description": "The API key's request rate or concurrent exports are used "
                                   "up; see Retry-After (problem+json)"},
            "503": {"description": "Database unavailable or the server runs its maximum of "
                                   "exports; see Retry-After (problem+json)"},
        },
    }  # fmt: skip


def _document_parameter(param: ParamSpec) -> dict[str, Any]:
    schema = dict(_SCHEMA_BY_PARAM_TYPE.get(param.type.name, {"type": "string"}))
    description = f"{param.type.name}; expected {param.type.expected}"
    if param.sensitive:
        # Secrets: no default on show, and documentation UIs mask what is typed in.
        schema.setdefault("format", "password")
        description += " (sensitive: never logged)"
    elif param.default is not None and (default := _typed_default(schema, param.default)):
        schema["default"] = default[0]
    return {
        "name": param.name,
        "in": "query",
        "required": param.required,
        "description": description,
        "schema": schema,
    }


def _document_shaping(export: ExportDefinition) -> list[dict[str, Any]]:
    """select, one where.<column> per filterable column, order, limit and (with a watermark)
    after: see docs/bi.md."""
    if not export.shaping:
        return []
    names = ", ".join(c.name for c in export.columns)
    documented: list[dict[str, Any]] = [
        {
            "name": "select",
            "in": "query",
            "required": False,
            "description": f"Result columns to return, in this order, comma-separated: {names}.",
            "schema": {"type": "string"},
        }
    ]
    for column in export.filterable_columns:
        operators = operators_for(column)
        documented.append(
            {
                "name": f"where.{column.name}",
                "in": "query",
                "required": False,
                "description": f"Filter on {column.name} ({column.sql_type}): "
                f"[not.]<op>.<value> with op among {', '.join(operators)}; in.(a,b,...) with "
                '"quoted" items for values holding commas; is.null'
                + (", is.true, is.false" if column.pg_type == "bool" else "")
                + ". Repeat the parameter to AND several conditions.",
                "schema": {"type": "array", "items": {"type": "string"}},
                "style": "form",
                "explode": True,
            }
        )
    documented += [
        {
            "name": "order",
            "in": "query",
            "required": False,
            "description": "Sort by result columns: column[.asc|.desc][.nullsfirst|.nullslast], "
            "comma-separated.",
            "schema": {"type": "string"},
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": "At most this many rows (bounded by EXPORTER_LIMIT_MAX).",
            "schema": {"type": "integer", "minimum": 0},
        },
    ]
    if export.watermark is not None:
        documented.append(
            {
                "name": "after",
                "in": "query",
                "required": False,
                "description": f"The Exporter-Watermark token of the previous pull: only rows "
                f"with a greater {export.watermark} (see the guarantee in docs/bi.md).",
                "schema": {"type": "string"},
            }
        )
    return documented


def _typed_default(schema: dict[str, Any], text: str) -> tuple[Any] | None:
    """A default (text, as declared) as a value of its schema's JSON type; None when it has no
    JSON form (a float's NaN or infinity)."""
    kind = schema.get("type")
    if kind == "integer":
        return (int(text),)
    if kind == "number":
        value = float(text)
        return (value,) if math.isfinite(value) else None
    if kind == "boolean":
        return (text == "true",)
    return (text,)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def job_schemas() -> dict[str, dict[str, Any]]:
    """The job API's bodies as named schemas (``declare_job_schemas``): a generated client gets
    typed classes instead of dictionaries. The routes build and check the bodies themselves."""
    formats = {"type": "string", "enum": list(FORMATS)}
    compressions = {"type": "string", "enum": list(COMPRESSION_NAMES)}
    stamp = {"type": "string", "format": "date-time"}
    link = {"type": "string", "format": "uri-reference"}
    file_properties: dict[str, Any] = {
        "status": {"type": "string", "enum": [s.value for s in FileStatus]},
        "name": {"type": "string"},
        "bytes": _nullable({"type": "integer"}),
        "rows": {"type": "integer"},
        "sha256": _nullable({"type": "string"}),
        "expires_at": _nullable(stamp),
        "download": link,
        "url": {**link, "description": "The download at a URL ending with the file's name."},
    }
    job_properties: dict[str, Any] = {
        "id": {"type": "string", "format": "uuid"},
        "export": {"type": "string"},
        "params": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Parameter values as text; sensitive ones as [redacted].",
        },
        "format": formats,
        "compression": compressions,
        "state": {"type": "string", "enum": [s.value for s in JobState]},
        "cancel_requested": {"type": "boolean"},
        "rows": {"type": "integer"},
        "bytes": {"type": "integer"},
        "attempts": {"type": "integer"},
        "max_attempts": {"type": "integer"},
        "error": _nullable({"type": "string"}),
        "watermark": {
            **_nullable({"type": "string"}),
            "description": "The Exporter-Watermark token a watermark export's job ended with: "
            "the next incremental pull passes it as after.",
        },
        "created_at": stamp,
        "started_at": _nullable(stamp),
        "finished_at": _nullable(stamp),
        "file": _nullable({"$ref": "#/components/schemas/JobFile"}),
        "links": {
            "type": "object",
            "required": ["self", "events"],
            "properties": {"self": link, "events": link},
        },
    }
    return {
        "JobSubmission": {
            "type": "object",
            "title": "JobSubmission",
            "required": ["export"],
            "additionalProperties": False,
            "properties": {
                "export": {"type": "string"},
                "params": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "number", "integer", "boolean"]},
                    "description": "Parameter values, and request options such as csv_delimiter.",
                },
                "format": {**formats, "default": "ndjson"},
                "compression": {**compressions, "default": "none"},
            },
        },
        "JobFile": {
            "type": "object",
            "title": "JobFile",
            "required": list(file_properties),
            "properties": file_properties,
        },
        "Job": {
            "type": "object",
            "title": "Job",
            "required": list(job_properties),
            "properties": job_properties,
        },
        "JobList": {
            "type": "object",
            "title": "JobList",
            "required": ["jobs"],
            "properties": {
                "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}}
            },
        },
    }


def declare_job_schemas(schema: dict[str, Any]) -> None:
    """Add the job API's named schemas (``job_schemas``) to an OpenAPI document."""
    schema.setdefault("components", {}).setdefault("schemas", {}).update(job_schemas())


def json_body(name: str) -> dict[str, Any]:
    """An ``application/json`` content of the named schema (``job_schemas``)."""
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def binary_content(media_types: list[str]) -> dict[str, Any]:
    """Response content that is bytes, in any of ``media_types``: a generated client returns
    them as they are."""
    return {
        media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in media_types
    }
