"""Load a period's ledger and bills into frames; store a run and its items.

Loading goes through ``COPY (SELECT ...) TO STDOUT`` as CSV, read by polars with exact
decimal columns: numeric text never passes through float, and a million rows load in
seconds. Amounts with more than 24 decimals (after trailing zeros are trimmed) are refused
first, since MONEY could not hold them exactly (see frames).

Which ledger rows count: those of [period.start, period.end) that reached the upstream, i.e.
have a generation_id or a recorded charge (a request refused before any upstream call is not
on any bill). Which bill lines: those of the given imports whose bill_date is in the period.

Day edges: the ledger's created_at is when the proxy received the request, the bill's time is
the upstream's; a request straddling midnight UTC at the very edge of a period can show as
missing on each side of two adjacent runs (inside a period, generation ids still pair it).

Storing: ``store_run`` deletes the previous run(s) of exactly this period, inserts the run,
its imports and its items (one COPY) in the caller's transaction.
"""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from typing import Any, Mapping, Sequence

import orjson
import polars as pl
from psycopg import sql
from sqlalchemy import Connection, text

from minerva_core.errors import ReconciliationInputError
from minerva_core.reconciliation.frames import (
    BILL_SCHEMA, LEDGER_SCHEMA, MODELS_SCHEMA, MONEY_SCALE, PRICES_SCHEMA, Period,
)
from minerva_core.reconciliation.report import items_for_text
from minerva_core.reconciliation.summary import Summary

_LEDGER_SQL = """
SELECT request_id, (created_at AT TIME ZONE 'UTC') AS created_at, generation_id,
       api_key_id::text AS api_key_id, model_used AS model, provider_name,
       prompt_tokens, completion_tokens, reasoning_tokens, cost_usd, cost_estimated_usd
  FROM usage_ledger
 WHERE created_at >= {start} AND created_at < {end}
   AND (generation_id IS NOT NULL OR cost_usd IS NOT NULL)
   AND cost_source IS DISTINCT FROM 'legacy_import'  -- direct-provider history, never on this bill
"""
_BILLS_SQL = """
SELECT bl.id AS bill_line_id, bl.import_id::text AS import_id, bi.kind, bl.line_no, bl.generation_id,
       bl.bill_date, bl.model, nullif(bl.raw ->> 'variant', '') AS variant, bl.provider_name,
       bl.endpoint, bl.amount_usd, bl.prompt_tokens, bl.completion_tokens, bl.reasoning_tokens,
       bl.requests
  FROM bill_lines bl JOIN bill_imports bi ON bi.id = bl.import_id
 WHERE bl.import_id = ANY({imports}) AND bl.bill_date >= {day_from} AND bl.bill_date <= {day_to}
"""
_PRICES_SQL = """
SELECT model_id, (valid_from AT TIME ZONE 'UTC') AS valid_from, (valid_to AT TIME ZONE 'UTC') AS valid_to,
       prompt, completion
  FROM ai_model_prices
 WHERE source = 'models' AND NOT is_variable AND valid_from < {end}
   AND (valid_to IS NULL OR valid_to > {start})
   AND scale(trim_scale(prompt)) <= {scale} AND scale(trim_scale(completion)) <= {scale}
"""


def _copy_out(conn: Connection, query: sql.Composable, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    cursor = conn.connection.driver_connection.cursor()
    buffer = io.BytesIO()
    statement = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(query)
    with cursor.copy(statement) as copy:
        for chunk in copy:
            buffer.write(chunk)
    if buffer.tell() == 0:
        return pl.DataFrame(schema=dict(schema))
    buffer.seek(0)
    return pl.read_csv(buffer, schema=dict(schema))


def _check_scale(conn: Connection, query: str, params: dict[str, Any], what: str) -> None:
    row = conn.execute(text(query), params).first()
    if row and row[0]:
        raise ReconciliationInputError(
            f"{row[0]} {what} amount(s) have more than {MONEY_SCALE} decimals (e.g. {row[1]}); "
            "they cannot be reconciled exactly"
        )


def load_ledger(conn: Connection, period: Period) -> pl.DataFrame:
    params = {"start": period.start, "end": period.end, "scale": MONEY_SCALE}
    _check_scale(conn, """
        SELECT count(*), min(coalesce(cost_usd, cost_estimated_usd)::text) FROM usage_ledger
         WHERE created_at >= :start AND created_at < :end
           AND (scale(trim_scale(cost_usd)) > :scale OR scale(trim_scale(cost_estimated_usd)) > :scale)
    """, params, "ledger")
    query = sql.SQL(_LEDGER_SQL).format(start=sql.Literal(period.start), end=sql.Literal(period.end))
    return _copy_out(conn, query, LEDGER_SCHEMA)


def load_bills(conn: Connection, period: Period, import_ids: Sequence[uuid.UUID | str]) -> pl.DataFrame:
    ids = [str(i) for i in import_ids]
    if not ids:
        return pl.DataFrame(schema=dict(BILL_SCHEMA))
    _check_scale(conn, """
        SELECT count(*), min(amount_usd::text) FROM bill_lines
         WHERE import_id = ANY(CAST(:ids AS uuid[])) AND scale(trim_scale(amount_usd)) > :scale
    """, {"ids": ids, "scale": MONEY_SCALE}, "bill")
    query = sql.SQL(_BILLS_SQL).format(
        imports=sql.SQL("{}::uuid[]").format(sql.Literal(ids)),
        day_from=sql.Literal(period.day_from), day_to=sql.Literal(period.day_to),
    )
    return _copy_out(conn, query, BILL_SCHEMA)


def load_models(conn: Connection) -> pl.DataFrame:
    query = sql.SQL("SELECT id, canonical_slug, variant FROM ai_models")
    return _copy_out(conn, query, MODELS_SCHEMA)


def load_prices(conn: Connection, period: Period) -> pl.DataFrame:
    query = sql.SQL(_PRICES_SQL).format(
        start=sql.Literal(period.start), end=sql.Literal(period.end), scale=sql.Literal(MONEY_SCALE)
    )
    return _copy_out(conn, query, PRICES_SCHEMA)


_ITEM_COLUMNS = (
    "run_id", "classification", "generation_id", "day", "model", "provider_name", "api_key_id",
    "ledger_request_id", "bill_line_id", "ledger_amount_usd", "bill_amount_usd", "implied_price", "details",
)
_DETAIL_COLUMNS = (
    "level", "estimated_usd", "estimated_price", "catalog_prompt_price", "catalog_completion_price",
    "ledger_tokens", "bill_tokens", "ledger_rows", "bill_lines", "amount_source", "bill_model",
    "model_mapping", "model_candidates", "duplicate_of",
)


def _items_csv(run_id: uuid.UUID, items: pl.DataFrame) -> bytes:
    textual = items_for_text(items)
    details = pl.struct([pl.col(c) for c in _DETAIL_COLUMNS]).struct.json_encode()
    return textual.select(
        pl.lit(str(run_id)).alias("run_id"), "classification", "generation_id", "day", "model",
        "provider_name", "api_key_id", "ledger_request_id", "bill_line_id", "ledger_amount_usd",
        "bill_amount_usd", "implied_price", details.alias("details"),
    ).write_csv(include_header=False).encode("utf-8")


def store_run(
    conn: Connection, *, run_id: uuid.UUID, period: Period, summary: Summary, items: pl.DataFrame,
    import_ids: Sequence[uuid.UUID], report_paths: Mapping[str, str], started_at: datetime,
    flow_run_id: uuid.UUID | str | None = None,
) -> int:
    """Replace the period's run(s) with this one; returns how many old runs were deleted."""
    deleted = conn.execute(
        text("DELETE FROM reconciliation_runs WHERE period_from = :start AND period_to = :end"),
        {"start": period.start, "end": period.end},
    ).rowcount
    conn.execute(
        text(
            "INSERT INTO reconciliation_runs (id, period_from, period_to, status, tolerance_usd, "
            "ledger_total_usd, ledger_estimated_usd, bill_total_usd, matched_total_usd, delta_usd, accuracy, "
            "item_counts, report_paths, flow_run_id, started_at, finished_at) VALUES (:id, :start, :end, "
            "'succeeded', :tol, :ledger, :estimated, :bill, :matched, :delta, :accuracy, CAST(:counts AS jsonb), "
            "CAST(:paths AS jsonb), :flow_run_id, :started_at, greatest(now(), :started_at))"
        ),
        {
            "id": run_id, "start": period.start, "end": period.end, "tol": summary.tolerance,
            "ledger": summary.ledger_total_usd, "estimated": summary.ledger_estimated_usd,
            "bill": summary.bill_total_usd, "matched": summary.matched_total_usd, "delta": summary.delta_usd,
            "accuracy": summary.accuracy, "counts": orjson.dumps(summary.counts).decode(),
            "paths": orjson.dumps(dict(report_paths)).decode(),
            "flow_run_id": str(flow_run_id) if flow_run_id else None, "started_at": started_at,
        },
    )
    for import_id in dict.fromkeys(import_ids):
        conn.execute(
            text("INSERT INTO reconciliation_run_imports (run_id, import_id) VALUES (:run, :imp)"),
            {"run": run_id, "imp": import_id},
        )
    if items.height:
        cursor = conn.connection.driver_connection.cursor()
        statement = f"COPY reconciliation_items ({', '.join(_ITEM_COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
        payload = _items_csv(run_id, items)
        with cursor.copy(statement) as copy:
            for start in range(0, len(payload), 1 << 20):
                copy.write(payload[start:start + (1 << 20)])
    return deleted


def record_failed_run(
    conn: Connection, *, run_id: uuid.UUID, period: Period, tolerance: Any, error: str,
    started_at: datetime, flow_run_id: uuid.UUID | str | None = None,
) -> None:
    """A failed attempt is kept for the record; it does not replace a good run of the period."""
    conn.execute(
        text(
            "INSERT INTO reconciliation_runs (id, period_from, period_to, status, tolerance_usd, error, "
            "flow_run_id, started_at, finished_at) VALUES (:id, :start, :end, 'failed', :tol, :error, "
            ":flow_run_id, :started_at, greatest(now(), :started_at)) ON CONFLICT (id) DO NOTHING"
        ),
        {
            "id": run_id, "start": period.start, "end": period.end, "tol": tolerance, "error": error[:4000],
            "flow_run_id": str(flow_run_id) if flow_run_id else None, "started_at": started_at,
        },
    )
