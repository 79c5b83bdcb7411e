"""API key authentication at the HTTP edge: a pure ASGI middleware and helpers for routes.

The middleware covers every path except ``OPEN_PATHS``: a route added later (jobs,
downloads) is protected without doing anything. It stores the request's ``ApiKey`` (None when
authentication is off) in ``scope["state"]["api_key"]``, which routes read with
``api_key_of(request)``.
"""

from __future__ import annotations

import logging

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from exporter.access.keys import ApiKey, Authenticator, token_key_id
from exporter.api.problems import response_for_error
from exporter.errors import ExportForbidden, NotAuthenticated

__all__ = [
    "OPEN_PATHS",
    "OPEN_PREFIXES",
    "AuthenticationMiddleware",
    "api_key_of",
    "may_use_export",
    "require_export_allowed",
]

#: Answered without a key: health probes, metrics scrapers, the API documentation and the
#: pages' login and logout.
OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/openapi.json",
     "/redoc", "/ui/login", "/ui/logout"}
)  # fmt: skip
#: Prefixes answered without a key: the static files of the documentation and the pages.
OPEN_PREFIXES = ("/docs/static/", "/ui/static/")

log = logging.getLogger("exporter.access.keys")


class AuthenticationMiddleware:
    """Refuses requests without a valid API key (401); records the key for the routes."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["api_key"] = None
        path = _route_path(scope)
        if (
            self.authenticator.enabled
            and path not in OPEN_PATHS
            and not path.startswith(OPEN_PREFIXES)
        ):
            # A browser session (exporter.api.ui.sessions) stands for its key when the request
            # carries no key header; that middleware already checked the cookie's signature.
            session_key = state.get("session_key")
            if session_key is not None:
                state["api_key"] = session_key
                await self.app(scope, receive, send)
                return
            try:
                state["api_key"] = self.authenticator.authenticate(_presented_token(scope))
            except NotAuthenticated as exc:
                _log_refusal(scope, exc)
                if scope["type"] == "websocket":  # none today; closed all the same
                    await send({"type": "websocket.close", "code": 1008})
                else:
                    await response_for_error(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def api_key_of(request: HTTPConnection) -> ApiKey | None:
    """The request's (or WebSocket's) API key; None when authentication is off (or on an
    open path)."""
    state = request.scope.get("state", {})
    if "api_key" not in state:
        # Fail closed: without the middleware, None would read as "authentication off".
        raise RuntimeError("AuthenticationMiddleware did not run for this request")
    key: ApiKey | None = state["api_key"]
    return key


def may_use_export(request: HTTPConnection, export_name: str) -> bool:
    """Whether the request's key may use ``export_name`` (always, with authentication off)."""
    key = api_key_of(request)
    return key is None or key.may_use(export_name)


def require_export_allowed(request: HTTPConnection, export_name: str) -> None:
    """Raise ``ExportForbidden`` (403) unless the request's key may use ``export_name``."""
    key = api_key_of(request)
    if key is not None and not key.may_use(export_name):
        raise ExportForbidden(key.key_id, export_name)


def _route_path(scope: Scope) -> str:
    """The path the routes see: behind a proxy prefix (``root_path``), without it."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path[len(root_path) :] if root_path and path.startswith(root_path) else path


def _presented_token(scope: Scope) -> str:
    """The token from ``Authorization: Bearer`` or ``X-API-Key``; ``NotAuthenticated`` if
    there is none or the headers are not shaped as expected."""
    authorization = [v for k, v in scope["headers"] if k == b"authorization"]
    api_key = [v for k, v in scope["headers"] if k == b"x-api-key"]
    if len(authorization) > 1 or len(api_key) > 1:
        raise NotAuthenticated("send one credentials header, once", malformed=True)
    tokens: list[str] = []
    if authorization:
        scheme, _, token = authorization[0].decode("latin-1").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise NotAuthenticated(
                "the Authorization header must be 'Bearer <API key>'", malformed=True
            )
        tokens.append(token)
    if api_key:
        tokens.append(api_key[0].decode("latin-1").strip())
    if not tokens:
        raise NotAuthenticated(
            "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
        )
    if len(set(tokens)) > 1:
        raise NotAuthenticated(
            "Authorization and X-API-Key carry different keys; send one", malformed=True
        )
    return tokens[0]


def _log_refusal(scope: Scope, exc: NotAuthenticated) -> None:
    """Log a refused request by path, client and key id: never the token or any part of the
    secret (the key id is the token's public part)."""
    client = scope.get("client")
    key_id = None
    if exc.invalid_token:
        try:
            key_id = token_key_id(_presented_token(scope))
        except NotAuthenticated:
            key_id = None
    # A wrong key is worth a warning; a request without one (a browser, a probe) is not.
    log.log(
        logging.WARNING if exc.invalid_token or exc.malformed else logging.INFO,
        "refused %s %s from %s: %s%s",
        scope.get("method", "?"),
        scope["path"],
        f"{client[0]}:{client[1]}" if client else "?",
        exc.reason,
        f" (key id {key_id!r})" if key_id else "",
        extra={"key_id": key_id, "path": scope["path"], "outcome": "unauthenticated"},
    )
