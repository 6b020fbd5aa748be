"""migrate_legacy: copy the staged legacy data into the platform tables, and prove it.

    with engine.begin() as conn:
        report = migrate_legacy(conn, "tables", keyring=keyring)   # or an export dict / Path

  legacy_provider_configs -> platform_ai_providers   one provider per distinct provider_name
                          -> platform_ai_credentials the plaintext api_key, encrypted (then
                                                     cleared in the staging row, which keeps
                                                     its fingerprint)
                          -> migration_features      one feature per config: control = the legacy
                                                     provider/model, treatment = openrouter with
                                                     the OpenRouter id of the same model
  legacy_usage            -> usage_ledger            request_id 'legacy:' || id, created_at =
                                                     occurred_at, app = feature, cost_source
                                                     'legacy_import' when there is a cost,
                                                     usage = {"legacy": {"id", "feature"}}

For each pair the report holds the count on both sides and checksums computed the same way
on both: an order-independent hash of the keys (the sum, as numeric, of the first 60 bits of
md5 of each key) and, for usage, the sums of cost and tokens. If any pair differs the whole
run is undone (a savepoint) and LegacyMigrationError carries the report. Re-running copies
nothing twice: every insert skips what is already there (and the report still proves it).
Existing providers are kept as they are (a note says so when the type differs).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from minerva_core.credentials import KeyRing, Secret, set_credential
from minerva_core.errors import InvalidParameterError, LegacyMigrationError
from minerva_core.migration import audit
from minerva_core.migration.legacy_export import load_export
from minerva_core.views import thaw_daily_rollups

USAGE_PREFIX = "legacy:"
_OPENROUTER_PREFIX = {"openai": "openai/", "anthropic": "anthropic/", "google": "google/"}
_HASH = "COALESCE(sum(('x' || substr(md5({key}), 1, 15))::bit(60)::bigint::numeric), 0)::text"


@dataclass(frozen=True)
class TableCheck:
    source: str
    target: str
    count_in: int
    count_out: int
    migrated_now: int
    checksum_in: str
    checksum_out: str
    totals_in: dict[str, str] = field(default_factory=dict)
    totals_out: dict[str, str] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return (self.count_in, self.checksum_in, self.totals_in) == (self.count_out, self.checksum_out, self.totals_out)


@dataclass(frozen=True)
class LegacyReport:
    tables: list[TableCheck]
    loaded: dict[str, dict[str, int]]
    notes: list[str]

    @property
    def equal(self) -> bool:
        return all(t.equal for t in self.tables)

    def as_dict(self) -> dict[str, Any]:
        return {"equal": self.equal, "loaded": self.loaded, "notes": self.notes,
                "tables": [{**asdict(t), "equal": t.equal} for t in self.tables]}


def openrouter_model(provider_type: str, model: str) -> str:
    """The OpenRouter id of a direct provider's model: gpt-4o on openai -> openai/gpt-4o."""
    prefix = _OPENROUTER_PREFIX.get(provider_type, "")
    return model if "/" in model or not prefix else prefix + model


def _one(conn: Connection, sql: str, **params: Any):
    return conn.execute(text(sql), params).one()


def _providers(conn: Connection, notes: list[str]) -> TableCheck:
    migrated = conn.execute(text(
        "INSERT INTO platform_ai_providers (name, type, base_url, routing_config, cost_config, fallback_providers) "
        "SELECT DISTINCT ON (provider_name) provider_name, provider_type, base_url, routing_config, cost_config, "
        "array_remove(fallback_providers, provider_name) FROM legacy_provider_configs ORDER BY provider_name, id "
        "ON CONFLICT (name) DO NOTHING")).rowcount
    for row in conn.execute(text(
        "SELECT DISTINCT l.provider_name, l.provider_type::text AS legacy, p.type::text AS platform "
        "FROM legacy_provider_configs l JOIN platform_ai_providers p ON p.name = l.provider_name "
        "WHERE p.type <> l.provider_type")):
        notes.append(f"provider {row.provider_name} kept as type {row.platform} (legacy says {row.legacy})")
    src = _one(conn, f"SELECT count(*) AS n, {_HASH.format(key='provider_name')} AS h "
                     "FROM (SELECT DISTINCT provider_name FROM legacy_provider_configs) s")
    dst = _one(conn, f"SELECT count(*) AS n, {_HASH.format(key='name')} AS h FROM platform_ai_providers "
                     "WHERE name IN (SELECT provider_name FROM legacy_provider_configs)")
    return TableCheck("legacy_provider_configs", "platform_ai_providers", src.n, dst.n, migrated, src.h, dst.h)


def _credentials(conn: Connection, keyring: KeyRing | Callable[[], KeyRing] | None, notes: list[str]) -> TableCheck:
    rows = conn.execute(text(
        "SELECT id, provider_name, api_key FROM legacy_provider_configs WHERE api_key IS NOT NULL ORDER BY id "
        "FOR UPDATE")).all()
    migrated = 0
    if rows and keyring is None:
        raise InvalidParameterError("the legacy configs hold API keys: a keyring (MINERVA_SECRET_KEYS) is needed "
                                    "to store them encrypted", code="keyring_required")
    ring = keyring() if callable(keyring) else keyring
    per_provider: dict[str, set[str]] = {}
    for row in rows:
        secret = Secret(row.api_key)
        per_provider.setdefault(row.provider_name, set()).add(secret.fingerprint)
        known = conn.execute(text(
            "SELECT 1 FROM platform_ai_credentials c JOIN platform_ai_providers p ON p.id = c.provider_id "
            "WHERE p.name = :p AND c.fingerprint = :fp"), {"p": row.provider_name, "fp": secret.fingerprint}).first()
        if known is None:
            set_credential(conn, row.provider_name, secret, keyring=ring)
            migrated += 1
        conn.execute(text("UPDATE legacy_provider_configs SET api_key = NULL, api_key_fingerprint = :fp WHERE id = :id"),
                     {"fp": secret.fingerprint, "id": row.id})
    for provider, fps in per_provider.items():
        if len(fps) > 1:
            notes.append(f"provider {provider}: {len(fps)} different legacy keys; the last (by config id) is active")
    pair = "provider_name || ':' || api_key_fingerprint"
    src = _one(conn, f"SELECT count(*) AS n, {_HASH.format(key='k')} AS h FROM (SELECT DISTINCT {pair} AS k "
                     "FROM legacy_provider_configs WHERE api_key_fingerprint IS NOT NULL) s")
    dst = _one(conn, f"SELECT count(*) AS n, {_HASH.format(key='k')} AS h FROM (SELECT DISTINCT p.name || ':' || "
                     "c.fingerprint AS k FROM platform_ai_credentials c JOIN platform_ai_providers p ON p.id = c.provider_id "
                     f"WHERE p.name || ':' || c.fingerprint IN (SELECT {pair} FROM legacy_provider_configs)) s")
    return TableCheck("legacy_provider_configs.api_key", "platform_ai_credentials", src.n, dst.n, migrated, src.h, dst.h)


def _features(conn: Connection, actor: str) -> TableCheck:
    configs = conn.execute(text(
        "SELECT l.feature, l.provider_name, l.provider_type::text AS ptype, l.model FROM legacy_provider_configs l "
        "WHERE NOT EXISTS (SELECT 1 FROM migration_features f WHERE f.name = l.feature) ORDER BY l.feature")).all()
    from minerva_core.migration.registry import register_feature

    for c in configs:
        register_feature(conn, name=c.feature, control_provider=c.provider_name, control_model=c.model,
                         treatment_model=openrouter_model(c.ptype, c.model), app=c.feature,
                         description="registered from the legacy configuration", actor=actor)
    src = _one(conn, f"SELECT count(*) AS n, {_HASH.format(key='feature')} AS h FROM legacy_provider_configs")
    dst = _one(conn, f"SELECT count(*) AS n, {_HASH.format(key='name')} AS h FROM migration_features "
                     "WHERE name IN (SELECT feature FROM legacy_provider_configs)")
    return TableCheck("legacy_provider_configs", "migration_features", src.n, dst.n, len(configs), src.h, dst.h)


_USAGE_TOTALS = ("COALESCE(sum(cost_usd), 0)::text AS cost_usd, COALESCE(sum(prompt_tokens), 0)::text AS prompt_tokens, "
                 "COALESCE(sum(completion_tokens), 0)::text AS completion_tokens, "
                 "count(cost_usd)::text AS priced_rows")


def _usage(conn: Connection) -> TableCheck:
    for (month,) in conn.execute(text(
            "SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM legacy_usage")):
        conn.execute(text("SELECT ensure_usage_ledger_partition(:m)"), {"m": month})
    migrated, first = conn.execute(text(
        "WITH inserted AS (INSERT INTO usage_ledger (request_id, created_at, app, model_requested, model_used, "
        "provider_name, prompt_tokens, completion_tokens, cost_usd, cost_source, latency_ms, ttft_ms, status, "
        "error_type, usage) "
        f"SELECT '{USAGE_PREFIX}' || id, occurred_at, feature, model, model, provider_name, prompt_tokens, "
        "completion_tokens, cost_usd, CASE WHEN cost_usd IS NULL THEN NULL ELSE 'legacy_import' END, latency_ms, "
        "ttft_ms, status, error_type, jsonb_build_object('legacy', jsonb_build_object('id', id, 'feature', feature)) "
        "FROM legacy_usage ORDER BY occurred_at ON CONFLICT (request_id, created_at) DO NOTHING "
        "RETURNING created_at) "
        "SELECT count(*), min(created_at AT TIME ZONE 'UTC')::date FROM inserted")).one()
    if migrated:  # history for days the daily rollups may have frozen already
        thaw_daily_rollups(conn, first)
    src = _one(conn, f"SELECT count(*) AS n, {_HASH.format(key='id')} AS h, {_USAGE_TOTALS} FROM legacy_usage")
    dst = _one(conn, f"SELECT count(*) AS n, {_HASH.format(key='substr(request_id, 8)')} AS h, {_USAGE_TOTALS} "
                     f"FROM usage_ledger WHERE request_id LIKE '{USAGE_PREFIX}%' "
                     "AND created_at >= (SELECT min(occurred_at) FROM legacy_usage) "
                     "AND created_at <= (SELECT max(occurred_at) FROM legacy_usage)")
    totals = ("cost_usd", "prompt_tokens", "completion_tokens", "priced_rows")
    return TableCheck("legacy_usage", "usage_ledger", src.n, dst.n, migrated, src.h, dst.h,
                      {k: getattr(src, k) for k in totals}, {k: getattr(dst, k) for k in totals})


def migrate_legacy(
    conn: Connection, source: str | dict | Path = "tables", *, keyring: KeyRing | Callable[[], KeyRing] | None = None,
    actor: str = "admin",
) -> LegacyReport:
    """Migrate the staged legacy data (``"tables"``), or first stage an export (a dict, or a
    Path to its JSON file). Runs in the caller's transaction; see the module docstring."""
    with conn.begin_nested():
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('minerva.migrate_legacy'))"))
        loaded: dict[str, dict[str, int]] = {}
        if isinstance(source, Path):
            source = json.loads(source.read_text(encoding="utf-8"))
        if isinstance(source, dict):
            loaded = load_export(conn, source)
        elif source != "tables":
            raise InvalidParameterError("source must be 'tables', an export object or a JSON file", param="source")
        notes: list[str] = []
        tables = [_providers(conn, notes), _credentials(conn, keyring, notes), _features(conn, actor), _usage(conn)]
        report = LegacyReport(tables, loaded, notes)
        if not report.equal:  # raising inside the block rolls the savepoint back
            bad = ", ".join(f"{t.source} -> {t.target}" for t in tables if not t.equal)
            raise LegacyMigrationError(f"legacy migration undone: source and target differ for {bad}",
                                       details={"report": report.as_dict()})
        audit.record(conn, actor=actor, entity_type="legacy", entity="legacy_migration", action="migrate",
                     after=report.as_dict())
    return report


__all__ = ["USAGE_PREFIX", "LegacyReport", "TableCheck", "migrate_legacy", "openrouter_model"]
