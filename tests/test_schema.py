"""The migrated schema on real PostgreSQL: tables, constraints, partitions, notifications.

Every test works in a transaction it rolls back, except the NOTIFY test, which must commit
(notifications are delivered on commit) and cleans up after itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from psycopg import errors as pg_errors
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from minerva_core.db.engine import libpq_url

# The fixed names of DESIGN.md, then the tables this schema adds beside them.
DESIGN_TABLES = [
    "platform_ai_providers",
    "platform_ai_credentials",
    "ai_models",
    "ai_model_prices",
    "model_sync_jobs",
    "routing_strategies",
    "routing_decisions",
    "api_keys",
    "usage_ledger",
    "bill_lines",
    "reconciliation_runs",
    "reconciliation_items",
    "alert_rules",
    "alert_events",
]
MORE_TABLES = [
    "ai_model_endpoints",
    "ai_model_endpoint_observations",
    "catalog_quarantine",
    "bill_imports",
    "reconciliation_run_imports",
    "feature_flags",
    "catalog_versions",
    "usage_ledger_default",
]


@pytest.fixture()
def conn(db_engine: Engine) -> Iterator[Connection]:
    with db_engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


def _model(conn: Connection, model_id: str | None = None) -> str:
    model_id = model_id or f"test/{uuid.uuid4().hex[:12]}"
    conn.execute(
        text("INSERT INTO ai_models (id, name, upstream_provider) VALUES (:id, :id, 'test')"),
        {"id": model_id},
    )
    return model_id


def _fails_with(conn: Connection, error: type[Exception], sql: str, params: dict | None = None):
    """Run sql in a savepoint; assert PostgreSQL refused it with this SQLSTATE class."""
    savepoint = conn.begin_nested()
    with pytest.raises(DBAPIError) as info:
        conn.execute(text(sql), params or {})
    savepoint.rollback()
    assert isinstance(info.value.orig, error), info.value.orig


# --- tables -----------------------------------------------------------------------------


@pytest.mark.parametrize("table", DESIGN_TABLES + MORE_TABLES)
def test_table_exists(conn, table):
    assert conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table}).scalar()


def test_provider_type_enum(conn):
    labels = conn.execute(text("SELECT enum_range(NULL::provider_type)::text[]")).scalar()
    assert labels == ["openai", "google", "anthropic", "openrouter", "custom"]


def test_design_columns_are_there(conn):
    expected = {
        "ai_models": {
            "id",
            "canonical_slug",
            "upstream_provider",
            "model_family",
            "context_length",
            "status",
            "first_seen_at",
            "last_seen_at",
        },
        "ai_model_prices": {"model_id", "valid_from", "valid_to", "prompt", "completion"},
        "usage_ledger": {
            "request_id",
            "generation_id",
            "api_key_id",
            "model_requested",
            "model_used",
            "provider_name",
            "prompt_tokens",
            "completion_tokens",
            "reasoning_tokens",
            "cached_tokens",
            "cost_usd",
            "cost_estimated_usd",
            "latency_ms",
            "ttft_ms",
            "status",
            "fallback_depth",
            "created_at",
        },
        "platform_ai_providers": {"type", "routing_config", "fallback_providers"},
        "platform_ai_credentials": {"ciphertext", "fingerprint"},
        "api_keys": {"key_hash"},
    }
    for table, columns in expected.items():
        have = set(
            conn.execute(
                text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
                {"t": table},
            ).scalars()
        )
        assert columns <= have, (table, columns - have)
    key_columns = set(
        conn.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_name = 'api_keys'")
        ).scalars()
    )
    assert not {"key", "secret", "api_key"} & key_columns


def test_builtin_strategies_and_one_default(conn):
    rows = conn.execute(
        text("SELECT alias, is_default FROM routing_strategies ORDER BY name")
    ).all()
    assert {"minerva/cheapest", "minerva/fastest", "minerva/balanced", "minerva/quality"} <= {
        r.alias for r in rows
    }
    assert sum(r.is_default for r in rows) == 1
    _fails_with(
        conn,
        pg_errors.UniqueViolation,
        "INSERT INTO routing_strategies (name, kind, is_default) VALUES ('x2', 'custom', true)",
    )


def test_strategy_version_rises_on_update(conn):
    before = conn.execute(
        text("SELECT version FROM routing_strategies WHERE name = 'cheapest'")
    ).scalar()
    conn.execute(
        text("UPDATE routing_strategies SET version = 1, description = 'd' WHERE name = 'cheapest'")
    )
    after = conn.execute(
        text("SELECT version FROM routing_strategies WHERE name = 'cheapest'")
    ).scalar()
    assert after == before + 1


# --- prices -----------------------------------------------------------------------------


def test_one_current_price_per_model_and_endpoint(conn):
    model = _model(conn)
    insert = (
        "INSERT INTO ai_model_prices (model_id, source, provider_name, endpoint_tag, prompt, "
        "completion, content_hash, valid_from) VALUES (:m, :src, :prov, :tag, 0.000001, 0.000002, "
        "'h', :vf)"
    )
    models_row = {"m": model, "src": "models", "prov": None, "tag": None, "vf": "2026-01-01T00:00Z"}
    conn.execute(text(insert), models_row)
    _fails_with(conn, pg_errors.UniqueViolation, insert, {**models_row, "vf": "2026-02-01T00:00Z"})

    # An endpoint's price is a different series: its current row may coexist.
    endpoint_row = {
        "m": model,
        "src": "endpoint",
        "prov": "DeepInfra",
        "tag": "deepinfra/fp8",
        "vf": "2026-01-01T00:00Z",
    }
    conn.execute(text(insert), endpoint_row)
    _fails_with(conn, pg_errors.UniqueViolation, insert, endpoint_row)

    # Closing the current row lets the next one in.
    conn.execute(
        text(
            "UPDATE ai_model_prices SET valid_to = '2026-02-01T00:00Z' "
            "WHERE model_id = :m AND endpoint_tag IS NULL"
        ),
        {"m": model},
    )
    conn.execute(text(insert), {**models_row, "vf": "2026-02-01T00:00Z"})
    current = conn.execute(
        text("SELECT count(*) FROM ai_model_prices WHERE model_id = :m AND valid_to IS NULL"),
        {"m": model},
    ).scalar()
    assert current == 2


def test_price_periods_and_values_are_checked(conn):
    model = _model(conn)
    base = (
        "INSERT INTO ai_model_prices (model_id, prompt, completion, content_hash, valid_from, valid_to, "
        "is_variable) VALUES (:m, :p, :c, 'h', :vf, :vt, :var)"
    )
    ok = {
        "m": model,
        "p": "0.000001",
        "c": "0.000002",
        "vf": "2026-01-02T00:00Z",
        "vt": None,
        "var": False,
    }
    check = pg_errors.CheckViolation
    _fails_with(conn, check, base, {**ok, "vt": "2026-01-02T00:00Z"})  # an empty period
    _fails_with(conn, check, base, {**ok, "vt": "2026-01-01T00:00Z"})  # a backwards period
    _fails_with(conn, check, base, {**ok, "p": "-1"})  # "-1" is never stored as a price
    _fails_with(conn, check, base, {**ok, "p": "NaN"})
    _fails_with(conn, check, base, {**ok, "p": None})  # a missing price, not a variable one
    conn.execute(text(base), {**ok, "p": None, "c": None, "var": True})  # a router: no price


def test_prices_keep_every_decimal(conn):
    model = _model(conn)
    price = "0.0000000208333333333333"  # 22 decimals, from a real snapshot
    conn.execute(
        text(
            "INSERT INTO ai_model_prices (model_id, prompt, completion, content_hash) "
            "VALUES (:m, :p, :p, 'h')"
        ),
        {"m": model, "p": Decimal(price)},
    )
    stored = conn.execute(
        text("SELECT prompt FROM ai_model_prices WHERE model_id = :m"), {"m": model}
    ).scalar()
    assert isinstance(stored, Decimal) and stored == Decimal(price) and format(stored, "f") == price


# --- CHECK constraints ------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO ai_models (id, name, upstream_provider, status) VALUES ('t/x', 'x', 't', 'retired')",
        "INSERT INTO ai_models (id, name, upstream_provider, status) VALUES ('t/y', 'y', 't', 'deprecated')",
        "INSERT INTO ai_models (id, name, upstream_provider, disabled_by_admin) VALUES ('t/z', 'z', 't', true)",
        "INSERT INTO model_sync_jobs (kind, status) VALUES ('discover', 'done')",
        "INSERT INTO model_sync_jobs (kind) VALUES ('everything')",
        (
            "INSERT INTO model_sync_jobs (kind, status, started_at, finished_at) "
            "VALUES ('pricing', 'failed', now(), now())"
        ),
        "INSERT INTO usage_ledger (request_id, status) VALUES ('r-bad', 'fine')",
        "INSERT INTO usage_ledger (request_id, status, prompt_tokens) VALUES ('r-neg', 'ok', -1)",
        "INSERT INTO usage_ledger (request_id, status, cost_usd) VALUES ('r-src', 'ok', 0.1)",
        (
            "INSERT INTO api_keys (name, key_hash, key_prefix, budget_usd, budget_period) "
            "VALUES ('k', 'h-week', 'mnv-ab', 10, 'week')"
        ),
        "INSERT INTO api_keys (name, key_hash, key_prefix, budget_usd) VALUES ('k', 'h-nop', 'mnv-ab', 10)",
        "INSERT INTO routing_strategies (name, kind) VALUES ('odd', 'random')",
        "INSERT INTO routing_strategies (name, kind, weights) VALUES ('neg', 'custom', '{\"cost\": -1}')",
        (
            "INSERT INTO reconciliation_runs (period_from, period_to, status) "
            "VALUES ('2026-01-01', '2026-02-01', 'partial')"
        ),
        "INSERT INTO reconciliation_runs (period_from, period_to) VALUES ('2026-02-01', '2026-01-01')",
        "INSERT INTO bill_imports (kind, content_sha256) VALUES ('email', repeat('a', 64))",
        "INSERT INTO alert_rules (name, metric, threshold, channel) VALUES ('r', 'spend_usd', 1, 'sms')",
        (
            "INSERT INTO platform_ai_providers (name, type, fallback_providers) "
            "VALUES ('loop', 'custom', '{loop}')"
        ),
        "INSERT INTO feature_flags (name, enabled) VALUES ('lower_case', true)",
    ],
)
def test_check_constraints_reject_bad_values(conn, sql):
    _fails_with(conn, pg_errors.CheckViolation, sql)


def test_bad_enum_value_is_rejected(conn):
    _fails_with(
        conn,
        pg_errors.InvalidTextRepresentation,
        "INSERT INTO platform_ai_providers (name, type) VALUES ('p-bad', 'azure')",
    )


def test_one_active_credential_per_provider(conn):
    pid = conn.execute(
        text(
            "INSERT INTO platform_ai_providers (name, type) VALUES ('p-creds', 'custom') "
            "RETURNING id"
        )
    ).scalar()
    insert = (
        "INSERT INTO platform_ai_credentials (provider_id, ciphertext, key_version, fingerprint) "
        "VALUES (:p, 'gAAAA', 'fp_0123456789abcdef', 'fp_fedcba9876543210')"
    )
    conn.execute(text(insert), {"p": pid})
    _fails_with(conn, pg_errors.UniqueViolation, insert, {"p": pid})
    conn.execute(
        text("UPDATE platform_ai_credentials SET revoked_at = now() WHERE provider_id = :p"),
        {"p": pid},
    )
    conn.execute(text(insert), {"p": pid})


def test_reconciliation_delta_is_generated(conn):
    run = conn.execute(
        text(
            "INSERT INTO reconciliation_runs (period_from, period_to) "
            "VALUES ('2026-01-01', '2026-02-01') RETURNING id"
        )
    ).scalar()
    conn.execute(
        text(
            "INSERT INTO reconciliation_items (run_id, classification, ledger_amount_usd, "
            "bill_amount_usd) VALUES (:r, 'amount_mismatch', 0.10, 0.125)"
        ),
        {"r": run},
    )
    delta = conn.execute(
        text("SELECT delta_usd FROM reconciliation_items WHERE run_id = :r"), {"r": run}
    ).scalar()
    assert delta == Decimal("0.025")


def test_sync_job_duration_is_generated(conn):
    duration = conn.execute(
        text(
            "INSERT INTO model_sync_jobs (kind, status, started_at, finished_at) VALUES "
            "('discover', 'succeeded', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01.5Z') RETURNING duration_ms"
        )
    ).scalar()
    assert duration == 1500


# --- the usage ledger's partitions ------------------------------------------------------


def _partition_of(conn: Connection, request_id: str) -> str:
    return conn.execute(
        text("SELECT tableoid::regclass::text FROM usage_ledger WHERE request_id = :r"),
        {"r": request_id},
    ).scalar()


def test_current_months_are_partitioned(conn):
    now_part = conn.execute(
        text("SELECT 'usage_ledger_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')")
    ).scalar()
    conn.execute(text("INSERT INTO usage_ledger (request_id, status) VALUES ('r-now', 'ok')"))
    assert _partition_of(conn, "r-now") == now_part


def test_partition_function_creates_month_and_moves_default_rows(conn):
    conn.execute(text("SET LOCAL TimeZone = 'America/New_York'"))  # bounds must still be UTC months
    rows = [
        ("r-in", "2031-03-01T00:00:00Z"),
        ("r-end", "2031-03-31T23:59:59.999Z"),
        ("r-next", "2031-04-01T00:00:00Z"),
    ]
    for rid, ts in rows:
        conn.execute(
            text("INSERT INTO usage_ledger (request_id, created_at, status) VALUES (:r, :t, 'ok')"),
            {"r": rid, "t": ts},
        )
    assert {_partition_of(conn, rid) for rid, _ in rows} == {"usage_ledger_default"}

    name = conn.execute(
        text("SELECT ensure_usage_ledger_partition('2031-03-15T12:00:00Z')")
    ).scalar()
    assert name == "usage_ledger_203103"
    assert _partition_of(conn, "r-in") == _partition_of(conn, "r-end") == "usage_ledger_203103"
    assert _partition_of(conn, "r-next") == "usage_ledger_default"
    # Idempotent, and the new month has the parent's indexes and key.
    assert conn.execute(text("SELECT ensure_usage_ledger_partition('2031-03-02')")).scalar() == name
    indexes = conn.execute(
        text("SELECT count(*) FROM pg_indexes WHERE tablename = 'usage_ledger_203103'")
    ).scalar()
    assert indexes >= 5
    _fails_with(
        conn,
        pg_errors.UniqueViolation,
        "INSERT INTO usage_ledger (request_id, created_at, status) "
        "VALUES ('r-in', '2031-03-01T00:00:00Z', 'ok')",
    )


# --- change notification ----------------------------------------------------------------


def _drain(listener: psycopg.Connection, timeout: float = 5.0) -> list[str]:
    payloads = []
    for note in listener.notifies(timeout=timeout, stop_after=20):
        assert note.channel == "minerva_catalog"
        payloads.append(note.payload)
        if timeout > 0.5:  # after the first, only collect what is already there
            timeout = 0.5
            break
    payloads += [n.payload for n in listener.notifies(timeout=0.3)]
    return payloads


def test_catalog_changes_are_notified(db_engine, db_url):
    model_id = f"test/notify-{uuid.uuid4().hex[:8]}"
    key_hash = f"hash-{uuid.uuid4().hex}"
    with psycopg.connect(libpq_url(db_url), autocommit=True) as listener:
        listener.execute("LISTEN minerva_catalog")
        with db_engine.connect() as conn:
            version_before = conn.execute(
                text("SELECT version FROM catalog_versions WHERE table_name = 'ai_models'")
            ).scalar()
        try:
            with db_engine.begin() as conn:
                _model(conn, model_id)
            assert "ai_models" in _drain(listener)
            with db_engine.connect() as conn:
                version_after = conn.execute(
                    text("SELECT version FROM catalog_versions WHERE table_name = 'ai_models'")
                ).scalar()
            assert version_after > version_before

            with db_engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO api_keys (name, key_hash, key_prefix) VALUES ('n', :h, 'mnv-1')"
                    ),
                    {"h": key_hash},
                )
            assert "api_keys" in _drain(listener)
            # The proxy touching last_used_at must not make every proxy reload its keys.
            with db_engine.begin() as conn:
                conn.execute(
                    text("UPDATE api_keys SET last_used_at = now() WHERE key_hash = :h"),
                    {"h": key_hash},
                )
            assert "api_keys" not in _drain(listener, timeout=0.5)
            with db_engine.begin() as conn:
                conn.execute(
                    text("UPDATE api_keys SET revoked_at = now() WHERE key_hash = :h"),
                    {"h": key_hash},
                )
            assert "api_keys" in _drain(listener)

            # Nothing is announced for a transaction that rolls back.
            with db_engine.connect() as conn, conn.begin() as tx:
                conn.execute(
                    text("UPDATE routing_strategies SET description = 'x' WHERE name = 'fastest'")
                )
                tx.rollback()
            assert "routing_strategies" not in _drain(listener, timeout=0.5)
        finally:
            with db_engine.begin() as conn:
                conn.execute(text("DELETE FROM ai_models WHERE id = :id"), {"id": model_id})
                conn.execute(text("DELETE FROM api_keys WHERE key_hash = :h"), {"h": key_hash})
