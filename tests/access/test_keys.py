"""API keys: tokens, the keys file (errors name file, line and field), and when auth is off."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

from exporter.access import keys as auth
from exporter.access.keys import (
    ApiKey,
    Authenticator,
    keys_file_entry,
    load_authenticator,
    load_keys_file,
    new_token,
    token_sha256,
)
from exporter.errors import ConfigError, KeysFileError, NotAuthenticated
from exporter.settings import Settings

SETTINGS = Settings.from_env({})


def write_keys(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keys.toml"
    path.write_text(text)
    return path


def test_a_generated_entry_loads_and_authenticates_its_token(tmp_path: Path) -> None:
    token = new_token("reporting")
    assert token.startswith("exp_reporting_") and len(token) > 50
    path = write_keys(tmp_path, keys_file_entry("reporting", token, ["orders", "cust*"]))
    (key,) = load_keys_file(path, SETTINGS)
    assert key.key_id == "reporting"
    assert key.secret_sha256 == token_sha256(token)
    assert key.exports == ("orders", "cust*")
    assert (key.requests_per_minute, key.burst, key.concurrent_exports) == (120, 20, 4)
    assert Authenticator([key]).authenticate(token) is key
    assert token not in repr(key) and token_sha256(token).hex() not in repr(key)


def test_two_tokens_for_one_id_differ() -> None:
    assert new_token("a") != new_token("a")


@pytest.mark.parametrize(
    "make",
    [
        lambda token, secret: "",
        lambda token, secret: "exp_reporting_",
        lambda token, secret: "exp_reporting_wrong",
        lambda token, secret: f"exp_other_{secret}",  # the right secret under another key's id
        lambda token, secret: token + "x",
        lambda token, secret: token[:-1],
        lambda token, secret: token.upper(),
        lambda token, secret: "not-even-our-shape",
    ],
)
def test_wrong_tokens_are_refused_as_invalid(make: Callable[[str, str], str]) -> None:
    token = new_token("reporting")
    key = ApiKey(key_id="reporting", secret_sha256=token_sha256(token), requests_per_minute=1,
                 burst=1, concurrent_exports=1)  # fmt: skip
    other = ApiKey(key_id="other", secret_sha256=token_sha256("x"), requests_per_minute=1,
                   burst=1, concurrent_exports=1)  # fmt: skip
    secret = token.removeprefix("exp_reporting_")
    with pytest.raises(NotAuthenticated) as caught:
        Authenticator([key, other]).authenticate(make(token, secret))
    assert caught.value.invalid_token
    assert secret not in str(caught.value)


def test_patterns_are_names_or_case_sensitive_globs() -> None:
    key = ApiKey(key_id="k", secret_sha256=b"", exports=("orders", "cust*"),
                 requests_per_minute=1, burst=1, concurrent_exports=1)  # fmt: skip
    assert key.may_use("orders") and key.may_use("customers") and key.may_use("cust")
    assert not key.may_use("orders_stream") and not key.may_use("Customers")


def test_the_comparison_is_constant_time() -> None:
    # Code review as a test: the digest comparison goes through hmac.compare_digest, and no
    # `==` touches the secret digest anywhere in the module.
    source = inspect.getsource(auth.Authenticator.authenticate)
    assert "hmac.compare_digest(token_sha256(token), expected)" in source
    tree = ast.parse(inspect.getsource(auth))
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            assert "secret_sha256" not in ast.unparse(node), ast.unparse(node)


def test_per_key_limits_and_defaults_from_settings(tmp_path: Path) -> None:
    path = write_keys(
        tmp_path,
        '[keys.a]\nsha256 = "' + "0" * 64 + '"\nrequests_per_minute = 5\nconcurrent_exports = 1\n'
        '\n[keys."b"]\nsha256 = "' + "1" * 64 + '"\n',
    )
    settings = Settings.from_env({"EXPORTER_KEY_BURST": "7"})
    a, b = load_keys_file(path, settings)
    assert (a.requests_per_minute, a.burst, a.concurrent_exports, a.exports) == (5, 7, 1, ("*",))
    assert (b.key_id, b.requests_per_minute) == ("b", 120)


SHA = '"' + "a" * 64 + '"'


@pytest.mark.parametrize(
    ("text", "line", "field", "reason"),
    [
        ("[keys.a]\nsha256 = " + SHA + "\nexports = []\n", 3, "keys.a.exports", "must be a non"),
        ("[keys.a]\nsha256 = " + SHA + '\nexports = "orders"\n', 3, "keys.a.exports", "must be"),
        ("[keys.a]\nsha256 = " + SHA + "\nburst = 0\n", 3, "keys.a.burst", "must be a positive"),
        ("[keys.a]\nsha256 = " + SHA + "\nburst = true\n", 3, "keys.a.burst", "must be a pos"),
        ("\n[keys.a]\nsha256 = " + SHA + "\nexport = []\n", 4, "keys.a.export",
         "unknown field; did you mean 'exports'?"),
        ("[keys.a]\nsha256 = 'abc'\n", 2, "keys.a.sha256", "must be 64 lowercase hex"),
        ("[keys.a]\nexports = ['x']\n", 1, "keys.a.sha256", "missing"),
        ("[keys.a_b]\nsha256 = " + SHA + "\n", 1, "keys.a_b", "key id must match"),
        ("[keys.a]\nsha256 = " + SHA + "\n[keys.a]\n", 3, "TOML", "Cannot declare"),
        ("[key.a]\nsha256 = " + SHA + "\n", 1, "key", "unknown table"),
        ("# nothing yet\n", None, "keys", "no keys defined"),
    ],
)  # fmt: skip
def test_a_malformed_keys_file_names_file_line_and_field(
    tmp_path: Path, text: str, line: int | None, field: str, reason: str
) -> None:
    path = write_keys(tmp_path, text)
    with pytest.raises(KeysFileError) as caught:
        load_keys_file(path, SETTINGS)
    assert (caught.value.line, caught.value.name) == (line, field)
    assert caught.value.reason.startswith(reason), caught.value.reason
    where = f"{path}:{line}: " if line else f"{path}: "
    assert str(caught.value).startswith(where + field + ": ")
    assert isinstance(caught.value, ConfigError)


def test_a_missing_keys_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(KeysFileError, match="cannot read"):
        load_keys_file(tmp_path / "nope.toml", SETTINGS)


def test_single_key_from_the_environment(tmp_path: Path) -> None:
    token = new_token("ci")
    settings = Settings.from_env(
        {"EXPORTER_API_KEY_SHA256": f"ci:{token_sha256(token).hex()}", "DATABASE_URL": "x"}
    )
    authenticator = load_authenticator(settings, embedded_demo=False)
    assert authenticator.enabled
    assert authenticator.authenticate(token).key_id == "ci"


def test_the_environment_key_takes_a_hash_never_the_token() -> None:
    settings = Settings.from_env({"EXPORTER_API_KEY_SHA256": new_token("ci")})
    with pytest.raises(ConfigError, match="never the token itself"):
        load_authenticator(settings, embedded_demo=False)


def test_auth_is_off_only_when_asked_or_on_the_embedded_demo(tmp_path: Path) -> None:
    keys = write_keys(tmp_path, "[keys.a]\nsha256 = " + SHA + "\n")
    on_a_database = {"DATABASE_URL": "postgresql://db/x"}

    def load(environ: dict[str, str], embedded_demo: bool = False) -> Authenticator:
        return load_authenticator(Settings.from_env(environ), embedded_demo=embedded_demo)

    assert load({**on_a_database, "EXPORTER_KEYS_FILE": str(keys)}).enabled
    assert not load({**on_a_database, "EXPORTER_AUTH": "OFF"}).enabled
    assert not load({"EXPORTER_AUTH": "off", "EXPORTER_KEYS_FILE": str(keys)}).enabled
    demo = load({}, embedded_demo=True)
    assert not demo.enabled and "embedded demo" in (demo.off_reason or "")
    assert load({"EXPORTER_KEYS_FILE": str(keys)}, embedded_demo=True).enabled
    with pytest.raises(ConfigError, match="DATABASE_URL is set but no API keys"):
        load(on_a_database)
    with pytest.raises(ConfigError, match="is on but no keys"):
        load({"EXPORTER_AUTH": "on"}, embedded_demo=True)
    with pytest.raises(ConfigError, match="must be one of auto, on, off"):
        load({"EXPORTER_AUTH": "maybe"})
