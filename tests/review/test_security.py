"""Access control: audio lookup by id only, reviewer token, CSRF, loopback-only serving without a token."""

from __future__ import annotations

import http.client
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.review.conftest import LOOPBACK_URL, TOKEN, LiveServer, measure_predictor
from vietser.errors import ConfigError
from vietser.review import create_app, review_url, serve_review
from vietser.review.app import is_loopback

REVIEW = {"clip_id": "clips/a.wav", "label": "calm", "reviewer": "bob"}


@pytest.fixture
def guarded(review_run: Path) -> TestClient:
    return TestClient(create_app(review_run, predictor=measure_predictor, reviewer_token=TOKEN), base_url=LOOPBACK_URL)


def logged_in(client: TestClient) -> str:
    """Log in through /login?token= and open a page; returns the page's CSRF token."""
    assert client.get("/login", params={"token": TOKEN}, follow_redirects=False).status_code == 303
    assert client.get("/").status_code == 200
    return client.cookies["vietser_csrf"]


def test_audio_of_a_known_clip_is_served(client: TestClient) -> None:
    response = client.get("/audio/clips%2Fa.wav")
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.content[:4] == b"RIFF"


@pytest.mark.parametrize(
    "url",
    [
        "/audio/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/audio/..%2F..%2F..%2Fetc%2Fpasswd",
        "/audio/%252e%252e%252fetc%252fpasswd",
        "/audio/%2Fetc%2Fpasswd",
        "/audio//etc/passwd",
        "/audio/clips%2F..%2Fdecisions.jsonl",
        "/audio/decisions.jsonl",
        "/audio/reviews.sqlite",
    ],
)
def test_audio_paths_outside_the_runs_clips_are_404(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert b"root:" not in response.content


def test_literal_dot_dot_audio_path_is_404_over_real_http(review_run: Path, live_server: LiveServer) -> None:
    address = urlsplit(live_server(create_app(review_run, predictor=measure_predictor)))
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request("GET", "/audio/../../../../etc/passwd")
    response = connection.getresponse()
    assert response.status == 404
    assert b"root:" not in response.read()


def test_api_without_token_is_401_when_the_app_has_one(guarded: TestClient) -> None:
    response = guarded.get("/api/queue")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("url", ["/audio/clips%2Fa.wav", "/openapi.json", "/api/export"])
def test_everything_but_health_needs_the_token(guarded: TestClient, url: str) -> None:
    assert guarded.get(url).status_code == 401
    assert guarded.get("/health").status_code == 200


def test_page_without_token_redirects_to_login(guarded: TestClient) -> None:
    response = guarded.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_bearer_token_opens_the_api(guarded: TestClient) -> None:
    response = guarded.get("/api/queue", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200


def test_wrong_bearer_token_is_401(guarded: TestClient) -> None:
    assert guarded.get("/api/queue", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401


def test_login_with_wrong_token_is_401_and_sets_no_session(guarded: TestClient) -> None:
    response = guarded.get("/login", params={"token": "wrong-token-0123456789"})
    assert response.status_code == 401
    assert "vietser_session" not in guarded.cookies


def test_login_cookie_opens_pages_and_api(guarded: TestClient) -> None:
    logged_in(guarded)
    assert TOKEN not in guarded.cookies["vietser_session"]
    assert guarded.get("/api/queue").status_code == 200


def test_bearer_client_posts_without_csrf_token(guarded: TestClient) -> None:
    response = guarded.post("/api/reviews", json=REVIEW, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 201


def test_cookie_session_post_without_csrf_token_is_403(guarded: TestClient) -> None:
    logged_in(guarded)
    response = guarded.post("/api/reviews", json=REVIEW)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_cookie_session_post_with_csrf_header_is_accepted(guarded: TestClient) -> None:
    csrf = logged_in(guarded)
    assert guarded.post("/api/reviews", json=REVIEW, headers={"X-CSRF-Token": csrf}).status_code == 201


def test_form_post_with_csrf_field_saves_and_moves_to_the_next_clip(guarded: TestClient) -> None:
    csrf = logged_in(guarded)
    response = guarded.post("/review", data={**REVIEW, "csrf_token": csrf}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/clips/clips%2Fb.wav")


def test_form_post_with_a_forged_csrf_field_is_403(guarded: TestClient) -> None:
    logged_in(guarded)
    response = guarded.post("/review", data={**REVIEW, "csrf_token": "x" * 43}, follow_redirects=False)
    assert response.status_code == 403


def test_cross_origin_post_is_403_even_with_a_valid_csrf_token(guarded: TestClient) -> None:
    csrf = logged_in(guarded)
    headers = {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
    assert guarded.post("/api/reviews", json=REVIEW, headers=headers).status_code == 403


def test_browser_post_to_a_tokenless_server_needs_the_csrf_token(client: TestClient) -> None:
    response = client.post("/api/reviews", json=REVIEW, headers={"Origin": LOOPBACK_URL})
    assert response.status_code == 403


def test_pages_forbid_inline_and_external_resources(client: TestClient) -> None:
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_short_reviewer_token_is_refused(review_run: Path) -> None:
    with pytest.raises(ConfigError, match="at least 16"):
        create_app(review_run, reviewer_token="short")


def test_serving_beyond_loopback_without_a_token_is_refused(review_run: Path) -> None:
    with pytest.raises(ConfigError, match="exposes the review app to the network"):
        serve_review(review_run, host="0.0.0.0")


@pytest.mark.parametrize(
    "host, expected",
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("127.5.0.1", True),
        ("0.0.0.0", False),
        ("192.168.1.4", False),
        ("example.org", False),
    ],
)
def test_loopback_hosts_are_recognised(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_review_url_with_a_token_is_a_login_link_that_opens_the_app(guarded: TestClient) -> None:
    url = review_url("0.0.0.0", 8765, TOKEN)
    assert url == f"http://0.0.0.0:8765/login?token={TOKEN}"
    assert guarded.get(url.removeprefix("http://0.0.0.0:8765"), follow_redirects=False).status_code == 303
    assert guarded.get("/api/queue").status_code == 200


def test_review_url_brackets_ipv6_hosts() -> None:
    assert review_url("::1", 9000) == "http://[::1]:9000/"
