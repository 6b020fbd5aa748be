"""provider/configure and provider/test on a real database, against a real emulator."""

from __future__ import annotations

import logging
import socket
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from minerva_core.credentials import fingerprint
from tests.proxy.conftest import ADMIN, API
from tests.support.emulator import running_emulator

CONFIGURE = f"{API}/provider/configure"
TEST = f"{API}/provider/test"


@pytest.fixture(scope="module")
def client(make_client, module_db):
    url, engine = module_db
    with make_client(url, engine) as client:
        yield client


@pytest.fixture(scope="module")
def emulator_key() -> str:
    return "sk-or-v1-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def emulator(emulator_key):
    with running_emulator(require_key=emulator_key, total_credits="25") as base_url:
        yield base_url


def _everything_stored(engine) -> str:
    """Every column of every provider and credential row, as text (bytea decoded)."""
    parts = []
    with engine.connect() as conn:
        for table in ("platform_ai_providers", "platform_ai_credentials"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        value = bytes(value).decode("latin-1")
                    parts.append(str(value))
    return "\n".join(parts)


def test_get_before_any_configuration_shows_defaults(client):
    response = client.get(CONFIGURE, headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["configured"] is False and body["credential"]["configured"] is False
    assert body["effective_base_url"] == "https://openrouter.ai/api/v1"


def test_configure_stores_the_key_encrypted_and_shows_only_its_fingerprint(client, module_db, caplog):
    caplog.set_level(logging.DEBUG)
    key = "sk-or-v1-" + uuid.uuid4().hex + uuid.uuid4().hex
    body = {
        "api_key": key,
        "base_url": "https://openrouter.example.test/api/v1/",
        "routing_preferences": {"default_strategy": "balanced", "order": ["anthropic", "openai"],
                                "ignore": ["deepinfra/fp8"], "data_collection": "deny", "sort": "price"},
        "cost_limits": {"daily_limit_usd": "50.00", "monthly_limit_usd": 900},
        "rate_limits": {"rpm": 600, "tpm": 2_000_000},
        "fallback_providers": ["openai", "anthropic", "openai"],
        "is_enabled": True,
    }
    response = client.post(CONFIGURE, headers=ADMIN, json=body)
    assert response.status_code == 200, response.text
    shown = response.json()
    assert key not in response.text
    assert shown["credential"] == {
        "configured": True, "source": "stored", "fingerprint": fingerprint(key),
        "stored_fingerprint": fingerprint(key), "stored_at": shown["credential"]["stored_at"],
        "environment_fingerprint": None,
    }
    assert shown["base_url"] == "https://openrouter.example.test/api/v1"
    assert shown["routing_preferences"] == {"default_strategy": "balanced", "order": ["anthropic", "openai"],
                                            "ignore": ["deepinfra/fp8"], "data_collection": "deny",
                                            "sort": "price"}
    assert shown["cost_limits"] == {"daily_limit_usd": "50.00", "monthly_limit_usd": "900"}
    assert shown["rate_limits"] == {"rpm": 600, "tpm": 2000000}
    assert shown["fallback_providers"] == ["openai", "anthropic"]

    stored = _everything_stored(module_db[1])
    assert key not in stored and key[10:30] not in stored
    assert fingerprint(key) in stored
    assert key not in caplog.text
    with module_db[1].connect() as conn:
        row = conn.execute(text(
            "SELECT type::text, cost_config, routing_config FROM platform_ai_providers WHERE name = 'openrouter'"
        )).one()
        assert row.type == "openrouter"
        assert row.cost_config == {"daily_limit_usd": "50.00", "monthly_limit_usd": "900"}

    again = client.get(CONFIGURE, headers=ADMIN)
    assert again.status_code == 200 and key not in again.text
    assert again.json()["credential"]["fingerprint"] == fingerprint(key)
    assert again.json()["cost_limits"] == shown["cost_limits"]


def test_omitted_fields_keep_their_values_and_a_new_key_replaces_the_old(client, module_db):
    before = client.get(CONFIGURE, headers=ADMIN).json()
    new_key = "sk-or-v1-" + uuid.uuid4().hex
    response = client.post(CONFIGURE, headers=ADMIN, json={"api_key": new_key, "is_enabled": False})
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["is_enabled"] is False
    assert after["cost_limits"] == before["cost_limits"]
    assert after["routing_preferences"] == before["routing_preferences"]
    assert after["credential"]["fingerprint"] == fingerprint(new_key) != before["credential"]["fingerprint"]
    with module_db[1].connect() as conn:
        active = conn.execute(text("SELECT count(*) FROM platform_ai_credentials WHERE revoked_at IS NULL")).scalar()
        assert active == 1
    reset = client.post(CONFIGURE, headers=ADMIN, json={"base_url": None, "rate_limits": None, "is_enabled": True})
    assert reset.json()["base_url"] is None and reset.json()["rate_limits"] == {}
    assert reset.json()["effective_base_url"] == "https://openrouter.ai/api/v1"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"cost_limits": {"daily_limit_usd": "-1"}}, "cost_limits.daily_limit_usd"),
        ({"cost_limits": {"monthly_limit_usd": 12.5}}, "cost_limits.monthly_limit_usd"),
        ({"cost_limits": {"daily_limit_usd": "NaN"}}, "cost_limits.daily_limit_usd"),
        ({"cost_limits": {"weekly": "5"}}, "cost_limits.weekly"),
        ({"rate_limits": {"rpm": 0}}, "rate_limits.rpm"),
        ({"routing_preferences": {"data_collection": "maybe"}}, "routing_preferences.data_collection"),
        ({"fallback_providers": ["openrouter"]}, "fallback_providers"),
        ({"fallback_providers": ["Not A Name"]}, "fallback_providers.0"),
        ({"base_url": "ftp://example.com"}, "base_url"),
        ({"base_url": "https://user:hunter2@example.com/api/v1"}, "base_url"),
        ({"is_enabled": None}, "is_enabled"),
        ({"apikey": "sk-or-v1-oops"}, "apikey"),
    ],
)
def test_bad_configuration_is_a_400_naming_the_field(client, body, param):
    response = client.post(CONFIGURE, headers=ADMIN, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert param in error["message"]
    assert "hunter2" not in response.text and "sk-or-v1-oops" not in response.text


def test_a_bad_api_key_is_refused_without_echoing_it(client, caplog):
    caplog.set_level(logging.DEBUG)
    key = "sk-or-v1 " + uuid.uuid4().hex
    response = client.post(CONFIGURE, headers=ADMIN, json={"api_key": key})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "api_key"
    assert key.split()[1] not in response.text and key.split()[1] not in caplog.text


def test_the_environment_key_wins_and_is_shown_by_fingerprint(make_client, module_db):
    url, engine = module_db
    env_key = "sk-or-v1-env-" + uuid.uuid4().hex
    with make_client(url, engine, OPENROUTER_API_KEY=env_key) as client:
        response = client.get(CONFIGURE, headers=ADMIN)
    credential = response.json()["credential"]
    assert credential["source"] == "environment" and credential["fingerprint"] == fingerprint(env_key)
    assert credential["stored_fingerprint"] is not None and env_key not in response.text


def test_provider_test_is_healthy_against_a_running_emulator(client, emulator, emulator_key):
    configured = client.post(CONFIGURE, headers=ADMIN, json={"api_key": emulator_key, "base_url": emulator})
    assert configured.status_code == 200
    response = client.post(TEST, headers=ADMIN)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "healthy", result
    assert result["reachable"] is True and result["key_valid"] is True
    assert result["latency_ms"] > 0
    assert Decimal(result["credits_remaining"]) == Decimal(25)
    assert result["credential_source"] == "stored"
    assert result["credential_fingerprint"] == fingerprint(emulator_key)
    assert result["base_url"] == emulator and emulator_key not in response.text


def test_provider_test_reports_a_rejected_key_as_unhealthy(client, emulator):
    wrong = "sk-or-v1-" + uuid.uuid4().hex
    response = client.post(TEST, headers=ADMIN, json={"api_key": wrong})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "unhealthy" and result["reachable"] is True and result["key_valid"] is False
    assert result["credential_source"] == "request" and wrong not in response.text


def test_provider_test_against_a_dead_port_is_unhealthy_but_200(client):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    response = client.post(TEST, headers=ADMIN, json={"base_url": f"http://127.0.0.1:{port}/api/v1",
                                                      "timeout_seconds": 5})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "unhealthy" and result["reachable"] is False
    assert result["latency_ms"] is None and result["detail"]


def test_provider_test_refuses_a_bad_request(client):
    response = client.post(TEST, headers=ADMIN, json={"timeout_seconds": 0})
    assert response.status_code == 400 and response.json()["error"]["param"] == "timeout_seconds"


def test_without_secret_keys_in_production_a_key_is_refused_and_nothing_changes(make_client, module_db):
    url, engine = module_db
    with make_client(url, engine, MINERVA_ENV="production", MINERVA_SECRET_KEYS="") as client:
        before = client.get(CONFIGURE, headers=ADMIN).json()
        key = "sk-or-v1-" + uuid.uuid4().hex
        response = client.post(CONFIGURE, headers=ADMIN, json={"api_key": key, "is_enabled": False})
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["type"] == "service_unavailable" and error["code"] == "secret_keys_unavailable"
        assert "MINERVA_SECRET_KEYS" in error["message"] and key not in response.text
        assert client.get(CONFIGURE, headers=ADMIN).json() == before
