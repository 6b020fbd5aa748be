"""feature_flags rows: read every override, set one, delete one. Each change is audited
(migration_audit, entity_type 'flag') in the same transaction; the table's trigger bumps
catalog_versions and NOTIFYs minerva_catalog, so every resolver reloads."""

from __future__ import annotations

from sqlalchemy import Connection, text

from minerva_core.flags.definitions import Override, check_deployment, flag_name
from minerva_core.migration import audit


def load_overrides(conn: Connection) -> dict[tuple[str, str], Override]:
    rows = conn.execute(
        text("SELECT name, deployment, enabled, note, updated_by, updated_at FROM feature_flags")
    )
    return {(r.name, r.deployment): Override(**r._mapping) for r in rows}


def _get(conn: Connection, name: str, deployment: str, *, lock: bool = False) -> Override | None:
    row = conn.execute(
        text(
            "SELECT name, deployment, enabled, note, updated_by, updated_at FROM feature_flags "
            "WHERE name = :name AND deployment = :deployment" + (" FOR UPDATE" if lock else "")
        ),
        {"name": name, "deployment": deployment},
    ).one_or_none()
    return None if row is None else Override(**row._mapping)


def set_override(
    conn: Connection, name: str, deployment: str, enabled: bool, *, actor: str, note: str | None = None
) -> Override:
    """Insert or replace the override of flag `name` (area or variable name) on `deployment`
    ('*' for every deployment)."""
    name, deployment = flag_name(name), check_deployment(deployment, allow_all=True)
    before = _get(conn, name, deployment, lock=True)
    row = conn.execute(
        text(
            "INSERT INTO feature_flags (name, deployment, enabled, note, updated_by) "
            "VALUES (:name, :deployment, :enabled, :note, :actor) "
            "ON CONFLICT (name, deployment) DO UPDATE SET enabled = EXCLUDED.enabled, "
            "note = EXCLUDED.note, updated_by = EXCLUDED.updated_by "
            "RETURNING name, deployment, enabled, note, updated_by, updated_at"
        ),
        {"name": name, "deployment": deployment, "enabled": enabled, "note": note, "actor": actor},
    ).one()
    after = Override(**row._mapping)
    audit.record(
        conn, actor=actor, entity_type="flag", entity=f"{name}@{deployment}", action="override_set",
        before=before.as_dict() if before else None, after=after.as_dict(), reason=note,
    )
    return after


def delete_override(
    conn: Connection, name: str, deployment: str, *, actor: str, reason: str | None = None
) -> Override | None:
    """Remove the override (the flag falls back to '*' or the environment); the removed row,
    or None when there was none (nothing is audited then)."""
    name, deployment = flag_name(name), check_deployment(deployment, allow_all=True)
    before = _get(conn, name, deployment, lock=True)
    if before is None:
        return None
    conn.execute(
        text("DELETE FROM feature_flags WHERE name = :name AND deployment = :deployment"),
        {"name": name, "deployment": deployment},
    )
    audit.record(
        conn, actor=actor, entity_type="flag", entity=f"{name}@{deployment}", action="override_deleted",
        before=before.as_dict(), after=None, reason=reason,
    )
    return before


__all__ = ["delete_override", "load_overrides", "set_override"]
