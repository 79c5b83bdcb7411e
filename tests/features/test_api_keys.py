"""API keys at the HTTP edge, against a real uvicorn process with a keys file."""

from __future__ import annotations

import asyncio
import fnmatch
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.features.conftest import KEY_SPECS, bearer
from tests.support.jobs import finished, submit, wait_for
from tests.support.servers import LiveServer

CHALLENGE = 'Bearer realm="exporter"'


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["type"] == f"urn:exporter:problem:{slug}"
    assert body["status"] == status
    return body


@pytest.mark.parametrize("path", ["/exports", "/exports/orders", "/exports/nope", "/jobs", "/"])
def test_no_key_is_401_on_every_path_but_the_open_ones(
    secured_server: LiveServer, path: str
) -> None:
    response = httpx.get(secured_server.base_url + path, timeout=10)
    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == CHALLENGE
    assert "Authorization: Bearer" in str(body["detail"])


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/docs", "/redoc"])
def test_open_paths_need_no_key(secured_server: LiveServer, path: str) -> None:
    assert httpx.get(secured_server.base_url + path, timeout=10).status_code == 200


def test_metrics_path_is_open(secured_server: LiveServer) -> None:
    # Whether /metrics exists is another feature's business; it is never behind a key.
    assert httpx.get(secured_server.base_url + "/metrics", timeout=10).status_code != 401


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer exp_full_not-the-secret"},
        {"X-API-Key": "exp_full_not-the-secret"},
        {"Authorization": "Bearer exp_nobody_abcdefghijklmnopqrstuvwxyz"},
        {"Authorization": "Bearer something-else-entirely"},
    ],
)
def test_a_wrong_key_is_401_invalid_token(
    secured_server: LiveServer, headers: dict[str, str]
) -> None:
    response = httpx.get(secured_server.base_url + "/exports", headers=headers, timeout=10)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == CHALLENGE + ', error="invalid_token"'


def test_malformed_credentials_are_401_invalid_request(
    secured_server: LiveServer, tokens: dict[str, str]
) -> None:
    cases = [
        {"Authorization": f"Basic {tokens['full']}"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {tokens['full']} extra"},
        {"Authorization": f"Bearer {tokens['full']}", "X-API-Key": tokens["orders-only"]},
    ]
    for headers in cases:
        response = httpx.get(secured_server.base_url + "/exports", headers=headers, timeout=10)
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == CHALLENGE + ', error="invalid_request"'


@pytest.mark.parametrize("how", ["bearer", "x-api-key", "both"])
def test_a_valid_key_streams(secured_server: LiveServer, tokens: dict[str, str], how: str) -> None:
    token = tokens["full"]
    headers = {
        "bearer": bearer(token),
        "x-api-key": {"X-API-Key": token},
        "both": {**bearer(token), "X-API-Key": token},
    }[how]
    response = httpx.get(
        secured_server.base_url + "/exports/numbers?rows=25&format=csv", headers=headers, timeout=30
    )
    assert response.status_code == 200
    assert response.text.count("\n") == 26


def test_an_export_outside_the_key_patterns_is_403(
    secured_server: LiveServer, tokens: dict[str, str]
) -> None:
    with httpx.Client(
        base_url=secured_server.base_url, headers=bearer(tokens["orders-only"]), timeout=30
    ) as client:
        assert client.get("/exports/orders?status=paid").status_code == 200
        assert client.get("/exports/customers").status_code == 200  # cust*
        body = assert_problem(client.get("/exports/numbers"), 403, "export-forbidden")
        assert (body["key_id"], body["export"]) == ("orders-only", "numbers")
        # An unknown name outside the patterns is 403 as well: no probing for what exists.
        assert_problem(client.get("/exports/secret_stuff"), 403, "export-forbidden")
        # Inside the patterns but unknown: 404, listing only what the key may use.
        missing = assert_problem(client.get("/exports/customerz"), 404, "unknown-export")
        assert missing["known_exports"] == ["customers", "orders"]


def test_the_catalog_lists_only_what_the_key_may_use(
    secured_server: LiveServer, tokens: dict[str, str]
) -> None:
    def listed(key_id: str) -> list[str]:
        response = httpx.get(
            secured_server.base_url + "/exports", headers=bearer(tokens[key_id]), timeout=10
        )
        assert response.status_code == 200
        return [e["name"] for e in response.json()["exports"]]

    everything = listed("full")
    assert {"orders", "customers", "numbers", "slow_numbers"} <= set(everything)
    patterns = KEY_SPECS["orders-only"][0]
    expected = [n for n in everything if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    assert listed("orders-only") == expected == ["customers", "orders"]


def test_openapi_declares_the_key_schemes(secured_server: LiveServer) -> None:
    spec = httpx.get(secured_server.base_url + "/openapi.json", timeout=10).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert spec["security"] == [{"bearer": []}, {"apiKey": []}]
    assert spec["paths"]["/healthz"]["get"]["security"] == []
    orders = spec["paths"]["/exports/orders"]["get"]
    assert "security" not in orders  # the document-wide requirement applies
    assert {"401", "403", "429"} <= set(orders["responses"])


def test_no_secret_in_the_server_log(secured_server: LiveServer, tokens: dict[str, str]) -> None:
    token = tokens["logged"]
    secret = token.removeprefix("exp_logged_")
    base = secured_server.base_url
    httpx.get(base + "/exports/numbers?rows=5", headers=bearer(token), timeout=10)
    httpx.get(base + "/exports/numbers?rows=5", headers={"X-API-Key": token}, timeout=10)
    wrong = httpx.get(base + "/exports", headers=bearer(token[:-2] + "zz"), timeout=10)
    assert wrong.status_code == 401
    assert secret not in wrong.text and secret[:-2] not in wrong.text
    httpx.get(base + "/exports", headers={"Authorization": f"Basic {token}"}, timeout=10)
    log = secured_server.log()
    assert "key id 'logged'" in log  # the refusal is logged, by key id
    for key_id, every in tokens.items():
        assert every not in log
        assert every.removeprefix(f"exp_{key_id}_")[:12] not in log


def test_auth_off_is_announced_in_the_log(live_server: LiveServer) -> None:
    assert "authentication is OFF (EXPORTER_AUTH=off)" in live_server.log()
    assert httpx.get(live_server.base_url + "/exports", timeout=10).status_code == 200


def test_jobs_need_a_key_that_may_use_the_export_and_stay_with_their_key(
    secured_server: LiveServer, tokens: dict[str, str]
) -> None:
    base = secured_server.base_url
    with (
        httpx.Client(base_url=base, headers=bearer(tokens["full"]), timeout=30) as owner,
        httpx.Client(base_url=base, headers=bearer(tokens["orders-only"]), timeout=30) as other,
    ):
        assert_problem(httpx.post(base + "/jobs", json={"export": "numbers"}), 401, "unauthorized")
        forbidden = other.post("/jobs", json={"export": "numbers", "format": "csv"})
        assert_problem(forbidden, 403, "export-forbidden")
        job = submit(owner, export="numbers", params={"rows": 10}, format="csv")
        done = wait_for(owner, job["id"], finished)
        assert done["state"] == "succeeded", done
        assert owner.get(f"/jobs/{job['id']}/download").text.count("\n") == 11
        assert [j["id"] for j in owner.get("/jobs").json()["jobs"]] == [job["id"]]
        assert other.get("/jobs").json()["jobs"] == []
        for path in (f"/jobs/{job['id']}", f"/jobs/{job['id']}/download"):
            assert_problem(other.get(path), 404, "unknown-job")


def test_job_websockets_need_a_key_too(secured_server: LiveServer, tokens: dict[str, str]) -> None:
    with httpx.Client(
        base_url=secured_server.base_url, headers=bearer(tokens["full"]), timeout=30
    ) as owner:
        job = submit(owner, export="numbers", params={"rows": 10}, format="csv")
        wait_for(owner, job["id"], finished)
    url = secured_server.base_url.replace("http://", "ws://") + f"/jobs/{job['id']}/events"

    async def watch(headers: dict[str, str]) -> str | int:
        try:
            async with websockets.connect(url, additional_headers=headers) as socket:
                message: dict[str, Any] = json.loads(await socket.recv())
                return str(message["job"]["state"])
        except websockets.exceptions.InvalidStatus as exc:
            return int(exc.response.status_code)

    assert asyncio.run(watch({})) == 403  # closed before the handshake: no key
    assert asyncio.run(watch(bearer(tokens["full"] + "x"))) == 403
    assert asyncio.run(watch(bearer(tokens["full"]))) == "succeeded"
