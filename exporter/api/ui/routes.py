"""The analysts' pages: the catalog, one page per export, the preview, jobs, login and logout.

Server-rendered (Jinja2, autoescaped) and usable without JavaScript: the download is a plain
link to ``/exports/{name}``; scripts add live URL updates, the preview without reloading,
background jobs with live progress. The pages use the service as the JSON routes do.
"""

from __future__ import annotations

import logging
from functools import cache, partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from exporter.access.keys import Authenticator, token_key_id
from exporter.api.auth import api_key_of, may_use_export, require_export_allowed
from exporter.api.negotiation import choose_format
from exporter.api.problems import response_for_error
from exporter.api.state import runtime_of
from exporter.api.ui.forms import form_fields, read_form
from exporter.api.ui.preview import Preview, preview_items, read_preview
from exporter.api.ui.sessions import SessionSigner, session_of
from exporter.catalog.definitions import ExportDefinition
from exporter.encoders import FORMATS
from exporter.errors import CsrfRefused, ExporterError, InvalidParameter, NotAuthenticated
from exporter.export.service import ExportService

__all__ = ["build_ui_router"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
#: Everything a page loads comes from the service itself; no inline script or style.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
_JOBS_SHOWN = 50


def human_bytes(count: int | None) -> str:
    """``12.3 MB``: sizes as people read them (decimal units, as browsers show downloads)."""
    value = float(count or 0)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1000
    return f"{value:.3g} TB"


def exact_text(text: str) -> Markup:
    """``text`` escaped for HTML, carriage returns included: the parser would turn a raw CR
    (and CRLF) into LF, and a cell must show the value as it is."""
    return Markup(str(escape(text)).replace("\r", "&#13;"))


@cache
def templates() -> Jinja2Templates:
    """The pages' templates, loaded on first use (nothing is done at import)."""
    loaded = Jinja2Templates(directory=TEMPLATES_DIR)
    loaded.env.filters["bytes"] = human_bytes
    loaded.env.filters["exact"] = exact_text
    return loaded


_LOGIN_BODY_MAX_BYTES = 16 * 1024

log = logging.getLogger("exporter.ui")


def build_ui_router(authenticator: Authenticator, signer: SessionSigner) -> APIRouter:
    """The pages' routes (none of them in the OpenAPI document)."""
    router = APIRouter(include_in_schema=False)
    page = partial(_page, auth_enabled=authenticator.enabled)

    @router.get("/", response_class=HTMLResponse)
    async def catalog_page(request: Request) -> Response:
        service: ExportService = runtime_of(request).service
        query = request.query_params.get("q", "")
        exports = [e for e in service.catalog.values() if may_use_export(request, e.name)]
        return page(
            request, "catalog.html", exports=exports, query=query,
            shown={e.name for e in exports if _matches(e, query)},
            search={e.name: search_text(e) for e in exports},
        )  # fmt: skip

    @router.get("/ui/exports/{name}", response_class=HTMLResponse)
    async def export_page(name: str, request: Request) -> Response:
        service: ExportService = runtime_of(request).service
        export = _export_or_none(request, name)
        if export is None:
            return page(request, "missing.html", status_code=404, name=name)
        pairs = request.query_params.multi_items()
        state = read_form(export, pairs, list(FORMATS))
        error: tuple[str, str] | None = None
        form_error: str | None = None
        preview: Preview | None = None
        if state.given:
            try:
                bound = service.bind(name, preview_items(state.items()))
                choose_format(state.format_name, None)
                if request.query_params.get("preview"):
                    preview = await read_preview(service, bound, api_key_of(request))
            except InvalidParameter as exc:
                error = (exc.name, exc.reason)
                if exc.name not in {p.name for p in export.params}:
                    form_error = str(exc)
            except ExporterError as exc:
                form_error = str(exc)
        return page(
            request, "export.html", status_code=422 if error or form_error else 200,
            export=export, fields=form_fields(export, state, error), state=state,
            formats=list(FORMATS), form_error=form_error, preview=preview,
            page_query=state.query(with_sensitive=False, export=export),
            download_query=state.query(with_sensitive=True, export=export),
        )  # fmt: skip

    @router.get("/ui/exports/{name}/preview", response_class=HTMLResponse)
    async def preview_fragment(name: str, request: Request) -> Response:
        """The preview table alone (for the page's script); errors as problem+json."""
        service: ExportService = runtime_of(request).service
        try:
            require_export_allowed(request, name)
            export = service.catalog.get_export(name)
            state = read_form(export, request.query_params.multi_items(), list(FORMATS))
            bound = service.bind(name, preview_items(state.items()))
            preview = await read_preview(service, bound, api_key_of(request))
        except ExporterError as exc:
            return response_for_error(exc)
        response = templates().TemplateResponse(
            request, "_preview.html", {"preview": preview, "export": export}
        )
        response.headers.update(_PAGE_HEADERS)
        response.headers["Server-Timing"] = f"preview;dur={preview.duration_s * 1000:.1f}"
        return response

    @router.get("/ui/exports/{name}/check")
    async def check_form(name: str, request: Request) -> Response:
        """204 when a download with these values would start; else the API's problem."""
        service: ExportService = runtime_of(request).service
        try:
            require_export_allowed(request, name)
            export = service.catalog.get_export(name)
            state = read_form(export, request.query_params.multi_items(), list(FORMATS))
            service.bind(name, state.items())
            choose_format(state.format_name, None)
        except ExporterError as exc:
            return response_for_error(exc)
        return Response(status_code=204)

    @router.get("/ui/jobs", response_class=HTMLResponse)
    async def jobs_page(request: Request) -> Response:
        service: ExportService = runtime_of(request).service
        key = api_key_of(request)
        jobs = await runtime_of(request).job_store.list_recent(
            owner=key.key_id if key is not None else None, limit=_JOBS_SHOWN
        )
        shown = []
        for job in jobs:
            export = service.catalog.get(job.spec.export)
            hidden = (
                {p.name for p in export.params if p.sensitive} if export else set(job.spec.params)
            )
            shown.append(job.describe(hidden))
        return page(request, "jobs.html", jobs=shown)

    @router.get("/ui/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> Response:
        if not authenticator.enabled:
            return RedirectResponse(_local(request.query_params.get("next")), status_code=303)
        return page(request, "login.html", next=_local(request.query_params.get("next")))

    @router.post("/ui/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = await _read_form_body(request)
        target = _local(form.get("next"))
        if not _same_origin(request):
            return response_for_error(CsrfRefused("login from another origin"))
        if not authenticator.enabled:
            return RedirectResponse(target, status_code=303)
        token = form.get("key", "").strip()
        try:
            key = authenticator.authenticate(token)
        except NotAuthenticated:
            log.warning(
                "page login refused (key id %r)", token_key_id(token),
                extra={"key_id": token_key_id(token), "outcome": "unauthenticated"},
            )  # fmt: skip
            return page(
                request, "login.html", status_code=401, next=target,
                error="That key was not accepted. Check it and try again.",
            )  # fmt: skip
        log.info("page login by key %r", key.key_id, extra={"key_id": key.key_id})
        response = RedirectResponse(target, status_code=303)
        response.headers["Set-Cookie"] = signer.set_cookie_header(
            signer.new_cookie_value(key), secure=request.url.scheme == "https"
        )
        return response

    @router.post("/ui/logout")
    async def logout(request: Request) -> Response:
        form = await _read_form_body(request)
        session = session_of(request.scope)
        if session is not None and form.get("csrf_token") != session.csrf_token:
            return response_for_error(CsrfRefused("logout without the session's CSRF token"))
        if session is not None:
            signer.revoke(session)
            log.info("page logout by key %r", session.key.key_id)
        response = RedirectResponse("/ui/login", status_code=303)
        response.headers["Set-Cookie"] = signer.clear_cookie_header(
            secure=request.url.scheme == "https"
        )
        return response

    return router


def _page(
    request: Request,
    template: str,
    status_code: int = 200,
    *,
    auth_enabled: bool,
    **context: Any,
) -> Response:
    session = session_of(request.scope)
    context.update(
        root=request.scope.get("root_path", ""),
        session=session,
        auth_enabled=auth_enabled,
        formats=list(FORMATS),
    )
    response = templates().TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(_PAGE_HEADERS)
    return response


def _export_or_none(request: Request, name: str) -> ExportDefinition | None:
    """The export, if it exists and the caller may use it (else the page says it is unknown)."""
    service: ExportService = runtime_of(request).service
    if not may_use_export(request, name):
        return None
    return service.catalog.get(name)


def search_text(export: ExportDefinition) -> str:
    """What the catalog search looks in: name, description, parameter and column names."""
    words = [export.name, export.description]
    words += [p.name for p in export.params] + [c.name for c in export.columns]
    return " ".join(words).lower()


def _matches(export: ExportDefinition, query: str) -> bool:
    """Every word of ``query`` appears in the export's search text (as the script filters)."""
    haystack = search_text(export)
    return all(word in haystack for word in query.lower().split())


def _local(target: str | None) -> str:
    """A redirect target on this site only (no ``//host`` or ``scheme:`` escapes)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


async def _read_form_body(request: Request) -> dict[str, str]:
    """An urlencoded form body, bounded (no multipart parser needed for two fields)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _LOGIN_BODY_MAX_BYTES:
            return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
