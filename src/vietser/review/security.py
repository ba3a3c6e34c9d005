"""Access control of the review app: host names, reviewer token, CSRF, request size limits, headers.

* Host names (against DNS rebinding): a page on an attacker's domain that
  re-resolves to 127.0.0.1 talks to the loopback server under the attacker's
  name. The app therefore answers only requests whose ``Host`` is one of its
  own names (400 otherwise) and refuses state-changing requests whose
  ``Origin`` names another host (403). Ports are not compared: a rebinding
  page can use any port but none of the app's names, and proxies change ports.
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
import ipaddress
import re
import secrets
from collections.abc import Iterable
from typing import Awaitable, Callable

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.datastructures import Headers
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from vietser.errors import ConfigError
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
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_AUTHORITY = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._-]+))(?::[0-9]{1,5})?")


def host_name(authority: str) -> str | None:
    """The host of a ``Host`` header or URL authority (``name[:port]``, ``[v6][:port]``).

    Lower-case, without port or IPv6 brackets, IPv6 in compressed form; None
    when ``authority`` is not of that shape (user info, paths, bad addresses).
    """
    match = _AUTHORITY.fullmatch(authority)
    if match is None:
        return None
    if match["ipv6"] is None:
        return match["name"].lower()
    try:
        return str(ipaddress.IPv6Address(match["ipv6"]))
    except ValueError:
        return None


def origin_host(origin: str) -> str | None:
    """The host of an ``Origin`` header (``http[s]://authority``); None for ``null`` and anything else."""
    scheme, separator, authority = origin.partition("://")
    return host_name(authority) if separator and scheme.lower() in ("http", "https") else None


def host_names(names: Iterable[str]) -> frozenset[str]:
    """The names in the form :class:`HostGuard` compares them; bare IPv6 addresses may omit the brackets.

    Raises:
        ConfigError: a name that is not a host name or IP address.
    """
    normalized = set()
    for name in names:
        host = host_name(f"[{name}]" if name.count(":") > 1 and not name.startswith("[") else name)
        if host is None:
            raise ConfigError(
                f"allowed host {name!r} is not a host name or IP address: give it without scheme or path, "
                "e.g. review.example.org or 192.168.1.4."
            )
        normalized.add(host)
    return frozenset(normalized)


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


class HostGuard:
    """Serve only requests addressed to the app's own host names (see the module docstring).

    Starlette's ``TrustedHostMiddleware`` would do the Host part, but releases
    that ``fastapi>=0.110`` still allows cut ``Host`` at its first colon and so
    refuse ``[::1]:port``.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: frozenset[str]) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = self._problem(Headers(scope=scope), scope["method"]) if scope["type"] == "http" else None
        if problem is None:
            await self.app(scope, receive, send)
        else:
            await problem(scope, receive, send)

    def _problem(self, headers: Headers, method: str) -> Response | None:
        if host_name(headers.get("host", "")) not in self.allowed_hosts:
            return JSONResponse(
                {
                    "detail": "this review app does not serve that Host: open it at the address `vietser review` "
                    "printed, or restart it with --allowed-host NAME for a name of your own (e.g. a reverse proxy)"
                },
                400,
            )
        origin = headers.get("origin")
        # `Origin: null` names no host; verify_csrf refuses it as cross-origin, as for any browser post.
        foreign = origin is not None and origin != "null" and origin_host(origin) not in self.allowed_hosts
        if method in _UNSAFE_METHODS and foreign:
            return JSONResponse(
                {
                    "detail": f"cross-origin request refused: origin {origin!r} is not one of this review app's "
                    "hosts; post from the review app's own pages"
                },
                403,
            )
        return None


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
