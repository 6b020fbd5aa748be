"""The migration admin API through a real app: thin handlers over minerva_core.migration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from minerva_core.migration.exposures import Exposure, record_exposures
from proxy.routes import migration as migration_routes
from tests.migration.support import ADMIN, API, client_for, ledger_row

M = f"{API}/migration"
FEATURE = {"name": "support-chat", "control_provider": "openai", "control_model": "gpt-4o",
           "treatment_model": "openai/gpt-4o", "app": "helpdesk",
           "guardrails": {"min_samples": 5, "error_rate": {"max": "0.5"}}, "experiment": {"min_samples_per_arm": 3}}


@pytest.fixture(scope="module")
def client(mig_db, tmp_path_factory):
    url, engine = mig_db
    with client_for(url, engine, tmp_path_factory.mktemp("home"), ENABLE_OPENROUTER_MIGRATION="true") as c:
        yield c


def test_feature_endpoints(client):
    created = client.post(f"{M}/features", json=FEATURE, headers={**ADMIN, "X-Minerva-Actor": "dana"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["status"], body["rollout_percent"], body["created_by"]) == ("registered", "0.00", "dana")
    assert client.post(f"{M}/features", json=FEATURE, headers=ADMIN).status_code == 409
    assert client.post(f"{M}/features", json={**FEATURE, "name": "Bad Name"}, headers=ADMIN).status_code == 400
    assert client.post(f"{M}/features", json={**FEATURE, "name": "x2", "typo": 1}, headers=ADMIN).status_code == 400

    assert [f["name"] for f in client.get(f"{M}/features", headers=ADMIN).json()["data"]] == ["support-chat"]
    assert client.get(f"{M}/features?status=paused", headers=ADMIN).json()["data"] == []
    assert client.get(f"{M}/features/nope", headers=ADMIN).json()["error"]["code"] == "feature_not_found"

    patched = client.patch(f"{M}/features/support-chat", json={"description": "helpdesk bot", "reason": "docs"},
                           headers=ADMIN)
    assert patched.json()["description"] == "helpdesk bot"

    out = client.post(f"{M}/features/support-chat/rollout", json={"percent": "12.5", "reason": "canary"}, headers=ADMIN)
    assert (out.json()["status"], out.json()["rollout_percent"]) == ("rolling_out", "12.50")
    assert client.post(f"{M}/features/support-chat/rollout", json={"percent": 101}, headers=ADMIN).status_code == 400
    assert client.post(f"{M}/features/support-chat/rollout", json={"percent": "1.234"}, headers=ADMIN).status_code == 400

    assignment = client.get(f"{M}/features/support-chat/assignment?user=user-1", headers=ADMIN).json()
    assert assignment == {"feature": "support-chat", "user": "user-1", "bucket": assignment["bucket"],
                          "rollout_percent": "12.50", "arm": "treatment" if assignment["bucket"] < 1250 else "control",
                          "provider": "openrouter" if assignment["bucket"] < 1250 else "openai",
                          "model": "openai/gpt-4o" if assignment["bucket"] < 1250 else "gpt-4o",
                          "status": "rolling_out", "reason": assignment["reason"]}
    assert client.get(f"{M}/features/support-chat/assignment", headers=ADMIN).status_code == 400

    assert client.post(f"{M}/features/support-chat/pause", headers=ADMIN).json()["status"] == "paused"
    refused = client.post(f"{M}/features/support-chat/rollout", json={"percent": 50}, headers=ADMIN)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "invalid_rollout_state")
    assert client.post(f"{M}/features/support-chat/resume", json={"reason": "back"}, headers=ADMIN).json()["status"] == "rolling_out"


def test_experiment_feedback_and_evaluation(client, engine):
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for i in range(6):
            for arm, latency, status in (("control", 1000 + i * 10, "ok"), ("treatment", 700 + i * 10, "ok")):
                rid = f"api-{arm}-{i}"
                record_exposures(conn, [Exposure(rid, "support-chat", arm, 0, 1250, created_at=now)])
                ledger_row(conn, rid, now, status=status, latency_ms=latency, ttft_ms=latency // 4)
    fb = client.post(f"{M}/feedback", json={"request_id": "api-treatment-0", "score": 4}, headers=ADMIN).json()
    assert fb == {"request_id": "api-treatment-0", "quality": "0.75", "feature": "support-chat", "arm": "treatment"}
    thumbs = client.post(f"{M}/feedback", json={"request_id": "elsewhere-1", "score": "down"}, headers=ADMIN).json()
    assert (thumbs["quality"], thumbs["feature"]) == ("0", None)
    assert client.post(f"{M}/feedback", json={"request_id": "x", "score": 6}, headers=ADMIN).status_code == 400

    report = client.get(f"{M}/experiments/support-chat", headers=ADMIN).json()
    assert report["arms"]["treatment"]["requests"] == 6 and report["arms"]["treatment"]["quality"]["n"] == 1
    latency = report["tests"]["latency_ms"]
    assert latency["test"] == "welch_t" and latency["p_value"] < 1e-6 and latency["significant"] is True
    assert latency["effect_size_kind"] == "cohen_d" and latency["difference"] == pytest.approx(-300)
    assert report["tests"]["quality"] is None  # one score: nothing to test
    assert report["verdict"] == {"status": "significant", "winner": "treatment",
                                 "reason": report["verdict"]["reason"]}
    assert report["guardrails"]["evaluated"] is True and report["guardrails"]["breached"] is False

    run = client.post(f"{M}/guardrails/evaluate", headers=ADMIN).json()
    assert [(o["feature"], o["rolled_back"]) for o in run["outcomes"]] == [("support-chat", False)]

    back = client.post(f"{M}/features/support-chat/rollback", json={"reason": "legal review"}, headers=ADMIN).json()
    assert (back["status"], back["rollout_percent"], back["status_reason"]) == ("rolled_back", "0.00", "legal review")
    assert client.post(f"{M}/features/support-chat/rollback", json={}, headers=ADMIN).status_code == 400


def test_audit_pages(client):
    first = client.get(f"{M}/audit?entity_type=feature&limit=3", headers=ADMIN).json()
    assert len(first["data"]) == 3 and first["next_before_id"] is not None
    assert first["data"][0]["action"] == "rollback" and first["data"][0]["reason"] == "legal review"
    rest = client.get(f"{M}/audit?entity_type=feature&limit=500&before_id={first['next_before_id']}", headers=ADMIN).json()
    actions = [e["action"] for e in first["data"] + rest["data"]]
    assert actions == ["rollback", "resume", "pause", "rollout", "update", "register"]
    assert rest["next_before_id"] is None
    assert client.get(f"{M}/audit?limit=0", headers=ADMIN).status_code == 400
    assert client.get(f"{M}/audit?entity_type=nope", headers=ADMIN).status_code == 400


def test_legacy_migrate_endpoint(client, engine):
    export = {"usage": [{"id": "api-u-1", "occurred_at": "2026-10-05T10:00:00Z", "provider_name": "openai",
                         "model": "gpt-4o", "cost_usd": "0.25"}]}
    first = client.post(f"{M}/legacy/migrate", json={"export": export}, headers=ADMIN).json()
    assert first["equal"] is True
    usage = next(t for t in first["tables"] if t["target"] == "usage_ledger")
    assert (usage["count_in"], usage["count_out"], usage["migrated_now"], usage["totals_out"]["cost_usd"]) == (1, 1, 1, "0.25")
    again = client.post(f"{M}/legacy/migrate", headers=ADMIN).json()
    assert again["equal"] and all(t["migrated_now"] == 0 for t in again["tables"])
    bad = client.post(f"{M}/legacy/migrate", json={"export": {"usage": [{"id": "z"}]}}, headers=ADMIN)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_legacy_export")


def test_disabled_migration_answers_503(mig_db, tmp_path):
    url, engine = mig_db
    with client_for(url, engine, tmp_path) as client:  # ENABLE_OPENROUTER_MIGRATION defaults to off
        response = client.get(f"{M}/features", headers=ADMIN)
        assert response.status_code == 503
        error = response.json()["error"]
        assert (error["code"], error["param"], error["type"]) == (
            "feature_disabled", "ENABLE_OPENROUTER_MIGRATION", "service_unavailable")
        # An override for this deployment switches it on without a restart.
        assert client.put(f"{API}/flags/migration", json={"enabled": True}, headers=ADMIN).status_code == 200
        assert client.get(f"{M}/features", headers=ADMIN).status_code == 200
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM feature_flags"))


ROUTES = sorted((method, route.path) for route in migration_routes.router.routes for method in route.methods)


@pytest.mark.parametrize("method,path", ROUTES)
def test_anonymous_is_refused(client, method, path):
    concrete = API + path.replace("{name}", "support-chat").replace("{feature}", "support-chat")
    response = client.request(method, concrete, json={})
    assert response.status_code == 401, (method, path)
    bad = client.request(method, concrete, json={}, headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401
