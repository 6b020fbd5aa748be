"""Materialized views (every `mv_*` view) and their refresh, plus ledger partition upkeep."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Connection, Engine, text

from minerva_core.errors import DatabaseError


@dataclass(frozen=True)
class RefreshOutcome:
    view: str
    duration_ms: int
    concurrently: bool
    error: str | None = None


REFRESH_WORK_MEM = "256MB"  # one refresh runs at a time: a few workers x this, on a 24 GiB machine
_VIEWS_SQL = text(
    "SELECT matviewname, ispopulated FROM pg_matviews "
    "WHERE schemaname = current_schema() AND matviewname LIKE 'mv\\_%' ORDER BY matviewname"
)
# (view, a materialized view it reads): its rewrite rule's dependencies on other views
_SOURCES_SQL = text(
    """
    SELECT DISTINCT v.relname AS view, s.relname AS source
      FROM pg_class v
      JOIN pg_rewrite r ON r.ev_class = v.oid
      JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                      AND d.refclassid = 'pg_class'::regclass
      JOIN pg_class s ON s.oid = d.refobjid
     WHERE v.relkind = 'm' AND s.relkind = 'm' AND s.oid <> v.oid
       AND v.relnamespace = current_schema()::regnamespace
    """
)


def dependency_order(names: list[str], sources: dict[str, set[str]]) -> list[str]:
    """``names`` with every view after the views it reads (ties by name). Pure. A cycle
    cannot exist between views; any name left over is appended in name order."""
    pending = sorted(names)
    done: list[str] = []
    placed: set[str] = set()
    while pending:
        ready = [n for n in pending if not (sources.get(n, set()) & set(pending)) - placed]
        if not ready:
            ready = pending
        first = ready[0]
        done.append(first)
        placed.add(first)
        pending.remove(first)
    return done


def materialized_views(conn: Connection) -> list[tuple[str, bool]]:
    """(name, populated) of every mv_* view, each after the views it reads (a view derived
    from another is refreshed after its source, in the same run), else in name order."""
    listed = {r.matviewname: r.ispopulated for r in conn.execute(_VIEWS_SQL)}
    sources: dict[str, set[str]] = {}
    for r in conn.execute(_SOURCES_SQL):
        sources.setdefault(r.view, set()).add(r.source)
    return [(name, listed[name]) for name in dependency_order(list(listed), sources)]


def refresh_view(engine: Engine, name: str, populated: bool) -> RefreshOutcome:
    """REFRESH … CONCURRENTLY when the view is populated (readers never block), else plainly;
    then ANALYZE it in the same transaction, so the planner sees the new rows' statistics
    at once (autovacuum would get to a materialized view late, if at all). The refresh's
    sorts and hashes get REFRESH_WORK_MEM (per worker), so rebuilding a view of hundreds of
    thousands of groups does not spill to disk."""
    if not name.startswith("mv_") or not name.replace("_", "").isalnum():
        raise DatabaseError(f"refusing to refresh {name!r}: not a Minerva materialized view")
    concurrently = populated
    statement = f'REFRESH MATERIALIZED VIEW {"CONCURRENTLY " if concurrently else ""}"{name}"'
    started = time.perf_counter()
    try:
        with engine.begin() as conn:
            conn.execute(text(f"SET LOCAL work_mem = '{REFRESH_WORK_MEM}'"))
            conn.execute(text(statement))
            conn.execute(text(f'ANALYZE "{name}"'))
    except Exception as exc:  # recorded per view; one broken view must not stop the others
        return RefreshOutcome(name, int((time.perf_counter() - started) * 1000), concurrently, f"{exc.__class__.__name__}: {exc}"[:1000])
    return RefreshOutcome(name, int((time.perf_counter() - started) * 1000), concurrently)


CATALOG_CHANNEL = "minerva_catalog"  # the proxy's LISTEN channel (proxy/gateway/reload.py)


def record_refreshes(conn: Connection, outcomes: list[RefreshOutcome], started_at: datetime, flow_run_id: str | None) -> None:
    """One materialized_view_refreshes row per outcome; when a view was refreshed, a NOTIFY
    on the proxy's channel (delivered at commit), so proxies re-read the health view now
    rather than at their next version poll."""
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
    if any(o.error is None for o in outcomes):
        conn.execute(text("SELECT pg_notify(:channel, 'materialized_view_refreshes')"), {"channel": CATALOG_CHANNEL})


FREEZE_AFTER_DAYS = 7  # a day this old is frozen: the cost backfill looks back 72 hours


def freeze_closed_days(conn: Connection, after_days: int = FREEZE_AFTER_DAYS) -> int:
    """Roll the UTC days older than ``after_days`` up into the frozen daily tables (see
    sql/20261128004200_frozen_daily_rollups.sql), so the next refresh of mv_usage_daily and
    mv_savings_daily reads only recent ledger rows. Returns the days frozen (-1: all history,
    the first time; 0: none). Call before refreshing the views, in its own transaction."""
    return int(conn.execute(
        text("SELECT freeze_daily_rollups((now() AT TIME ZONE 'UTC')::date - :days)"), {"days": after_days},
    ).scalar_one())


def thaw_daily_rollups(conn: Connection, since: date) -> bool:
    """Ledger rows written for days already frozen (an import of usage history) are seen
    by no daily view until those days are frozen again: drop the frozen rows from ``since``
    on and move the frozen boundary back, so the views read those days from the ledger and
    the next freeze rolls them up anew. True if anything was thawed. Run it in the
    transaction that wrote the rows."""
    moved = conn.execute(text(
        "UPDATE rollup_frozen SET through = :d, frozen_at = now() WHERE name = 'daily' AND through > :d "
        "RETURNING 1"), {"d": since}).first()  # row-locked until commit, as freezing locks it
    if moved is None:  # never frozen, or nothing frozen from that day on
        return False
    conn.execute(text("DELETE FROM usage_daily_frozen WHERE day >= :d"), {"d": since})
    conn.execute(text("DELETE FROM savings_daily_frozen WHERE day >= :d"), {"d": since})
    return True


def ensure_ledger_partitions(conn: Connection, now: datetime | None = None, months_ahead: int = 2) -> None:
    """Make sure usage_ledger has partitions for this month and the next ones."""
    now = now or datetime.now(timezone.utc)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(months_ahead + 1):
        conn.execute(text("SELECT ensure_usage_ledger_partition(:ts)"), {"ts": month})
        month = (month + timedelta(days=32)).replace(day=1)
