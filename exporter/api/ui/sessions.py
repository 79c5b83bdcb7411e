"""Browser sessions for the pages: a signed cookie made from an API key, and CSRF tokens.

A browser cannot put ``Authorization: Bearer`` on a link, so an analyst enters a key once and
gets a session cookie: ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site
sends it), ``Secure`` over TLS. The cookie holds the key id, an expiry and a random nonce,
signed with HMAC-SHA256; the signature also covers the key's stored digest, so a key that is
removed or replaced ends its sessions. The token itself is never stored anywhere.

Requests that change state (``POST``, ``DELETE``...) on a session must carry the session's
CSRF token in ``X-CSRF-Token`` (pages put it in a ``<meta>`` tag; logout sends it as a form
field). Requests with an API key header are the API's, exactly as before: no cookie, no CSRF.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send

from exporter.access.keys import ApiKey, Authenticator
from exporter.api.problems import response_for_error
from exporter.errors import CsrfRefused

__all__ = [
    "COOKIE_NAME",
    "CSRF_HEADER",
    "Session",
    "SessionMiddleware",
    "SessionSigner",
    "session_of",
]

COOKIE_NAME = "exporter_session"
CSRF_HEADER = "x-csrf-token"
_CSRF_HEADER_BYTES = b"x-csrf-token"  # CSRF_HEADER, as ASGI headers spell it
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Pages that check their own form (login needs no session; logout takes its token as a field).
_SELF_CHECKED = frozenset({"/ui/login", "/ui/logout"})
_VERSION = "v1"

log = logging.getLogger("exporter.ui")


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: which key, until when, and the nonce its CSRF token derives from."""

    key: ApiKey
    expires_at_s: int
    nonce: str
    csrf_token: str


class SessionSigner:
    """Makes and checks session cookies and CSRF tokens with one secret."""

    def __init__(self, secret: str | None, *, ttl_s: float) -> None:
        # No configured secret: a random one, so sessions end with the process (documented).
        self._secret = secret.encode() if secret else secrets.token_bytes(32)
        self.ttl_s = ttl_s
        #: Nonces of sessions logged out here, until they would have expired anyway. Per
        #: process: another replica honours a copied cookie until its expiry.
        self._revoked: dict[str, int] = {}

    def _mac(self, purpose: str, message: str, key: ApiKey | None = None) -> str:
        digest = hmac.new(self._secret, f"{purpose}\x00{message}".encode(), hashlib.sha256)
        if key is not None:
            digest.update(b"\x00" + key.secret_sha256)
        return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()

    def new_cookie_value(self, key: ApiKey, now_s: float | None = None) -> str:
        """A fresh session for ``key``, as the cookie's value."""
        expires = int((now_s if now_s is not None else time.time()) + self.ttl_s)
        payload = f"{_VERSION}.{key.key_id}.{expires}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._mac('session', payload, key)}"

    def read(
        self, value: str, authenticator: Authenticator, now_s: float | None = None
    ) -> Session | None:
        """The session a cookie value proves, or None (forged, expired, or its key is gone)."""
        payload, _, signature = value.rpartition(".")
        parts = payload.split(".")
        if len(parts) != 4 or parts[0] != _VERSION or not parts[2].isdigit():
            return None
        _, key_id, expires, nonce = parts
        key = authenticator.keys.get(key_id)
        if key is None:
            return None
        if not hmac.compare_digest(signature, self._mac("session", payload, key)):
            return None
        if int(expires) <= (now_s if now_s is not None else time.time()) or nonce in self._revoked:
            return None
        return Session(key, int(expires), nonce, self._mac("csrf", nonce))

    def revoke(self, session: Session, now_s: float | None = None) -> None:
        """End ``session`` here even if its cookie is presented again (logout)."""
        now = now_s if now_s is not None else time.time()
        for nonce, expires in list(self._revoked.items()):
            if expires <= now:
                del self._revoked[nonce]
        self._revoked[session.nonce] = session.expires_at_s

    def set_cookie_header(self, value: str, *, secure: bool) -> str:
        """The ``Set-Cookie`` value that starts a session."""
        return _cookie(value, max_age_s=int(self.ttl_s), secure=secure)

    @staticmethod
    def clear_cookie_header(*, secure: bool) -> str:
        """The ``Set-Cookie`` value that ends a session."""
        return _cookie("", max_age_s=0, secure=secure)


def _cookie(value: str, *, max_age_s: int, secure: bool) -> str:
    attributes = [f"{COOKIE_NAME}={value}", "Path=/", f"Max-Age={max_age_s}", "HttpOnly"]
    attributes.append("SameSite=Strict")
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes)


def session_of(scope: Scope) -> Session | None:
    """The request's session (set by ``SessionMiddleware``), if it came with one."""
    session: Session | None = scope.get("state", {}).get("session")
    return session


class SessionMiddleware:
    """Turns a valid session cookie into the request's API key; guards it against CSRF.

    Runs outside ``AuthenticationMiddleware``: it leaves ``scope["state"]["session_key"]`` for
    that one to use when the request brings no key header of its own. A browser asking for a
    page without a session is sent to the login page instead of getting a 401 document.
    """

    def __init__(self, app: ASGIApp, *, authenticator: Authenticator, signer: SessionSigner):
        self.app = app
        self.authenticator = authenticator
        self.signer = signer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.authenticator.enabled:
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        if any(name in (b"authorization", b"x-api-key") for name, _ in headers):
            await self.app(scope, receive, send)  # the API, exactly as without pages
            return
        state = scope.setdefault("state", {})
        cookie = _cookie_value(headers)
        session = self.signer.read(cookie, self.authenticator) if cookie else None
        path: str = scope["path"]
        if session is not None:
            refusal = _cross_site_refusal(scope, session, path)
            if refusal is not None:
                log.warning(
                    "refused %s %s on a session of key %r: %s",
                    scope.get("method", "WEBSOCKET"), path, session.key.key_id, refusal,
                    extra={"key_id": session.key.key_id, "path": path, "outcome": "csrf"},
                )  # fmt: skip
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                response = response_for_error(CsrfRefused(refusal))
                await response(scope, receive, send)
                return
            state["session"] = session
            state["session_key"] = session.key
        elif _wants_login_page(scope, path):
            target = path + (f"?{scope['query_string'].decode('latin-1')}" if
                             scope.get("query_string") else "")  # fmt: skip
            location = "/ui/login?next=" + quote(target, safe="/")
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", location.encode()),
                                    (b"cache-control", b"no-store"),
                                    (b"content-length", b"0")]})  # fmt: skip
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


def _cookie_value(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is no session, not an error
                continue
            if COOKIE_NAME in jar:
                return jar[COOKIE_NAME].value
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def _same_origin(scope: Scope) -> bool:
    """Whether a present ``Origin`` names this service (absent: not a cross-site browser)."""
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    host = _header(scope, b"host") or ""
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    return origin == f"{scheme}://{host}"


def _cross_site_refusal(scope: Scope, session: Session, path: str) -> str | None:
    """Why a request on ``session`` looks forged by another site; None when it is fine."""
    if scope["type"] == "websocket":
        return None if _same_origin(scope) else "WebSocket from another origin"
    if scope["method"] in _SAFE_METHODS or path in _SELF_CHECKED:
        return None
    if not _same_origin(scope):
        return "request from another origin"
    token = _header(scope, _CSRF_HEADER_BYTES)
    if token is None or not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
        return f"a request on a browser session must carry its CSRF token ({CSRF_HEADER})"
    return None


def _wants_login_page(scope: Scope, path: str) -> bool:
    """A browser navigating to a page: send it to log in (API clients get the plain 401)."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return False
    if not (path == "/" or path.startswith("/ui/")) or path in _SELF_CHECKED:
        return False
    if path.startswith("/ui/static/"):
        return False
    accept = _header(scope, b"accept") or ""
    return "text/html" in accept
