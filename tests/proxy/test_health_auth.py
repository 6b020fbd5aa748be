"""Liveness, readiness, the admin token and the error shape, on a real database."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from tests.proxy.conftest import ADMIN, API

ADMIN_PATHS = [
    ("GET", f"{API}/provider/configure"),
    ("POST", f"{API}/provider/configure"),
    ("POST", f"{API}/provider/test"),
    ("GET", f"{API}/models/discover"),
    ("POST", f"{API}/models/sync"),
    ("GET", f"{API}/models/sync/00000000-0000-0000-0000-000000000000"),
    ("POST", f"{API}/models/bulk-status"),
]


def _assert_openai_error(response, status: int, error_type: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error"}
    error = body["error"]
    assert {"message", "type", "code", "param"} <= set(error)
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in response.text
    if error_type:
        assert error["type"] == error_type
    return error


@pytest.fixture(scope="module")
def client(make_client, db_url, db_engine):
    with make_client(db_url, db_engine) as client:
        yield client


def test_healthz_answers_without_touching_anything(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_the_database_and_the_catalog(client):
    response = client.get("/readyz")
    body = response.json()
    assert body["checks"]["database"]["ok"] is True
    # This module's database has no catalog loaded: not ready until discovery ran.
    assert body["checks"]["catalog"]["ok"] is False
    assert response.status_code == 503 and body["status"] == "not_ready"


def test_readyz_is_503_when_the_database_is_away(make_client):
    dead = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
    engine = create_engine(dead, connect_args={"connect_timeout": 2})
    try:
        with make_client(dead, engine) as client:
            assert client.get("/healthz").status_code == 200
            response = client.get("/readyz")
            error = _assert_openai_error(response, 503, "service_unavailable")
            assert "database" in error["message"]
            assert response.json()["checks"]["database"]["ok"] is False
            assert response.json()["checks"]["database"]["critical"] is False  # the catalog is
    finally:
        engine.dispose()


@pytest.mark.parametrize(("method", "path"), ADMIN_PATHS)
def test_anonymous_admin_requests_get_401(client, method, path):
    response = client.request(method, path, json={})
    error = _assert_openai_error(response, 401, "authentication_error")
    assert error["code"] == "missing_token"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer wrong-token",
        "Bearer sk-minerva-0123456789abcdef0123456789abcdef",  # a virtual key is no admin token
        "Bearer sk-or-v1-0123456789abcdef",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer",
    ],
)
def test_wrong_tokens_are_refused(client, header):
    response = client.get(f"{API}/provider/configure", headers={"Authorization": header})
    error = _assert_openai_error(response, 401, "authentication_error")
    assert error["code"] in {"invalid_admin_token", "invalid_authorization"}
    token = header.partition(" ")[2]
    if token:
        assert token not in response.text, "the presented token must not be echoed"


def test_admin_api_is_off_without_an_admin_token(make_client, db_url, db_engine):
    with make_client(db_url, db_engine, MINERVA_ADMIN_TOKEN="") as client:
        assert client.get(f"{API}/provider/configure").status_code == 401
        response = client.get(f"{API}/provider/configure", headers=ADMIN)
        assert _assert_openai_error(response, 403, "permission_error")["code"] == "admin_api_disabled"


def test_the_right_token_passes(client):
    assert client.get(f"{API}/provider/configure", headers=ADMIN).status_code == 200


def test_unknown_routes_and_methods_answer_openai_errors(client):
    _assert_openai_error(client.get("/nope", headers=ADMIN), 404, "not_found_error")
    _assert_openai_error(client.delete(f"{API}/models/discover", headers=ADMIN), 405)


def test_malformed_json_is_a_400(client):
    response = client.post(f"{API}/models/bulk-status", headers={**ADMIN, "content-type": "application/json"},
                           content=b"{not json")
    error = _assert_openai_error(response, 400, "invalid_request_error")
    assert "not valid JSON" in error["message"]


def test_an_unexpected_failure_is_a_500_without_a_trace(make_client, db_url, db_engine):
    with make_client(db_url, db_engine, raise_server_exceptions=False) as client:

        @client.app.get("/boom")
        def boom():
            raise RuntimeError("secret internals sk-or-v1-deadbeef")

        response = client.get("/boom")
        error = _assert_openai_error(response, 500, "server_error")
        assert "deadbeef" not in response.text and "RuntimeError" not in response.text
        assert error["code"] == "internal_error"
