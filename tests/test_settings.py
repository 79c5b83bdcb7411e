from __future__ import annotations

from pathlib import Path

import pytest

from exporter.errors import ConfigError
from exporter.settings import Settings, describe_settings

SETTINGS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_every_setting_is_documented_in_the_settings_page() -> None:
    page = SETTINGS_PAGE.read_text()
    missing = [env for env, _, _ in describe_settings() if f"`{env}`" not in page]
    assert missing == []


def test_reads_the_environment_with_units() -> None:
    settings = Settings.from_env(
        {"EXPORTER_FETCH_ROWS": "5_000", "EXPORTER_STATEMENT_TIMEOUT": "1.5min",
         "EXPORTER_POOL_ACQUIRE_TIMEOUT": "250ms", "DATABASE_URL": ""}
    )  # fmt: skip
    assert settings.fetch_rows == 5000
    assert settings.statement_timeout_s == 90
    assert settings.pool_acquire_timeout_s == 0.25
    assert settings.database_url is None


@pytest.mark.parametrize(
    ("environ", "name"),
    [
        ({"EXPORTER_PORT": "eighty"}, "EXPORTER_PORT"),
        ({"EXPORTER_STATEMENT_TIMEOUT": "soon"}, "EXPORTER_STATEMENT_TIMEOUT"),
        ({"EXPORTER_FETCH_ROWS": "0"}, "fetch_rows"),
        ({"EXPORTER_FETCH_ROWS": "200000"}, "fetch_rows"),
        ({"EXPORTER_FETCH_ROWS_MIN": "2000"}, "fetch_rows_min"),
        ({"EXPORTER_PARQUET_ROW_GROUP_BYTES": "0"}, "parquet_row_group_bytes"),
        ({"EXPORTER_POOL_MIN_SIZE": "20"}, "pool_min_size"),
        ({"EXPORTER_CLIENT_WRITE_TIMEOUT": "0"}, "client_write_timeout_s"),
        ({"EXPORTER_AUTH": "maybe"}, "auth"),
        ({"EXPORTER_KEY_BURST": "0"}, "key_burst"),
        ({"EXPORTER_KEY_CONCURRENT_EXPORTS": "-1"}, "key_concurrent_exports"),
        ({"EXPORTER_MAX_CONCURRENT_EXPORTS": "0"}, "max_concurrent_exports"),
        ({"EXPORTER_LOG_FORMAT": "yaml"}, "log_format"),
        ({"EXPORTER_COMPRESSION": "gzip,deflate"}, "compression"),
        ({"EXPORTER_COMPRESSION": "gzip,gzip"}, "compression"),
        ({"EXPORTER_COMPRESS_FORMATS": "csv,xml"}, "compress_formats"),
        ({"EXPORTER_COMPRESS_MIN_BYTES": "-1"}, "compress_min_bytes"),
    ],
)
def test_rejects_unusable_values_naming_the_setting(environ: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ)
    assert caught.value.name == name


def test_the_replica_export_limit_defaults_to_the_pool_size() -> None:
    assert Settings.from_env({"EXPORTER_POOL_MAX_SIZE": "7"}).replica_export_limit == 7
    both = {"EXPORTER_POOL_MAX_SIZE": "7", "EXPORTER_MAX_CONCURRENT_EXPORTS": "3"}
    assert Settings.from_env(both).replica_export_limit == 3
    assert Settings.from_env({"EXPORTER_AUTH": "OFF"}).auth == "off"


def test_compression_lists() -> None:
    assert Settings.from_env({}).compression == ("zstd", "br", "gzip")
    settings = Settings.from_env(
        {"EXPORTER_COMPRESSION": " GZip , zstd", "EXPORTER_COMPRESS_FORMATS": "none"}
    )
    assert settings.compression == ("gzip", "zstd")
    assert settings.compress_formats == ()
    assert Settings.from_env({"EXPORTER_COMPRESSION": ""}).compression == ()
    defaults = {env: default for env, default, _ in describe_settings()}
    assert defaults["EXPORTER_COMPRESSION"] == "zstd,br,gzip"
    assert defaults["EXPORTER_COMPRESS_FORMATS"] == "csv,ndjson,json"
