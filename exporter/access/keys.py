"""API keys: tokens, their hashes, the keys file, and checking a presented token.

A token is ``exp_<key id>_<secret>``: the key id says which entry to compare against, the
secret is 32 random bytes. Configuration holds only the SHA-256 of the whole token. A slow
password hash (scrypt, PBKDF2) buys nothing here: it protects guessable passwords, and a
256-bit random secret cannot be guessed from its hash, while a slow hash would cost every
request milliseconds of CPU.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import json
import re
import secrets
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from exporter.errors import ConfigError, KeysFileError, NotAuthenticated
from exporter.settings import Settings

__all__ = [
    "ApiKey",
    "Authenticator",
    "keys_file_entry",
    "load_authenticator",
    "load_keys_file",
    "new_token",
    "token_sha256",
]

TOKEN_PREFIX = "exp_"
#: No underscore: it separates the key id from the secret in a token.
KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")
SECRET_BYTES = 32
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
#: Compared against when the key id is unknown, so that case costs the same work.
_NO_KEY_DIGEST = hashlib.sha256(b"no such key").digest()
_INT_FIELDS = ("requests_per_minute", "burst", "concurrent_exports")
_FIELDS = ("sha256", "exports", *_INT_FIELDS)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKey:
    """One configured key: who it is, what it may export, and its limits."""

    key_id: str
    #: SHA-256 of the whole token; never the token itself.
    secret_sha256: bytes = field(repr=False)
    #: Export names or ``fnmatch`` globs (``cust*``); ``*`` is every export.
    exports: tuple[str, ...] = ("*",)
    requests_per_minute: int
    burst: int
    concurrent_exports: int

    def may_use(self, export_name: str) -> bool:
        """Whether one of the key's patterns matches ``export_name`` (case-sensitive)."""
        return any(fnmatchcase(export_name, pattern) for pattern in self.exports)


def new_token(key_id: str) -> str:
    """A fresh token for ``key_id``."""
    if not KEY_ID.fullmatch(key_id):
        raise ValueError(f"key id {key_id!r} must match {KEY_ID.pattern}")
    return f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"


def token_sha256(token: str) -> bytes:
    """The digest configuration stores for ``token``."""
    return hashlib.sha256(token.encode()).digest()


def token_key_id(token: str) -> str | None:
    """The key id a token names, or None if it is not shaped like one of ours."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    key_id, separator, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not separator or not secret or not KEY_ID.fullmatch(key_id):
        return None
    return key_id


def keys_file_entry(key_id: str, token: str, exports: Iterable[str] = ("*",)) -> str:
    """The TOML an operator appends to the keys file for ``token``."""
    # A JSON string is a valid TOML basic string (same escapes).
    patterns = ", ".join(json.dumps(pattern) for pattern in exports)
    return f'[keys.{key_id}]\nsha256 = "{token_sha256(token).hex()}"\nexports = [{patterns}]\n'


class Authenticator:
    """Checks presented tokens against the configured keys; or is off, saying why."""

    def __init__(self, keys: Iterable[ApiKey], *, off_reason: str | None = None) -> None:
        self.keys: Mapping[str, ApiKey] = {key.key_id: key for key in keys}
        #: Why authentication is off, for the start-up warning; None when it is on.
        self.off_reason = off_reason

    @classmethod
    def off(cls, reason: str) -> Authenticator:
        """No authentication: every request gets in, with no key."""
        return cls((), off_reason=reason)

    @property
    def enabled(self) -> bool:
        return self.off_reason is None

    def authenticate(self, token: str) -> ApiKey:
        """The key ``token`` belongs to, or ``NotAuthenticated`` (without saying which part
        was wrong)."""
        key_id = token_key_id(token)
        key = self.keys.get(key_id) if key_id is not None else None
        expected = key.secret_sha256 if key is not None else _NO_KEY_DIGEST
        # Constant-time: the time taken must not tell how much of the digest matched.
        if not hmac.compare_digest(token_sha256(token), expected) or key is None:
            raise NotAuthenticated("unknown or wrong API key", invalid_token=True)
        return key


def load_authenticator(settings: Settings, *, embedded_demo: bool) -> Authenticator:
    """Authentication as configured: keys from the file and the environment, or off.

    Off only when asked (``EXPORTER_AUTH=off``) or on the embedded demo without keys; a
    service on a real database with no keys refuses to start rather than serve everyone.
    """
    keys: dict[str, ApiKey] = {}
    if settings.keys_file is not None:
        keys.update((key.key_id, key) for key in load_keys_file(settings.keys_file, settings))
    if settings.api_key_sha256 is not None:
        key = _key_from_setting(settings.api_key_sha256, settings)
        if key.key_id in keys:
            raise ConfigError(
                "EXPORTER_API_KEY_SHA256", f"key id {key.key_id!r} is also in the keys file"
            )
        keys[key.key_id] = key
    if settings.auth == "off":
        return Authenticator.off("EXPORTER_AUTH=off")
    if keys:
        return Authenticator(keys.values())
    if settings.auth == "on":
        raise ConfigError("EXPORTER_AUTH", "is on but no keys are configured (EXPORTER_KEYS_FILE)")
    if embedded_demo:
        return Authenticator.off("no API keys configured and no DATABASE_URL (embedded demo)")
    raise ConfigError(
        "EXPORTER_AUTH",
        "DATABASE_URL is set but no API keys are configured: set EXPORTER_KEYS_FILE "
        "(`exporter keys new --id NAME` makes a key) or EXPORTER_AUTH=off to serve every "
        "client without authentication",
    )


def load_keys_file(path: Path, settings: Settings) -> list[ApiKey]:
    """Parse the TOML keys file; ``KeysFileError`` names the file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeysFileError(path, None, "file", f"cannot read: {exc.strerror}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's message ends "(at line N, column M)"; later versions add attributes.
        where = re.search(r"\(at line (\d+), column \d+\)$", str(exc))
        line = int(where.group(1)) if where else None
        reason = str(exc)[: where.start()].strip() if where else str(exc)
        raise KeysFileError(path, line, "TOML", reason) from None
    unknown = sorted(set(document) - {"keys"})
    if unknown:
        raise KeysFileError(
            path, _line_of(text, unknown[0]), unknown[0], "unknown table; keys go in [keys.<id>]"
        )
    entries = document.get("keys")
    if not isinstance(entries, dict) or not entries:
        raise KeysFileError(path, None, "keys", "no keys defined; expected [keys.<id>] tables")
    return [_key_from_entry(key_id, entry, path, text, settings) for key_id, entry in
            entries.items()]  # fmt: skip


def _key_from_entry(key_id: str, entry: Any, path: Path, text: str, settings: Settings) -> ApiKey:
    header_line = _table_line(text, key_id)

    def fail(name: str, reason: str) -> KeysFileError:
        line = _field_line(text, header_line, name) if header_line else None
        return KeysFileError(path, line or header_line, f"keys.{key_id}.{name}", reason)

    if not KEY_ID.fullmatch(key_id):
        raise KeysFileError(
            path, header_line, f"keys.{key_id}", f"key id must match {KEY_ID.pattern}"
        )
    if not isinstance(entry, dict):
        raise KeysFileError(path, _line_of(text, key_id), f"keys.{key_id}", "must be a table")
    for name in entry:
        if name not in _FIELDS:
            close = difflib.get_close_matches(name, _FIELDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(_FIELDS)}"
            raise fail(name, "unknown field" + hint)
    digest = entry.get("sha256")
    if digest is None:
        raise KeysFileError(path, header_line, f"keys.{key_id}.sha256", "missing")
    if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
        raise fail("sha256", "must be 64 lowercase hex digits (the SHA-256 of the token)")
    exports = entry.get("exports", ["*"])
    if (
        not isinstance(exports, list)
        or not exports
        or not all(isinstance(p, str) and p.strip() for p in exports)
    ):
        raise fail("exports", "must be a non-empty list of export names or globs")
    limits = {
        "requests_per_minute": settings.key_requests_per_minute,
        "burst": settings.key_burst,
        "concurrent_exports": settings.key_concurrent_exports,
    }
    for name in _INT_FIELDS:
        value = entry.get(name, limits[name])
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise fail(name, "must be a positive integer")
        limits[name] = value
    return ApiKey(
        key_id=key_id,
        secret_sha256=bytes.fromhex(digest),
        exports=tuple(p.strip() for p in exports),
        **limits,
    )


def _key_from_setting(value: str, settings: Settings) -> ApiKey:
    key_id, _, digest = value.partition(":")
    if value.startswith(TOKEN_PREFIX):
        raise ConfigError(
            "EXPORTER_API_KEY_SHA256",
            "holds '<key id>:<sha256 of the token>', never the token itself",
        )
    if not KEY_ID.fullmatch(key_id) or not _SHA256_HEX.fullmatch(digest):
        raise ConfigError(
            "EXPORTER_API_KEY_SHA256", "expected '<key id>:<64 lowercase hex digits>'"
        )
    return ApiKey(
        key_id=key_id,
        secret_sha256=bytes.fromhex(digest),
        requests_per_minute=settings.key_requests_per_minute,
        burst=settings.key_burst,
        concurrent_exports=settings.key_concurrent_exports,
    )


def _table_line(text: str, key_id: str) -> int | None:
    """The line of ``[keys.<key_id>]`` (quoted or not); tomllib reports no positions."""
    header = re.compile(
        r"\s*\[\s*keys\s*\.\s*(?:" + re.escape(key_id) + r'|"' + re.escape(key_id) + r'")\s*\]'
    )
    for number, line in enumerate(text.splitlines(), start=1):
        if header.match(line):
            return number
    return None


def _field_line(text: str, header_line: int, name: str) -> int | None:
    """The line of ``name = ...`` inside the table that starts at ``header_line``."""
    assignment = re.compile(r"\s*" + re.escape(name) + r"\s*=")
    for number, line in enumerate(text.splitlines()[header_line:], start=header_line + 1):
        if line.lstrip().startswith("["):
            return None
        if assignment.match(line):
            return number
    return None


def _line_of(text: str, word: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if word in line:
            return number
    return None
