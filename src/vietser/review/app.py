"""The review web app and HTTP API for one run directory, and the server that runs it."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlencode
from importlib.resources import files
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import vietser
from vietser.errors import ConfigError
from vietser.review import api, pages
from vietser.review.context import LazyPredictor, Predictor, ReviewContext, ReviewSettings
from vietser.review.queue import DEFAULT_LOW_CONFIDENCE
from vietser.review.rundir import load_run, read_rulebook
from vietser.review.security import LOOPBACK_HOSTS, HostGuard, SecurityMiddleware, host_names
from vietser.review.store import ReviewStore
from vietser.run.dir import REVIEWS_FILE, RULEBOOK_FILE

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_DURATION_S = 60.0
MIN_TOKEN_LENGTH = 16
ANY_HOST = "*"


def create_app(
    run_dir: str | Path,
    *,
    calls: Sequence[Path] = (),
    predictor: Predictor | None = None,
    reviewer_token: str | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_duration_s: float = MAX_DURATION_S,
    low_confidence: float = DEFAULT_LOW_CONFIDENCE,
    allowed_hosts: Sequence[str] = LOOPBACK_HOSTS,
) -> FastAPI:
    """The review app and API over ``run_dir``; reviews go to ``run_dir/reviews.sqlite``.

    Args:
        calls: outputs of ``vietser predict --segments``: their segments join the run's decisions and
            each call gets a timeline page (``/calls/{call_id}``).
        predictor: classifies one audio file for ``POST /api/predict``; by default
            the run's own pipeline, loaded on the first upload.
        reviewer_token: when set, every request needs it (bearer header or the
            cookie set by ``/login?token=...``).
        low_confidence: clips decided below this confidence join the review queue
            (delegated clips always do).
        allowed_hosts: the host names (any port) requests may carry in ``Host``,
            and state-changing ones in ``Origin``; others get 400 / 403, which
            stops DNS rebinding. ``["*"]`` accepts any host.

    Raises:
        ConfigError: no decisions.jsonl in ``run_dir``, an unusable calls file, a store that cannot be
            written, a token shorter than 16 characters, or an allowed host
            that is not a host name.
    """
    if reviewer_token is not None and len(reviewer_token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"the reviewer token has {len(reviewer_token)} characters; use at least {MIN_TOKEN_LENGTH}, "
            "e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(24))'`."
        )
    run = load_run(run_dir, calls)
    context = ReviewContext(
        run=run,
        store=ReviewStore(run.run_dir / REVIEWS_FILE),
        rulebook=read_rulebook(run.run_dir / RULEBOOK_FILE),
        predictor=LazyPredictor(run.run_dir, predictor),
        settings=ReviewSettings(reviewer_token, max_upload_bytes, max_duration_s, low_confidence),
    )
    app = FastAPI(
        title="vietser review",
        version=vietser.__version__,
        description="Human review of speech-emotion decisions (calm / angry / panic) and prediction for new audio.",
    )
    app.state.review = context
    app.add_middleware(SecurityMiddleware, token=reviewer_token, max_upload_bytes=max_upload_bytes)
    if ANY_HOST not in allowed_hosts:
        app.add_middleware(HostGuard, allowed_hosts=host_names(allowed_hosts))
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(files("vietser.review") / "static")), name="static")
    return app


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_every_interface(host: str) -> bool:
    """True for the wildcard addresses 0.0.0.0 and ::, which listen on every interface."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def served_hosts(host: str, extra_hosts: Sequence[str] = (), allow_any_host: bool = False) -> tuple[str, ...]:
    """The host names a server bound to ``host`` answers: loopback names, ``host`` and ``extra_hosts``.

    Raises:
        ConfigError: ``host`` listens on every interface, where the names clients
            use are unknown, and neither ``extra_hosts`` nor ``allow_any_host`` names them.
    """
    if allow_any_host:
        return (ANY_HOST,)
    if is_every_interface(host) and not extra_hosts:
        raise ConfigError(
            f"binding to {host} listens on every interface, so the review app cannot tell its own host names "
            "from a DNS-rebinding attacker's: name the ones clients use with --allowed-host (repeatable, "
            "e.g. --allowed-host review.example.org --allowed-host 192.168.1.4), or pass --allow-any-host "
            "to accept every Host header (only where a reverse proxy in front checks it)."
        )
    return (*LOOPBACK_HOSTS, host, *extra_hosts)


def review_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None) -> str:
    """The address to open in a browser: the login link (which sets the session cookie) when there is a token."""
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}/"
    return f"{base}login?{urlencode({'token': token})}" if token else base


def serve_review(
    run_dir: str | Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    extra_hosts: Sequence[str] = (),
    allow_any_host: bool = False,
    calls: Sequence[Path] = (),
) -> None:
    """Serve the review app (with the calls of ``calls``, see :func:`create_app`) with uvicorn until interrupted.

    It answers only the host names of :func:`served_hosts`.

    Raises:
        ConfigError: ``host`` is reachable from other machines and no token is
            given, ``host`` listens on every interface and no host names are
            given, or the run directory cannot be reviewed.
    """
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"binding to {host} exposes the review app to the network; pass a reviewer token "
            f"(at least {MIN_TOKEN_LENGTH} characters) or bind to {DEFAULT_HOST}."
        )
    app = create_app(
        run_dir, calls=calls, reviewer_token=token, allowed_hosts=served_hosts(host, extra_hosts, allow_any_host)
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
