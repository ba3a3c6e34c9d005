"""Access control of the review app: reviewer token, CSRF, request size limits, headers.

* Token: when the app has a reviewer token, every request except /health,
  /login and /static needs ``Authorization: Bearer <token>`` or the session
  cookie that ``/login?token=<token>`` sets.
* CSRF (double-submit): pages get a random token in a cookie and in their
  forms; a POST from a browser must send it back (form field or
  ``X-CSRF-Token`` header) and come from this origin. Bearer-token clients are
  exempt; so are cookie-less non-browser clients of a token-less (loopback)
  server, which have nothing a forged request could ride on.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Awaitable, Callable

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.types import ASGIApp

from vietser.review.context import ReviewContext, get_context
from vietser.review.uploads import format_size

SESSION_COOKIE = "vietser_session"
CSRF_COOKIE = "vietser_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
PUBLIC_PATHS = ("/health", "/login", "/static/")
# Multipart framing around an upload: boundaries and part headers.
UPLOAD_OVERHEAD_BYTES = 64 * 1024
MAX_FORM_BYTES = 256 * 1024
_CSRF_SHAPE = re.compile(r"^[A-Za-z0-9_\-]{32,128}$")
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_value(token: str) -> str:
    """Cookie value proving a login; derived so the token itself never sits in a cookie."""
    return hmac.new(token.encode(), b"vietser-review-session", hashlib.sha256).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    """Compare secrets without leaking where they differ."""
    return hmac.compare_digest(a.encode(), b.encode())


def bearer_authorized(request: Request, token: str | None) -> bool:
    """The request carries ``Authorization: Bearer <token>``."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return token is not None and scheme.lower() == "bearer" and constant_time_equal(given.strip(), token)


def is_authorized(request: Request, token: str | None) -> bool:
    """No token configured, a bearer token, or a login session cookie."""
    if token is None or bearer_authorized(request, token):
        return True
    cookie = request.cookies.get(SESSION_COOKIE)
    return cookie is not None and constant_time_equal(cookie, session_value(token))


def csrf_token(request: Request) -> tuple[str, bool]:
    """The CSRF token of this browser, and whether it is new (and must be set as a cookie)."""
    current = request.cookies.get(CSRF_COOKIE, "")
    if _CSRF_SHAPE.match(current):
        return current, False
    return secrets.token_urlsafe(32), True


def set_cookie(response: Response, request: Request, name: str, value: str) -> None:
    """Set a cookie the way the app always does: whole site, HttpOnly, SameSite=Lax, Secure under https."""
    response.set_cookie(name, value, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")


def _cross_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
        return True
    return request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none")


async def verify_csrf(request: Request, context: ReviewContext = Depends(get_context)) -> None:
    """FastAPI dependency for every POST route: refuse forged browser requests (403)."""
    if bearer_authorized(request, context.settings.reviewer_token):
        return
    if _cross_origin(request):
        raise HTTPException(403, "cross-origin request refused: post from the review app's own pages")
    from_browser = bool(request.cookies) or "origin" in request.headers or "sec-fetch-site" in request.headers
    if not from_browser:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        field = (await request.form()).get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not sent or not constant_time_equal(sent, expected):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and submit again")


class SecurityMiddleware(BaseHTTPMiddleware):
    """Token check, request size limits and protective headers on every response."""

    def __init__(self, app: ASGIApp, token: str | None, max_upload_bytes: int) -> None:
        super().__init__(app)
        self.token = token
        self.max_upload_bytes = max_upload_bytes

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = self._size_problem(request) or self._auth_problem(request) or await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # "same-origin" rather than "no-referrer": with no-referrer Chromium sends `Origin: null` on
        # form posts, which the CSRF origin check must refuse.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    def _size_problem(self, request: Request) -> Response | None:
        if request.method not in _UNSAFE_METHODS:
            return None
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            if "chunked" in request.headers.get("transfer-encoding", ""):
                return JSONResponse({"detail": "send a Content-Length header; chunked bodies are refused"}, 411)
            return None
        upload = request.url.path == "/api/predict"
        limit = self.max_upload_bytes + UPLOAD_OVERHEAD_BYTES if upload else MAX_FORM_BYTES
        if int(length) <= limit:
            return None
        what = f"upload limit of {format_size(self.max_upload_bytes)}" if upload else f"limit of {format_size(limit)}"
        return JSONResponse({"detail": f"request body of {format_size(int(length))} exceeds the {what}"}, 413)

    def _auth_problem(self, request: Request) -> Response | None:
        path = request.url.path
        if path.startswith(PUBLIC_PATHS) or is_authorized(request, self.token):
            return None
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/login", status_code=303)
        return JSONResponse(
            {"detail": "reviewer token required: send 'Authorization: Bearer <token>' or log in at /login"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
