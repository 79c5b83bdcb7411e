"""Cross-origin pages (a BI dashboard's JavaScript) may call the API when their origin is listed."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from exporter.access.keys import new_token, token_sha256
from tests.support.servers import LiveServer

DASHBOARD = "https://bi.example.com"


def test_a_listed_origin_gets_cors_answers_and_keys_still_count(
    server_factory: Callable[..., LiveServer],
) -> None:
    token = new_token("dashboard")
    server = server_factory(
        EXPORTER_CORS_ORIGINS=f"{DASHBOARD},http://localhost:3000",
        EXPORTER_AUTH="on",
        EXPORTER_API_KEY_SHA256=f"dashboard:{token_sha256(token).hex()}",
    )
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        # The preflight carries no key: it is answered before authentication.
        preflight = http.options(
            "/exports/customers",
            headers={
                "Origin": DASHBOARD,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == DASHBOARD
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in preflight.headers

        allowed = http.get(
            "/exports/customers?format=csv",
            headers={"Origin": DASHBOARD, "Authorization": f"Bearer {token}"},
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == DASHBOARD
        exposed = allowed.headers["access-control-expose-headers"].lower()
        assert "content-disposition" in exposed and "x-request-id" in exposed

        # The key still decides: a listed origin without a key gets the 401, with CORS headers
        # so the page can read why.
        refused = http.get("/exports/customers", headers={"Origin": DASHBOARD})
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == DASHBOARD

        stranger = http.get(
            "/exports/customers",
            headers={"Origin": "https://evil.example", "Authorization": f"Bearer {token}"},
        )
        assert "access-control-allow-origin" not in stranger.headers
        bad_preflight = http.options(
            "/exports/customers",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert bad_preflight.status_code == 400


def test_cors_is_off_unless_origins_are_listed(live_server: LiveServer) -> None:
    answer = httpx.get(
        live_server.base_url + "/exports/customers", headers={"Origin": DASHBOARD}, timeout=30
    )
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
