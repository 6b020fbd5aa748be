"""Materialized views (every `mv_*` view) and their refresh, plus ledger partition upkeep."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, Engine, text

from minerva_core.errors import DatabaseError


@dataclass(frozen=True)
class RefreshOutcome:
    view: str
    duration_ms: int
    concurrently: bool
    error: str | None = None


def materialized_views(conn: Connection) -> list[tuple[str, bool]]:
    """(name, populated) of every mv_* view in dependency-safe (name) order."""
    rows = conn.execute(
        text(
            "SELECT matviewname, ispopulated FROM pg_matviews "
            "WHERE schemaname = current_schema() AND matviewname LIKE 'mv\\_%' ORDER BY matviewname"
        )
    ).all()
    return [(r.matviewname, r.ispopulated) for r in rows]


def refresh_view(engine: Engine, name: str, populated: bool) -> RefreshOutcome:
    """REFRESH … CONCURRENTLY when the view is populated (readers never block), else plainly."""
    if not name.startswith("mv_") or not name.replace("_", "").isalnum():
        raise DatabaseError(f"refusing to refresh {name!r}: not a Minerva materialized view")
    concurrently = populated
    statement = f'REFRESH MATERIALIZED VIEW {"CONCURRENTLY " if concurrently else ""}"{name}"'
    started = time.perf_counter()
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    except Exception as exc:  # recorded per view; one broken view must not stop the others
        return RefreshOutcome(name, int((time.perf_counter() - started) * 1000), concurrently, f"{exc.__class__.__name__}: {exc}"[:1000])
    return RefreshOutcome(name, int((time.perf_counter() - started) * 1000), concurrently)


def record_refreshes(conn: Connection, outcomes: list[RefreshOutcome], started_at: datetime, flow_run_id: str | None) -> None:
    for outcome in outcomes:
        conn.execute(
            text(
                "INSERT INTO materialized_view_refreshes (view_name, started_at, duration_ms, ran_concurrently, status, error, flow_run_id) "
                "VALUES (:v, :s, :d, :c, :st, :e, :f)"
            ),
            {
                "v": outcome.view, "s": started_at, "d": outcome.duration_ms, "c": outcome.concurrently,
                "st": "failed" if outcome.error else "succeeded", "e": outcome.error, "f": flow_run_id,
            },
        )


def ensure_ledger_partitions(conn: Connection, now: datetime | None = None, months_ahead: int = 2) -> None:
    """Make sure usage_ledger has partitions for this month and the next ones."""
    now = now or datetime.now(timezone.utc)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(months_ahead + 1):
        conn.execute(text("SELECT ensure_usage_ledger_partition(:ts)"), {"ts": month})
        month = (month + timedelta(days=32)).replace(day=1)
