"""Parameter validation (400 naming the parameter), auth, and the answer before any refresh."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from minerva_core.db import migrate
from tests.analytics.conftest import ADMIN, API, get, make_app
from tests.support.database import scratch_database

BAD = [
    ("analytics/usage", {"bucket": "minute"}, "bucket"),
    ("analytics/usage", {"group_by": "key,colour"}, "group_by"),
    ("analytics/usage", {"group_by": ""}, "group_by"),
    ("analytics/usage", {"from": "yesterday"}, "from"),
    ("analytics/usage", {"to": "2026-13-01"}, "to"),
    ("analytics/usage", {"from": "2026-11-02", "to": "2026-11-01"}, "from"),
    ("analytics/usage", {"from": "2026-11-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "from"),
    ("analytics/usage", {"bucket": "hour", "from": "2020-01-01", "to": "2020-01-02"}, "from"),
    ("analytics/usage", {"api_key_id": "not-a-uuid"}, "api_key_id"),
    ("analytics/usage", {"status": "timeout"}, "status"),
    ("analytics/usage", {"model": ""}, "model"),
    ("analytics/usage", {"model": "m" * 201}, "model"),
    ("analytics/usage", {"colour": "red"}, "colour"),
    ("analytics/usage", {"bucket": "hour", "group_by": "key,app,model,provider,status",
                         "from": "2099-01-01", "to": "2099-02-01"}, None),  # fine: nothing there
    ("analytics/performance", {"window": "month"}, "window"),
    ("analytics/performance", {"group_by": "provider"}, "group_by"),
    ("analytics/performance", {"group_by": "key"}, "group_by"),
    ("analytics/performance", {"from": "2026-11-01"}, "from"),
    ("analytics/costs", {"group_by": "app"}, "group_by"),
    ("analytics/costs", {"from": "2026-11-05", "to": "2026-11-01"}, "from"),
    ("analytics/costs", {"to": "soon"}, "to"),
    ("analytics/costs", {"bucket": "day"}, "bucket"),
]


@pytest.mark.parametrize("path,params,param", BAD)
def test_bad_parameters_are_400_naming_them(client, path, params, param):
    if param is None:
        get(client, path, params)
        return
    body = get(client, path, params, status=400)
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["param"] == param, body
    assert param in body["error"]["message"]


def test_plus_sent_unencoded_is_read_as_plus(client):
    response = client.get(f"{API}/analytics/usage?bucket=hour&from=2030-01-01T10:00:00+02:00&to=2030-01-01T12:00:00Z",
                          headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["from"] == "2030-01-01T08:00:00Z"


@pytest.mark.parametrize("path", ["analytics/usage", "analytics/performance", "analytics/costs"])
def test_admin_token_required(client, path):
    assert client.get(f"{API}/{path}").status_code == 401
    assert client.get(f"{API}/{path}", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_views_never_refreshed_answer_503_and_health_is_empty(tmp_path):
    from minerva_core.analytics import load_model_health

    with scratch_database("minerva_analytics_empty") as url:
        engine = create_engine(url)
        try:
            migrate.upgrade(engine)
            with engine.connect() as conn:
                assert load_model_health(conn) == {}
            with TestClient(make_app(url, engine, tmp_path)) as client:
                for path in ("analytics/usage", "analytics/performance", "analytics/costs"):
                    body = get(client, path, status=503)
                    assert body["error"]["code"] == "analytics_not_ready"
                    assert "refresh" in body["error"]["message"]
        finally:
            engine.dispose()
