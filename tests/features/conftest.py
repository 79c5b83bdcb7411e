"""A server with authentication on, and the tokens of its keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.access.keys import keys_file_entry, new_token
from tests.support.servers import LiveServer, start_server

#: Key id -> (export patterns, extra TOML lines). Each test uses its own key, so one test's
#: rate or concurrency never leaks into another's.
KEY_SPECS: dict[str, tuple[list[str], str]] = {
    "full": (["*"], "burst = 1000\nrequests_per_minute = 6000\n"),
    "orders-only": (["orders", "cust*"], "burst = 1000\n"),
    "logged": (["*"], "burst = 1000\n"),
    "slow": (["*"], "requests_per_minute = 6\nburst = 2\n"),
    "burst": (["*"], "requests_per_minute = 6\nburst = 3\n"),
    "pair": (["*"], "burst = 100\nconcurrent_exports = 2\n"),
    "single": (["*"], "burst = 100\nconcurrent_exports = 1\n"),
}


@pytest.fixture(scope="session")
def tokens() -> dict[str, str]:
    """A fresh token per key id of ``KEY_SPECS``."""
    return {key_id: new_token(key_id) for key_id in KEY_SPECS}


@pytest.fixture(scope="session")
def keys_file(tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys.toml"
    entries = [
        keys_file_entry(key_id, tokens[key_id], patterns) + extra
        for key_id, (patterns, extra) in KEY_SPECS.items()
    ]
    path.write_text("# Test keys.\n\n" + "\n".join(entries))
    return path


@pytest.fixture(scope="session")
def secured_server(
    database_url: str,
    catalog_dir: Path,
    keys_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """One shared server that requires the keys of ``KEY_SPECS``."""
    server = start_server(
        database_url,
        catalog_dir,
        tmp_path_factory.mktemp("secured"),
        EXPORTER_AUTH="auto",
        EXPORTER_KEYS_FILE=str(keys_file),
    )
    try:
        yield server
    finally:
        server.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
