"""ENABLE_OPENROUTER_PROVIDER and _ROUTING on the proxy, through real HTTP: the whole app
(create_app: FastAPI admin routes and the Starlette gateway) served by uvicorn against the
emulator (a subprocess) and real PostgreSQL. An override written to the database by anyone
reaches the running gateway within seconds, with no restart and no query per request."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text

from minerva_core.flags import set_override
from minerva_core.settings import load_settings
from proxy.app import create_app
from tests.gateway import support
from tests.gateway.support import A, ADMIN, ADMIN_TOKEN, B, CHAIN_STRATEGY
from tests.migration.support import NoLauncher, migrated_database
from tests.support.emulator import arm_fault, clear_faults, running_emulator

AUTH_ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PROVIDER, ROUTING = "ENABLE_OPENROUTER_PROVIDER", "ENABLE_OPENROUTER_ROUTING"
CHAT = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 20}


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[tuple[str, Engine, str, object]]:
    """(proxy URL, engine, emulator URL, app): one of each for the module."""
    home = tmp_path_factory.mktemp("flags_gateway_home")
    with migrated_database("minerva_flags_gw") as (url, engine), running_emulator(seed=3) as upstream:
        support.load_catalog(engine)
        settings = load_settings({
            "MINERVA_DATABASE_URL": url, "OPENROUTER_BASE_URL": upstream, "MINERVA_ADMIN_TOKEN": ADMIN_TOKEN,
            "MINERVA_HOME": str(home), "MINERVA_ENV": "test", "MINERVA_SECRET_KEYS": Fernet.generate_key().decode(),
        })
        with pytest.MonkeyPatch.context() as env:  # the gateway reads its knobs from MINERVA_GATEWAY_*
            env.setenv("MINERVA_GATEWAY_LEDGER_FLUSHER", "inline")
            env.setenv("MINERVA_GATEWAY_LEDGER_FLUSH_INTERVAL_S", "0.05")
            env.setenv("MINERVA_GATEWAY_SPOOL_DIR", str(home / "spool"))
            app = create_app(settings, engine=engine, launcher=NoLauncher())
        with support.serve(app) as base:
            yield base, engine, upstream, app


@pytest.fixture(scope="module")
def key(stack) -> str:
    base, engine, _, app = stack
    plaintext, _ = support.new_key(engine, "flags")  # default strategy: test-chain (fallbacks B, C)
    support.await_key(app, plaintext)
    return plaintext


@pytest.fixture()
def proxy(stack, key) -> Iterator[tuple[httpx.Client, Engine, str, object]]:
    base, engine, upstream, app = stack
    with httpx.Client(base_url=base, timeout=30) as client:
        yield client, engine, upstream, app
    clear_faults(upstream)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM feature_flags"))
    flags = app.state.gateway.flags
    support.wait_for(lambda: flags.on("provider") and flags.on("routing"), timeout=10)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def disabled_body(area: str, flag: str, source: str) -> dict:
    return {"error": {
        "message": f"{area} is disabled on deployment 'default': {flag} is off ({source})",
        "type": "service_unavailable", "code": "feature_disabled", "param": flag,
        "details": {"flag": flag, "area": area, "deployment": "default", "source": source}}}


def test_provider_override_switches_the_gateway_off_within_seconds_and_back(proxy, key):
    client, engine, _, app = proxy
    assert client.post("/v1/chat/completions", json={"model": A, **CHAT}, headers=bearer(key)).status_code == 200

    note = f"incident {uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:  # as another process would: straight into the database
        set_override(conn, "provider", "default", False, actor="ops", note=note)
    changed = time.monotonic()
    support.wait_for(
        lambda: client.post("/v1/chat/completions", json={"model": A, **CHAT}, headers=bearer(key)).status_code == 503,
        timeout=5)
    took = time.monotonic() - changed

    expected = disabled_body("provider", PROVIDER, f"database override for deployment 'default' by ops: {note}")
    resolver = app.state.gateway.flags.resolver
    loads = resolver.loads
    answers = {
        "chat": client.post("/v1/chat/completions", json={"model": A, **CHAT}, headers=bearer(key)),
        "models": client.get("/v1/models", headers=bearer(key)),
        "admin proxy": client.post(f"{ADMIN}/proxy/chat/completions", json={"model": A, **CHAT}, headers=AUTH_ADMIN),
        "provider/configure": client.get(f"{ADMIN}/provider/configure", headers=AUTH_ADMIN),
        "provider/test": client.post(f"{ADMIN}/provider/test", json={}, headers=AUTH_ADMIN),
        "models/sync": client.post(f"{ADMIN}/models/sync", json={"kind": "discover"}, headers=AUTH_ADMIN),
    }
    for name, response in answers.items():
        assert (response.status_code, response.json()) == (503, expected), name
    assert client.get(f"{ADMIN}/models/discover", headers=AUTH_ADMIN).status_code == 200  # browsing stays
    for _ in range(20):
        client.get("/v1/models", headers=bearer(key))
    assert resolver.loads == loads, "the flags were read from memory, not per request"
    assert took < 5

    # The caller is still authenticated first: no key, no word about the flag.
    anonymous = client.post("/v1/chat/completions", json={"model": A, **CHAT})
    assert anonymous.status_code == 401
    assert client.post(f"{ADMIN}/proxy/chat/completions", json={"model": A, **CHAT}).status_code == 401
    # Other areas stay up: the flags API itself, and routing's admin paths.
    assert client.get(f"{ADMIN}/routing/strategies", headers=AUTH_ADMIN).status_code == 200

    assert client.delete(f"{ADMIN}/flags/provider", headers=AUTH_ADMIN).status_code == 200
    # The API re-reads the flags at once in its own process.
    assert client.post("/v1/chat/completions", json={"model": A, **CHAT}, headers=bearer(key)).status_code == 200
    assert client.get(f"{ADMIN}/provider/configure", headers=AUTH_ADMIN).status_code == 200


def test_routing_off_sends_the_named_model_only(proxy, key):
    client, engine, upstream, _ = proxy
    chained = {"model": A, "models": [A, B], **CHAT}
    # Routing on: A fails once, B (the key's strategy's fallback chain) serves.
    arm_fault(upstream, "500", model=A, count=1)
    on = client.post("/v1/chat/completions", json={"model": A, **CHAT}, headers=bearer(key))
    assert (on.status_code, on.headers["x-minerva-fallback-depth"], on.headers["x-minerva-model"]) == (200, "1", B)

    put = client.put(f"{ADMIN}/flags/routing", json={"enabled": False}, headers=AUTH_ADMIN)
    assert put.status_code == 200, put.text

    # Routing off: the same failure is the answer: no fallback here, and models[] is not
    # forwarded (with it the upstream would fall back by itself).
    arm_fault(upstream, "500", model=A, count=1)
    off = client.post("/v1/chat/completions", json=chained, headers=bearer(key))
    assert off.status_code == 502, off.text
    ledger, decision = support.rows_for(engine, off.headers["x-request-id"])
    assert (ledger["fallback_depth"], ledger["status"]) == (0, "error")
    assert (decision["strategy"], decision["selected_model"], list(decision["fallback_models"])) == ("direct", A, [])

    served = client.post("/v1/chat/completions", json={"models": [B, A], **CHAT}, headers=bearer(key))
    assert (served.status_code, served.headers["x-minerva-model"]) == (200, B)
    _, decision = support.rows_for(engine, served.headers["x-request-id"])
    assert (decision["strategy"], list(decision["fallback_models"])) == ("direct", [])

    expected = disabled_body("routing", ROUTING, "database override for deployment 'default' by admin")
    for model in ("minerva/cheapest", f"test/{CHAIN_STRATEGY}", "minerva/auto", None):
        body = {**CHAT, **({"model": model} if model else {})}
        refused = client.post("/v1/chat/completions", json=body, headers=bearer(key))
        assert (refused.status_code, refused.json()) == (503, expected), model
    unknown = client.post("/v1/chat/completions", json={"model": "nobody/nothing", **CHAT}, headers=bearer(key))
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "model_not_found")

    listed = [m["id"] for m in client.get("/v1/models", headers=bearer(key)).json()["data"]]
    assert A in listed and not [m for m in listed if m.startswith("minerva/")]

    for method, path, body in (("POST", "/routing/recommend", {"model": A, **CHAT}),
                               ("GET", "/routing/strategies", None),
                               ("GET", f"/routing/strategies/{CHAIN_STRATEGY}", None),
                               ("DELETE", f"/routing/strategies/{CHAIN_STRATEGY}", None)):
        answer = client.request(method, ADMIN + path, json=body, headers=AUTH_ADMIN)
        assert (answer.status_code, answer.json()) == (503, expected), path
    assert client.get(f"{ADMIN}/routing/strategies").status_code == 401  # the token first

    assert client.delete(f"{ADMIN}/flags/routing", headers=AUTH_ADMIN).status_code == 200
    listed = [m["id"] for m in client.get("/v1/models", headers=bearer(key)).json()["data"]]
    assert "minerva/auto" in listed
    assert client.get(f"{ADMIN}/routing/strategies/{CHAIN_STRATEGY}", headers=AUTH_ADMIN).status_code == 200
