"""The flags admin API and require_flag through a real app route."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.migration.support import ADMIN, API, client_for

ROUTING = "ENABLE_OPENROUTER_ROUTING"


@pytest.fixture()
def client(mig_db, tmp_path):
    url, engine = mig_db
    with client_for(url, engine, tmp_path) as c:
        yield c
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM feature_flags"))


def _flag(body: dict, name: str) -> dict:
    return next(f for f in body["flags"] if f["name"] == name)


def test_override_switches_a_guarded_route_off_and_back(client, engine):
    assert client.get("/probe/routing").status_code == 200

    put = client.put(f"{API}/flags/routing", json={"enabled": False, "note": "incident 42"},
                     headers={**ADMIN, "X-Minerva-Actor": "carol"})
    assert put.status_code == 200, put.text
    flag = _flag(put.json(), ROUTING)
    assert (flag["enabled"], flag["source"]) == (False, "deployment_override")
    assert flag["overrides"][0]["updated_by"] == "carol"

    off = client.get("/probe/routing")
    assert off.status_code == 503
    assert off.json() == {"error": {
        "message": "routing is disabled on deployment 'default': ENABLE_OPENROUTER_ROUTING is off "
                   "(database override for deployment 'default' by carol: incident 42)",
        "type": "service_unavailable", "code": "feature_disabled", "param": ROUTING,
        "details": {"flag": ROUTING, "area": "routing", "deployment": "default",
                    "source": "database override for deployment 'default' by carol: incident 42"}}}

    gone = client.delete(f"{API}/flags/{ROUTING}", headers=ADMIN)
    assert gone.status_code == 200 and _flag(gone.json(), ROUTING)["source"] == "default"
    assert client.get("/probe/routing").status_code == 200

    with engine.connect() as conn:
        actions = conn.execute(text(
            "SELECT actor, action, entity, before IS NULL, after IS NULL FROM migration_audit "
            "WHERE entity_type = 'flag' ORDER BY id")).all()
    assert [tuple(r) for r in actions] == [
        ("carol", "override_set", f"{ROUTING}@default", True, False),
        ("admin", "override_deleted", f"{ROUTING}@default", False, True),
    ]


def test_no_query_per_request(client):
    client.get("/probe/routing")
    resolver = client.app.state.flags
    loads = resolver.loads
    for _ in range(50):
        assert client.get("/probe/routing").status_code == 200
    assert resolver.loads == loads  # served from memory until the TTL or a change


def test_environment_off_and_global_override(mig_db, tmp_path):
    url, engine = mig_db
    with client_for(url, engine, tmp_path, ENABLE_OPENROUTER_ROUTING="false") as client:
        off = client.get("/probe/routing")
        assert off.status_code == 503 and off.json()["error"]["details"]["source"] == "environment"
        # An override for every deployment beats the environment...
        assert client.put(f"{API}/flags/routing", json={"enabled": True, "deployment": "*"}, headers=ADMIN).status_code == 200
        assert client.get("/probe/routing").status_code == 200
        # ...and one for another deployment does not apply here.
        body = client.put(f"{API}/flags/routing", json={"enabled": False, "deployment": "eu-1"}, headers=ADMIN).json()
        assert body["deployment"] == "eu-1" and _flag(body, ROUTING)["enabled"] is False
        assert client.get("/probe/routing").status_code == 200
        listed = client.get(f"{API}/flags", headers=ADMIN).json()
        assert listed["deployment"] == "default"
        assert (_flag(listed, ROUTING)["source"], len(_flag(listed, ROUTING)["overrides"])) == ("global_override", 2)
        assert _flag(client.get(f"{API}/flags?deployment=eu-1", headers=ADMIN).json(), ROUTING)["enabled"] is False
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM feature_flags"))


def test_errors(client):
    assert client.put(f"{API}/flags/nonsense", json={"enabled": True}, headers=ADMIN).json()["error"]["code"] == "unknown_flag"
    missing = client.delete(f"{API}/flags/routing?deployment=eu-9", headers=ADMIN)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "override_not_found")
    bad = client.put(f"{API}/flags/routing", json={"enabled": True, "deployment": "bad name!"}, headers=ADMIN)
    assert (bad.status_code, bad.json()["error"]["param"]) == (400, "deployment")
    assert client.put(f"{API}/flags/routing", json={"enabled": "maybe"}, headers=ADMIN).status_code == 400


@pytest.mark.parametrize("method,path", [
    ("GET", "/flags"), ("PUT", "/flags/routing"), ("DELETE", "/flags/routing"),
])
def test_anonymous_is_refused(client, method, path):
    response = client.request(method, API + path, json={"enabled": True} if method == "PUT" else None)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
