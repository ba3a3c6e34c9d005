"""DNS rebinding: over real HTTP the app answers only its own host names (Host → 400, foreign Origin → 403)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from tests.review.conftest import TOKEN, LiveServer, measure_predictor
from vietser.cli import app as cli
from vietser.errors import ConfigError
from vietser.review import ReviewStore, create_app, serve_review
from vietser.review.app import served_hosts
from vietser.review.security import LOOPBACK_HOSTS, host_names

REBOUND = "rebind.evil.example"
REVIEW = {"clip_id": "clips/a.wav", "label": "calm", "reviewer": "mallory"}


@pytest.fixture
def server(review_run: Path, live_server: LiveServer) -> str:
    """A token-less app on 127.0.0.1, as `vietser review RUN` starts it."""
    return live_server(create_app(review_run, predictor=measure_predictor))


def authority(server: str, host: str) -> str:
    """``host`` with the server's port, as a browser sends it in Host."""
    return f"{host}:{urlsplit(server).port}"


def csrf_token(server: str) -> str:
    """The CSRF token of an honest page fetched over loopback (what an attacker could at best replay)."""
    return httpx.get(server + "/").cookies["vietser_csrf"]


def post_review(server: str, host: str, origin: str, csrf: str) -> httpx.Response:
    """A browser's form post of a review with the given Host, Origin and CSRF cookie and field."""
    headers = {"Host": host, "Origin": origin, "Cookie": f"vietser_csrf={csrf}"}
    return httpx.post(server + "/review", data={**REVIEW, "csrf_token": csrf}, headers=headers)


def stored_reviews(review_run: Path) -> int:
    return len(ReviewStore(review_run / "reviews.sqlite").reviews())


@pytest.mark.parametrize(
    "path", ["/", "/clips/clips%2Fa.wav", "/audio/clips%2Fa.wav", "/api/queue", "/api/export", "/health"]
)
def test_requests_under_a_rebound_host_name_are_400(server: str, path: str) -> None:
    response = httpx.get(server + path, headers={"Host": authority(server, REBOUND)})
    assert response.status_code == 400
    assert "--allowed-host" in response.json()["detail"]
    assert "vietser_csrf" not in response.cookies
    assert "clips/a.wav" not in response.text


def test_rebound_review_posts_are_400_and_write_nothing(server: str, review_run: Path) -> None:
    rebound = authority(server, REBOUND)
    csrf = csrf_token(server)

    form = post_review(server, rebound, f"http://{rebound}", csrf)
    api = httpx.post(
        server + "/api/reviews",
        json=REVIEW,
        headers={"Host": rebound, "Origin": f"http://{rebound}", "Cookie": f"vietser_csrf={csrf}", "X-CSRF-Token": csrf},
    )

    assert (form.status_code, api.status_code) == (400, 400)
    assert stored_reviews(review_run) == 0


def test_post_with_a_foreign_origin_is_403_even_with_the_right_host_and_csrf_token(
    server: str, review_run: Path
) -> None:
    response = post_review(server, authority(server, "127.0.0.1"), f"http://{authority(server, REBOUND)}", csrf_token(server))
    assert response.status_code == 403
    assert "is not one of this review app's hosts" in response.json()["detail"]
    assert stored_reviews(review_run) == 0


def test_origin_null_is_refused_by_the_csrf_check_as_before(server: str, review_run: Path) -> None:
    response = post_review(server, authority(server, "127.0.0.1"), "null", csrf_token(server))
    assert response.status_code == 403
    assert response.json()["detail"] == "cross-origin request refused: post from the review app's own pages"
    assert stored_reviews(review_run) == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]", "[0:0:0:0:0:0:0:1]"])
def test_loopback_names_with_any_port_serve_pages_and_take_reviews(server: str, review_run: Path, host: str) -> None:
    named = authority(server, host)
    assert httpx.get(server + "/", headers={"Host": named}).status_code == 200
    assert httpx.get(server + "/", headers={"Host": f"{host}:1"}).status_code == 200
    response = post_review(server, named, f"http://{named}", csrf_token(server))
    assert response.status_code == 303, response.text
    assert stored_reviews(review_run) == 1


@pytest.mark.parametrize("host", ["127.0.0.1@rebind.evil.example", "127.0.0.1:80:80", "[::1", "[::g]:80", ""])
def test_malformed_host_headers_are_400(server: str, host: str) -> None:
    assert httpx.get(server + "/", headers={"Host": host}).status_code == 400


def test_an_allowed_host_name_is_served_and_others_still_refused(review_run: Path, live_server: LiveServer) -> None:
    server = live_server(create_app(review_run, allowed_hosts=(*LOOPBACK_HOSTS, "review.example.org")))
    assert httpx.get(server + "/", headers={"Host": "Review.Example.org:8443"}).status_code == 200
    assert httpx.get(server + "/", headers={"Host": authority(server, REBOUND)}).status_code == 400
    response = post_review(server, "review.example.org", "http://review.example.org", csrf_token(server))
    assert response.status_code == 303, response.text


def test_any_host_is_accepted_only_when_asked_for(review_run: Path, live_server: LiveServer) -> None:
    server = live_server(create_app(review_run, allowed_hosts=["*"]))
    assert httpx.get(server + "/", headers={"Host": authority(server, REBOUND)}).status_code == 200


def test_allowed_hosts_are_normalised_and_urls_refused() -> None:
    assert host_names(["Review.Example.org", "::1", "[0:0::1]", "192.168.1.4"]) == {
        "review.example.org",
        "::1",
        "192.168.1.4",
    }
    with pytest.raises(ConfigError, match="without scheme"):
        host_names(["https://review.example.org/"])


def test_a_server_answers_loopback_its_bind_address_and_the_named_hosts() -> None:
    assert served_hosts("127.0.0.1") == ("localhost", "127.0.0.1", "::1", "127.0.0.1")
    assert served_hosts("192.168.1.4", ["review.lan"]) == ("localhost", "127.0.0.1", "::1", "192.168.1.4", "review.lan")
    assert served_hosts("0.0.0.0", allow_any_host=True) == ("*",)


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_binding_every_interface_needs_the_host_names(review_run: Path, host: str) -> None:
    with pytest.raises(ConfigError, match="--allowed-host"):
        serve_review(review_run, host=host, token=TOKEN)


def test_review_command_names_the_flags_for_a_wildcard_bind(review_run: Path) -> None:
    result = CliRunner().invoke(cli, ["review", str(review_run), "--host", "0.0.0.0", "--token", TOKEN])
    assert result.exit_code == 2
    assert "--allowed-host" in result.output and "--allow-any-host" in result.output
