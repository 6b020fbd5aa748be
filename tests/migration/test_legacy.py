"""The legacy migration: counts and checksums equal on both sides, nothing lost, nothing twice."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from minerva_core.credentials import KeyRing, fingerprint, get_credential
from minerva_core.errors import InvalidParameterError, LegacyExportError, LegacyMigrationError
from minerva_core.migration.legacy import migrate_legacy
from tests.migration.support import SECRET_KEY

KEY = "sk-legacy-" + "x" * 24
EXPORT = {
    "provider_configs": [
        {"id": "cfg-1", "feature": "support-chat", "provider_name": "openai", "provider_type": "openai",
         "model": "gpt-4o", "base_url": "https://api.openai.com/v1", "api_key": KEY,
         "cost_config": {"monthly_limit_usd": "900"}, "fallback_providers": ["openai", "anthropic"]},
        {"id": "cfg-2", "feature": "summaries", "provider_name": "anthropic", "provider_type": "anthropic",
         "model": "claude-3-5-sonnet"},
    ],
    "usage": [
        {"id": "u-1", "occurred_at": "2026-09-30T23:59:59Z", "feature": "support-chat", "provider_name": "openai",
         "model": "gpt-4o", "prompt_tokens": 120, "completion_tokens": 40, "cost_usd": "0.0007", "latency_ms": 900,
         "ttft_ms": 300},
        {"id": "u-2", "occurred_at": "2026-10-01T00:00:00Z", "feature": "support-chat", "provider_name": "openai",
         "model": "gpt-4o", "prompt_tokens": 10, "completion_tokens": 0, "status": "error", "error_type": "timeout"},
        {"id": "u-3", "occurred_at": "2026-10-02T08:30:00+02:00", "feature": "summaries", "provider_name": "anthropic",
         "model": "claude-3-5-sonnet", "prompt_tokens": 2000, "completion_tokens": 300,
         "cost_usd": "0.0105000000000000000001"},
        {"id": "u-4", "occurred_at": "2025-01-15T12:00:00Z", "provider_name": "openai", "model": "gpt-3.5-turbo",
         "prompt_tokens": 5, "completion_tokens": 5, "cost_usd": 0},
    ],
}


@pytest.fixture(scope="module")
def keyring() -> KeyRing:
    return KeyRing([SECRET_KEY])


def _table(report, target: str):
    return next(t for t in report.tables if t.target == target)


def test_migrates_with_equal_counts_and_checksums_then_nothing_twice(engine, keyring):
    with engine.begin() as conn:
        first = migrate_legacy(conn, copy.deepcopy(EXPORT), keyring=keyring, actor="migrator")
    assert first.equal, first.as_dict()
    assert first.loaded == {"legacy_provider_configs": {"loaded": 2, "already_loaded": 0},
                            "legacy_usage": {"loaded": 4, "already_loaded": 0}}
    usage = _table(first, "usage_ledger")
    assert (usage.count_in, usage.count_out, usage.migrated_now) == (4, 4, 4)
    assert usage.checksum_in == usage.checksum_out
    assert usage.totals_in == usage.totals_out == {
        "cost_usd": "0.0112000000000000000001", "prompt_tokens": "2135", "completion_tokens": "345", "priced_rows": "3"}
    assert [(t.target, t.count_in, t.count_out, t.migrated_now) for t in first.tables] == [
        ("platform_ai_providers", 2, 2, 2), ("platform_ai_credentials", 1, 1, 1),
        ("migration_features", 2, 2, 2), ("usage_ledger", 4, 4, 4)]

    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT request_id, created_at, app, provider_name, model_used, cost_usd, cost_source, status, "
            "usage->'legacy'->>'id' AS legacy_id FROM usage_ledger WHERE request_id LIKE 'legacy:%' ORDER BY request_id")).all()
        assert [(r.request_id, r.cost_source, r.status, r.legacy_id) for r in rows] == [
            ("legacy:u-1", "legacy_import", "ok", "u-1"), ("legacy:u-2", None, "error", "u-2"),
            ("legacy:u-3", "legacy_import", "ok", "u-3"), ("legacy:u-4", "legacy_import", "ok", "u-4")]
        assert rows[2].cost_usd == Decimal("0.0105000000000000000001")  # exact, 22 decimals
        # Each row sits in its month's partition (created for 2025-01 on the way), not the default one.
        assert conn.execute(text("SELECT count(*) FROM usage_ledger_default")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM usage_ledger_202501")).scalar() == 1
        provider = conn.execute(text("SELECT type::text, base_url, cost_config, fallback_providers "
                                     "FROM platform_ai_providers WHERE name = 'openai'")).one()
        assert tuple(provider) == ("openai", "https://api.openai.com/v1", {"monthly_limit_usd": "900"}, ["anthropic"])
        assert get_credential(conn, "openai", keyring=keyring).reveal() == KEY
        staged = conn.execute(text("SELECT api_key, api_key_fingerprint FROM legacy_provider_configs WHERE id = 'cfg-1'")).one()
        assert tuple(staged) == (None, fingerprint(KEY))  # the plaintext is gone from staging
        features = conn.execute(text("SELECT name, control_provider, control_model, treatment_model, status "
                                     "FROM migration_features ORDER BY name")).all()
        assert [tuple(f) for f in features] == [
            ("summaries", "anthropic", "claude-3-5-sonnet", "anthropic/claude-3-5-sonnet", "registered"),
            ("support-chat", "openai", "gpt-4o", "openai/gpt-4o", "registered")]
        audit = conn.execute(text("SELECT actor, (after->>'equal')::boolean FROM migration_audit "
                                  "WHERE entity_type = 'legacy'")).all()
        assert [tuple(a) for a in audit] == [("migrator", True)]

    # Re-run, from the tables and with the same export again: nothing is copied twice.
    for source in ("tables", copy.deepcopy(EXPORT)):
        with engine.begin() as conn:
            again = migrate_legacy(conn, source, keyring=keyring)
        assert again.equal and [t.migrated_now for t in again.tables] == [0, 0, 0, 0]
        assert [(t.checksum_in, t.checksum_out) for t in again.tables] == [(t.checksum_in, t.checksum_out) for t in first.tables]
    assert again.loaded["legacy_usage"] == {"loaded": 0, "already_loaded": 4}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM usage_ledger WHERE request_id LIKE 'legacy:%'")).scalar() == 4
        assert conn.execute(text("SELECT count(*) FROM platform_ai_credentials")).scalar() == 1

    # New history loaded later is migrated on the next run, and only it.
    with engine.begin() as conn:
        later = migrate_legacy(conn, {"usage": [{"id": "u-5", "occurred_at": "2026-10-03T00:00:00Z",
                                                 "provider_name": "openai", "model": "gpt-4o", "cost_usd": "1"}]})
    assert _table(later, "usage_ledger").migrated_now == 1 and _table(later, "usage_ledger").count_out == 5


def test_a_mismatch_undoes_the_run(engine, keyring):
    with engine.begin() as conn:  # a stray row that claims to be legacy history, with no source
        conn.execute(text("INSERT INTO usage_ledger (request_id, created_at, status) "
                          "VALUES ('legacy:ghost', '2026-10-01T12:00:00Z', 'ok')"))
    with pytest.raises(LegacyMigrationError) as info:
        with engine.begin() as conn:
            migrate_legacy(conn, {"usage": [{"id": "u-6", "occurred_at": "2026-10-04T00:00:00Z",
                                             "provider_name": "openai", "model": "gpt-4o"}]}, keyring=keyring)
    report = info.value.details["report"]
    usage = next(t for t in report["tables"] if t["target"] == "usage_ledger")
    assert (usage["count_in"], usage["count_out"], usage["equal"], report["equal"]) == (6, 7, False, False)
    assert info.value.status_code == 409 and info.value.code == "legacy_mismatch"
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM legacy_usage WHERE id = 'u-6'")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM usage_ledger WHERE request_id = 'legacy:u-6'")).scalar() == 0
        conn.execute(text("DELETE FROM usage_ledger WHERE request_id = 'legacy:ghost'"))


def test_export_is_validated_before_anything_is_written(engine):
    bad = copy.deepcopy(EXPORT)
    bad["usage"][2]["cost_usd"] = 0.0105  # a float: not exact
    with pytest.raises(LegacyExportError) as info:
        with engine.begin() as conn:
            migrate_legacy(conn, bad)
    assert info.value.message.startswith("usage[2].cost_usd: must be a decimal string")
    for mutate, where in (
        (lambda e: e["usage"][0].update(occurred_at="2026-09-30T23:59:59"), "usage[0].occurred_at"),
        (lambda e: e["provider_configs"][1].update(provider_type="azure"), "provider_configs[1].provider_type"),
        (lambda e: e["usage"][1].update(status="ok"), "usage[1].error_type"),
        (lambda e: e["usage"].append(dict(e["usage"][0])), "usage: ids must be unique"),
    ):
        broken = copy.deepcopy(EXPORT)
        mutate(broken)
        with pytest.raises(LegacyExportError) as info:
            with engine.begin() as conn:
                migrate_legacy(conn, broken)
        assert info.value.message.startswith(where), info.value.message


def test_plaintext_keys_need_a_keyring(engine, tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"provider_configs": [
        {"id": "cfg-9", "feature": "drafts", "provider_name": "mistral", "provider_type": "custom",
         "model": "mistral-large", "api_key": "sk-other"}]}))
    with pytest.raises(InvalidParameterError) as info:
        with engine.begin() as conn:
            migrate_legacy(conn, path)
    assert info.value.code == "keyring_required"
    with engine.connect() as conn:  # undone: not even staged
        assert conn.execute(text("SELECT count(*) FROM legacy_provider_configs WHERE id = 'cfg-9'")).scalar() == 0


def test_history_for_frozen_days_is_thawed_and_frozen_again(engine):
    """Imported usage for days the daily rollups froze already reaches them: the frozen
    boundary moves back to its first day, and the next freeze rolls those days up anew."""
    from minerva_core import views

    with engine.begin() as conn:
        views.freeze_closed_days(conn)
        kept_before = conn.execute(text("SELECT count(*) FROM usage_daily_frozen WHERE day < '2025-06-01'")).scalar()
        migrate_legacy(conn, {"usage": [{"id": "u-thaw", "occurred_at": "2025-06-01T12:00:00Z",
                                         "provider_name": "openai", "model": "gpt-4o", "cost_usd": "2.5"}]})
        assert conn.execute(text("SELECT through FROM rollup_frozen")).scalar() == date(2025, 6, 1)
        assert conn.execute(text("SELECT count(*) FROM usage_daily_frozen WHERE day >= '2025-06-01'")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM usage_daily_frozen")).scalar() == kept_before
    with engine.begin() as conn:
        assert views.freeze_closed_days(conn) > 0
        spend = conn.execute(text("SELECT sum(spend_usd) FROM usage_daily_frozen WHERE day = '2025-06-01'")).scalar()
        saved = conn.execute(text("SELECT sum(actual_usd) FROM savings_daily_frozen WHERE day = '2025-06-01'")).scalar()
    assert spend == saved == Decimal("2.5")


def test_db_thaw_rollups_command(engine, monkeypatch):
    from typer.testing import CliRunner

    from minerva_core.cli import app
    from minerva_core import views

    monkeypatch.setenv("MINERVA_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        views.freeze_closed_days(conn)
    runner = CliRunner()
    done = runner.invoke(app, ["db", "thaw-rollups", "--since", "2025-03-01"])
    assert done.exit_code == 0 and "thawed from 2025-03-01" in done.output, done.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT through FROM rollup_frozen")).scalar() == date(2025, 3, 1)
    again = runner.invoke(app, ["db", "thaw-rollups", "--since", "2025-04-01"])
    assert again.exit_code == 0 and "nothing to do" in again.output
    bad = runner.invoke(app, ["db", "thaw-rollups", "--since", "March"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
