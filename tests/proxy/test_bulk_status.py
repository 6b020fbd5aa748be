"""POST models/bulk-status: all or nothing, on a real database with a few literal models."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.proxy.conftest import ADMIN, API

BULK = f"{API}/models/bulk-status"
DISCOVER = f"{API}/models/discover"


@pytest.fixture(scope="module")
def client(make_client, module_db):
    url, engine = module_db
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO ai_models (id, name, upstream_provider) VALUES "
            "('acme/one', 'One', 'acme'), ('acme/two', 'Two', 'acme'), ('acme/three', 'Three', 'acme')"))
        conn.execute(text(
            "INSERT INTO ai_models (id, name, upstream_provider, status, deprecated_at) "
            "VALUES ('acme/old', 'Old', 'acme', 'deprecated', now() - interval '1 day')"))
    with make_client(url, engine) as client:
        yield client


def _state(engine) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, status, disabled_by_admin, disabled_at, disabled_reason, updated_at FROM ai_models ORDER BY id"
        )).all()
        version = conn.execute(text("SELECT version FROM catalog_versions WHERE table_name = 'ai_models'")).scalar()
    return {"rows": [tuple(r) for r in rows], "version": version}


def test_one_unknown_id_changes_nothing_and_lists_every_unknown_id(client, module_db):
    before = _state(module_db[1])
    response = client.post(BULK, headers=ADMIN, json={
        "model_ids": ["acme/one", "nope/x", "acme/two", "nope/a"], "status": "disabled", "reason": "test"})
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert error["type"] == "not_found_error" and error["param"] == "model_ids"
    assert error["details"]["unknown_model_ids"] == ["nope/a", "nope/x"]
    assert "nope/a" in error["message"] and "nothing was changed" in error["message"]
    assert _state(module_db[1]) == before


def test_disable_then_list_by_status(client, module_db):
    response = client.post(BULK, headers=ADMIN, json={
        "model_ids": ["acme/one", "acme/two", "acme/one"], "status": "disabled", "reason": "too pricey"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["requested"] == 2 and body["changed_count"] == 2 and body["unchanged_count"] == 0
    assert body["changed"] == [{"id": "acme/one", "previous_status": "active", "status": "disabled"},
                               {"id": "acme/two", "previous_status": "active", "status": "disabled"}]
    with module_db[1].connect() as conn:
        rows = conn.execute(text(
            "SELECT status, disabled_by_admin, disabled_at IS NOT NULL AS stamped, disabled_reason "
            "FROM ai_models WHERE id IN ('acme/one', 'acme/two')")).all()
    assert all(tuple(r) == ("disabled", True, True, "too pricey") for r in rows)

    active = client.get(DISCOVER, headers=ADMIN).json()
    assert [m["id"] for m in active["data"]] == ["acme/three"]
    disabled = client.get(DISCOVER, headers=ADMIN, params={"status": "disabled"}).json()
    assert [m["id"] for m in disabled["data"]] == ["acme/one", "acme/two"]
    assert disabled["data"][0]["disabled_reason"] == "too pricey" and disabled["data"][0]["disabled_by_admin"]

    again = client.post(BULK, headers=ADMIN, json={"model_ids": ["acme/one"], "status": "disabled"}).json()
    assert again["changed_count"] == 0 and again["unchanged"] == ["acme/one"]


def test_re_enabling_keeps_a_model_deprecated_upstream_deprecated(client, module_db):
    assert client.post(BULK, headers=ADMIN, json={"model_ids": ["acme/old"], "status": "disabled"}).status_code == 200
    response = client.post(BULK, headers=ADMIN, json={
        "model_ids": ["acme/one", "acme/two", "acme/old", "acme/three"], "status": "active"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kept_deprecated"] == ["acme/old"] and "deprecated" in body["note"]
    assert {c["id"]: c["status"] for c in body["changed"]} == {
        "acme/one": "active", "acme/two": "active", "acme/old": "deprecated"}
    assert body["unchanged"] == ["acme/three"]
    with module_db[1].connect() as conn:
        rows = dict(conn.execute(text(
            "SELECT id, status || ':' || disabled_by_admin || ':' || (disabled_at IS NULL) FROM ai_models")).all())
    assert rows == {"acme/one": "active:false:true", "acme/two": "active:false:true",
                    "acme/three": "active:false:true", "acme/old": "deprecated:false:true"}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model_ids": [], "status": "disabled"}, "model_ids"),
        ({"model_ids": ["acme/one"], "status": "deleted"}, "status"),
        ({"model_ids": ["acme/one"]}, "status"),
        ({"model_ids": [""], "status": "active"}, "model_ids.0"),
        ({"model_ids": ["acme/one"], "status": "disabled", "reason": "x" * 501}, "reason"),
        ({"model_ids": "acme/one", "status": "disabled"}, "model_ids"),
    ],
)
def test_bad_bodies_are_a_400(client, body, param):
    response = client.post(BULK, headers=ADMIN, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
