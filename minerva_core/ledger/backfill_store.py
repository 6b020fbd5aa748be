"""The SQL side of the cost backfill (see ``backfill`` for the pure side).

* ``select_pending``: rows with cost_usd NULL and a generation id, created inside the lookback
  window, oldest first, at most ``limit`` (served by the partial index
  ``usage_ledger_cost_pending``);
* ``write_charges``: cost_usd, cost_source ``generation_api``, cost_updated_at, the missing
  token counts, only where cost_usd is still NULL: idempotent, and a charge that arrived
  meanwhile (the proxy's, or another run's) is never overwritten;
* ``report_missing``: rows past the lookback that never got a charge, counted every run, and
  one ``ledger.cost_missing`` system alert per batch of newly-missing rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import Connection, text

from minerva_core.alerts_system import raise_system_alert
from minerva_core.ledger.backfill import (
    ALERT_KIND,
    COST_SOURCE,
    TOKEN_FIELDS,
    ChargeUpdate,
    PendingRow,
)

# -- SQL ----------------------------------------------------------------------------------

_TOKEN_COLUMNS = ", ".join(column for column, _ in TOKEN_FIELDS)
_SELECT_PENDING = text(
    f"""
    SELECT request_id, created_at, generation_id, {_TOKEN_COLUMNS}
      FROM usage_ledger
     WHERE cost_usd IS NULL AND generation_id IS NOT NULL AND created_at >= :since
     ORDER BY created_at, request_id
     LIMIT :limit
    """
)
_FILL = ",\n           ".join(
    f"{c} = CASE WHEN {c} = 0 THEN coalesce(CAST(:{c} AS integer), 0) ELSE {c} END"
    for c, _ in TOKEN_FIELDS
)
_WRITE_CHARGE = text(
    f"""
    UPDATE usage_ledger
       SET cost_usd = :cost_usd, cost_source = '{COST_SOURCE}', cost_updated_at = now(),
           is_byok = coalesce(is_byok, CAST(:is_byok AS boolean)),
           {_FILL}
     WHERE request_id = :request_id AND created_at = :created_at AND cost_usd IS NULL
    """
)
_MISSING = text(
    """
    SELECT count(*) AS n, min(created_at) AS oldest, max(created_at) AS newest
      FROM usage_ledger
     WHERE cost_usd IS NULL AND generation_id IS NOT NULL AND created_at < :cutoff
       AND created_at > coalesce(CAST(:after AS timestamptz), '-infinity')
    """
)
_MISSING_SAMPLE = text(
    """
    SELECT request_id, generation_id, created_at FROM usage_ledger
     WHERE cost_usd IS NULL AND generation_id IS NOT NULL AND created_at < :cutoff
       AND created_at > coalesce(CAST(:after AS timestamptz), '-infinity')
     ORDER BY created_at, request_id LIMIT 20
    """
)
_LAST_REPORTED = text(
    f"""
    SELECT max(CAST(payload->>'through' AS timestamptz)) FROM alert_events
     WHERE source = 'system' AND kind = '{ALERT_KIND}'
    """
)


def select_pending(conn: Connection, *, since: datetime, limit: int) -> list[PendingRow]:
    """Rows without a charge but with a generation id, created since ``since``, oldest first."""
    rows = conn.execute(_SELECT_PENDING, {"since": since, "limit": limit}).all()
    return [
        PendingRow(r.request_id, r.created_at, r.generation_id,
                   {column: getattr(r, column) for column, _ in TOKEN_FIELDS})
        for r in rows
    ]


def write_charges(conn: Connection, updates: Sequence[ChargeUpdate]) -> int:
    """Write each charge where cost_usd is still NULL; the number of rows written."""
    written = 0
    for u in updates:
        params = {column: u.token_fill.get(column) for column, _ in TOKEN_FIELDS}
        result = conn.execute(_WRITE_CHARGE, {
            **params, "cost_usd": u.cost_usd, "is_byok": u.is_byok,
            "request_id": u.request_id, "created_at": u.created_at,
        })
        written += result.rowcount
    return written


@dataclass(frozen=True, slots=True)
class MissingReport:
    total: int  # every row past the lookback still without a charge
    newly_missing: int  # those not in an earlier alert
    alert_id: int | None


def report_missing(conn: Connection, *, cutoff: datetime, lookback: timedelta) -> MissingReport:
    """Count rows created before ``cutoff`` (now - lookback) that still have no charge, and
    raise one ``ledger.cost_missing`` system alert for those no earlier alert covered (each
    alert's payload ``through`` is the newest created_at it reported)."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": ALERT_KIND})
    total = conn.execute(_MISSING, {"cutoff": cutoff, "after": None}).one().n
    after = conn.execute(_LAST_REPORTED).scalar()
    fresh = conn.execute(_MISSING, {"cutoff": cutoff, "after": after}).one()
    if not fresh.n:
        return MissingReport(total, 0, None)
    sample = conn.execute(_MISSING_SAMPLE, {"cutoff": cutoff, "after": after}).all()
    hours = lookback.total_seconds() / 3600
    alert_id = raise_system_alert(
        conn,
        kind=ALERT_KIND,
        severity="warning",
        message=(
            f"{fresh.n} ledger row(s) created {fresh.oldest.isoformat()} .. {fresh.newest.isoformat()} "
            f"still have no upstream charge after {hours:g} h: /generation never returned their "
            f"generation ids ({total} such row(s) in all)"
        ),
        fingerprint=f"{ALERT_KIND}:{fresh.newest.isoformat()}",
        payload={
            "count": fresh.n, "total_missing": total, "lookback_hours": hours,
            "oldest": fresh.oldest.isoformat(), "through": fresh.newest.isoformat(),
            "sample": [{"request_id": r.request_id, "generation_id": r.generation_id,
                        "created_at": r.created_at.isoformat()} for r in sample],
        },
    )
    return MissingReport(total, fresh.n, alert_id)


__all__ = ["MissingReport", "report_missing", "select_pending", "write_charges"]
