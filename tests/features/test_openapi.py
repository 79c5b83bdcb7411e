"""The OpenAPI document of a live server: valid, one operationId per operation, typed job
bodies, complete enums, and binary downloads declared as such (a generated client then returns
bytes)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from exporter.compression import COMPRESSION_NAMES
from exporter.encoders import FORMATS
from tests.support.servers import LiveServer

_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def spec(live_server: LiveServer) -> dict[str, Any]:
    response = httpx.get(live_server.base_url + "/openapi.json", timeout=30)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in _METHODS
    ]


def test_the_document_validates(spec: dict[str, Any]) -> None:
    validate(spec)


def test_the_document_with_api_keys_validates(secured_server: LiveServer) -> None:
    secured = httpx.get(secured_server.base_url + "/openapi.json", timeout=30).json()
    assert secured["components"]["securitySchemes"]
    validate(secured)


def test_operation_ids_are_unique(spec: dict[str, Any]) -> None:
    ids = Counter(operation["operationId"] for _, _, operation in operations(spec))
    assert ids and not [name for name, count in ids.items() if count > 1]


def test_head_is_not_an_operation_of_its_own(spec: dict[str, Any]) -> None:
    # HEAD is GET without a body (RFC 9110); as an operation it made generated clients send
    # HEAD for "download" and get nothing.
    assert not [path for path, method, _ in operations(spec) if method == "head"]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return resolved


def test_job_bodies_are_typed_with_complete_enums(spec: dict[str, Any]) -> None:
    submit = spec["paths"]["/jobs"]["post"]
    body = _resolve(spec, submit["requestBody"]["content"]["application/json"]["schema"])
    assert body["properties"]["format"]["enum"] == list(FORMATS)
    assert "json" in FORMATS
    assert body["properties"]["compression"]["enum"] == list(COMPRESSION_NAMES)
    assert "br" in COMPRESSION_NAMES
    job = _resolve(spec, submit["responses"]["202"]["content"]["application/json"]["schema"])
    assert {"id", "state", "rows", "file", "links"} <= set(job["required"])
    listed = spec["paths"]["/jobs"]["get"]["responses"]["200"]["content"]["application/json"]
    assert _resolve(spec, listed["schema"])["properties"]["jobs"]["items"]["$ref"].endswith("/Job")
    for path, method in [("/jobs/{job_id}", "get"), ("/jobs/{job_id}", "delete")]:
        content = spec["paths"][path][method]["responses"]["200"]["content"]
        assert _resolve(spec, content["application/json"]["schema"]) == job


def test_downloads_are_declared_binary(spec: dict[str, Any]) -> None:
    binary = {"type": "string", "format": "binary"}
    export = spec["paths"]["/exports/orders"]["get"]["responses"]["200"]["content"]
    assert set(export) == {f.media_type for f in FORMATS.values()}
    assert all(media["schema"] == binary for media in export.values())
    download = spec["paths"]["/jobs/{job_id}/download"]["get"]["responses"]["200"]["content"]
    assert {"application/gzip", "application/zstd", "application/x-brotli"} <= set(download)
    assert all(media["schema"] == binary for media in download.values())


def test_export_parameters_have_typed_defaults(spec: dict[str, Any]) -> None:
    numbers = {p["name"]: p for p in spec["paths"]["/exports/numbers"]["get"]["parameters"]}
    assert numbers["rows"]["schema"]["default"] == 10  # an integer, not the text "10"
    assert numbers["csv_delimiter"]["schema"]["enum"] == [",", ";", "\t", "tab", "|"]
