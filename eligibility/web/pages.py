"""Rendering, who is signed in, and HTML error pages for the `/ui` routes.

The API answers errors with FHIR OperationOutcomes (eligibility.api.handlers). A browser user needs a
page instead, so every `/ui` route uses `HtmlRoute`, which turns the same errors into an HTML page with
the same status — the app's exception handlers never see them, and the API keeps its behaviour.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from eligibility.api.auth import Principal
from eligibility.api.context import context_of
from eligibility.api.errors import status_for
from eligibility.api.users import Role
from eligibility.errors import AuditError, EligibilityError
from eligibility.web.sign_in import SESSION_COOKIE, SessionCookie, SessionSigner, user_by_sha256
from eligibility.web.sign_in_records import is_open

__all__ = [
    "HtmlRoute",
    "PageError",
    "Viewer",
    "check_csrf",
    "form_fields",
    "list_href",
    "render",
    "signed_in",
    "signer_of",
]

log = logging.getLogger("eligibility.web")

TEMPLATES = Path(__file__).parent / "templates"
_MAX_FORM_BYTES = 16_384  # a review comment and a few fields; anything larger is not from our forms

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

# Words and a symbol for every status and outcome, so nothing is told by colour alone.
STATUS_TEXT = {
    "met": ("✓", "Met"),
    "not_met": ("✗", "Not met"),
    "unknown": ("?", "Unknown"),
    "not_applicable": ("–", "Not applicable"),
}
_env.globals["status_text"] = STATUS_TEXT
_LINKABLE = re.compile(r"^[A-Z][A-Za-z]{1,63}/[A-Za-z0-9\-.]{1,64}$")


def evidence_href(decision_id: str, reference: str) -> str | None:
    """The page showing an evidence item's FHIR resource; None for a reference we cannot resolve."""
    return f"/ui/decisions/{decision_id}/resources/{reference}" if _LINKABLE.match(reference) else None


_env.globals["evidence_href"] = evidence_href

_BREAK_AFTER = re.compile(r"([_@/])")


def break_points(text: object) -> Markup:
    """`text` escaped, with a line-break opportunity (<wbr>) after `_`, `@` and `/`: a column headed
    ELIGIBLE_WITH_CONDITIONS or a referrer named drg-app@https://ehr… wraps there, not mid-word, and
    its text (copy, search) is unchanged."""
    return Markup(_BREAK_AFTER.sub(r"\1<wbr>", str(escape(str(text)))))


_env.filters["break_points"] = break_points


def list_href(path: str, params: dict[str, Any], **changes: Any) -> str:
    """`path` with the list's query `params` and `changes` (a page number, an outcome), empty ones left out."""
    merged = {**params, **changes}
    query = urlencode([(key, str(value)) for key, value in merged.items() if value not in (None, "")])
    return f"{path}?{query}" if query else path


_env.globals["list_href"] = list_href


class PageError(Exception):
    """An error page with this status and message."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


class LoginRequired(Exception):
    """No valid session: the browser is sent to the login page and back."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user and the CSRF token for this session's forms."""

    principal: Principal
    session: SessionCookie
    csrf: str

    @property
    def name(self) -> str:
        return self.principal.name

    @property
    def role(self) -> Role:
        return self.principal.role

    def may(self, roles: frozenset[Role]) -> bool:
        return self.principal.may(roles)


def signer_of(request: Request) -> SessionSigner:
    signer: SessionSigner | None = getattr(request.app.state, "web_sessions", None)
    if signer is None:  # derived once per app, from the settings the app was started with
        signer = SessionSigner.from_secret(context_of(request).settings.audit_hmac_key)
        request.app.state.web_sessions = signer
    return signer


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    viewer = getattr(request.state, "web_viewer", None)
    html = _env.get_template(template).render(viewer=viewer, path=request.url.path, **context)
    # No caching of patient data by the browser or a proxy; no framing (clickjacking of the review form).
    headers = {
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        "Referrer-Policy": "same-origin",
    }
    return HTMLResponse(html, status_code=status_code, headers=headers)


def _viewer(request: Request) -> Viewer:
    signer = signer_of(request)
    session = signer.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise LoginRequired
    try:
        with context_of(request).read_session() as db:
            principal = user_by_sha256(db, session.token_sha256)
            open_ = principal is not None and is_open(db, nonce=session.nonce, now=signer.clock())
    except SQLAlchemyError as exc:
        raise AuditError(f"the session could not be checked: {type(exc).__name__}") from exc
    if principal is None or not open_:  # the token was revoked, or the session ended at logout
        raise LoginRequired
    viewer = Viewer(principal, session, signer.csrf_token(session))
    request.state.web_viewer = viewer
    request.state.actor = principal.name
    return viewer


def signed_in(roles: frozenset[Role], what: str) -> Any:
    """A dependency: the signed-in user, if their role may do `what`; else a 403 page."""

    def check(request: Request) -> Viewer:
        viewer = _viewer(request)
        if not viewer.may(roles):
            allowed = ", ".join(sorted(roles))
            raise PageError(
                403, "Not allowed", f"Your role ({viewer.role}) may not {what}. It needs one of: {allowed}."
            )
        return viewer

    return Depends(check)


async def form_fields(request: Request) -> dict[str, str]:
    """An urlencoded form body (our forms only): first value of each field."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise PageError(415, "Unsupported form", "This page only accepts its own HTML form.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM_BYTES:
            raise PageError(413, "Form too large", f"The form is larger than {_MAX_FORM_BYTES} bytes.")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise PageError(400, "Unreadable form", "The form was not UTF-8.") from exc
    return {key: values[0] for key, values in parsed.items()}


def check_csrf(request: Request, viewer: Viewer, fields: dict[str, str]) -> None:
    if not signer_of(request).csrf_valid(viewer.session, fields.get("csrf", "")):
        raise PageError(403, "Form expired", "The form's security token did not match. Reload the page and try again.")


def _error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html.j2", status_code=status, title=title, message=message, status=status)


class HtmlRoute(APIRoute):
    """An APIRoute whose errors are HTML pages (or a redirect to the login page)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)
                response.headers["Cache-Control"] = "no-store"
                return response
            except PageError as error:
                return _error_page(request, error.status, error.title, error.message)
            except RequestValidationError as error:
                problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors())
                return _error_page(request, 400, "Bad request", problems or "The request was not valid.")
            except HTTPException as error:
                return _error_page(request, error.status_code, "Error", str(error.detail))
            except EligibilityError as error:
                status = status_for(error)
                title = "Service unavailable" if status == 503 else "Cannot do that"
                return _error_page(request, status, title, error.message)
            except Exception:  # a bug: say so plainly, keep the details in the log
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return _error_page(request, 500, "Something went wrong", "An unexpected error occurred; it was logged.")

        return guarded
