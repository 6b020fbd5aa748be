"""`minerva reconcile` through typer's CliRunner: reports written to --out, run stored."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import polars as pl
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from minerva_core.billing import generation_csv
from minerva_core.cli import reconcile_cmd
from tests.reconciliation import helpers

AT = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """minerva (test)"""

    reconcile_cmd.register(app)
    return app


def _setup(engine) -> None:
    with engine.begin() as conn:
        helpers.models(conn, [{"id": "openai/gpt-4o", "canonical_slug": "openai/gpt-4o-2024-05-13"}])
        key = helpers.api_key(conn, "cli-team")
        helpers.ledger(conn, [
            {"request_id": f"r{i}", "created_at": AT, "generation_id": f"gen-{i}", "api_key_id": key,
             "model_used": "openai/gpt-4o", "provider_name": "OpenAI", "prompt_tokens": 10, "completion_tokens": 5,
             "cost_usd": Decimal("0.000123"), "cost_estimated_usd": Decimal("0.000123")}
            for i in range(4)
        ])


def _bill(tmp_path, amounts: dict[str, str], name: str = "export.csv"):
    rows = [
        {"generation_id": gen, "created_at": AT, "cost_total": Decimal(amount), "tokens_prompt": 10,
         "tokens_completion": 5, "model_permaslug": "openai/gpt-4o-2024-05-13", "provider_name": "OpenAI <b>",
         "variant": "standard"}
        for gen, amount in amounts.items()
    ]
    path = tmp_path / name
    path.write_bytes(generation_csv(rows))
    return path


def test_cli_writes_csv_parquet_html_and_stores_the_run(engine, recon_env, tmp_path):
    _setup(engine)
    bill = _bill(tmp_path, {"gen-0": "0.000123", "gen-1": "0.010123", "gen-2": "0.000123", "gen-9": "0.5"})
    out = tmp_path / "reports"
    result = CliRunner().invoke(
        _app(), ["reconcile", "--bill", str(bill), "--from", "2026-11-01", "--to", "2026-11-02", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "imported (openrouter_csv, 4 lines)" in result.output
    assert "Amount mismatch" in result.output and "0.01" in result.output
    stem = "reconciliation_2026-11-01_2026-11-02"
    items = pl.read_csv(out / f"{stem}.csv", infer_schema=False)
    assert sorted(items["classification"].to_list()) == [
        "amount_mismatch", "matched", "matched", "missing_in_bill", "missing_in_ledger"]
    mismatch = items.filter(pl.col("classification") == "amount_mismatch").row(0, named=True)
    assert (mismatch["delta_usd"], mismatch["bill_amount_usd"], mismatch["ledger_amount_usd"]) == ("0.01", "0.010123", "0.000123")
    parquet = pl.read_parquet(out / f"{stem}.parquet")
    assert parquet["delta_usd"].sum() == Decimal("0.509877")  # 0.01 + 0.5 - 0.000123
    html = (out / f"{stem}.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert "OpenAI &lt;b&gt;" in html and "OpenAI <b>" not in html  # every value escaped
    assert "0.010123" in html and "Top discrepancies" in html
    with engine.connect() as conn:
        run = conn.execute(text("SELECT status, item_counts, period_from, period_to FROM reconciliation_runs")).one()
    assert run.status == "succeeded" and run.item_counts["amount_mismatch"] == 1
    assert (run.period_from.date().isoformat(), run.period_to.date().isoformat()) == ("2026-11-01", "2026-11-03")

    again = CliRunner().invoke(
        _app(), ["reconcile", "--bill", str(bill), "--from", "2026-11-01", "--to", "2026-11-02", "--out", str(out),
                 "--tolerance", "0.02"],
    )
    assert again.exit_code == 0, again.output
    assert "already imported" in again.output and "replaced 1 earlier run" in again.output
    with engine.connect() as conn:
        counts = conn.execute(text("SELECT item_counts FROM reconciliation_runs")).scalars().all()
    assert len(counts) == 1 and counts[0]["amount_mismatch"] == 0 and counts[0]["matched"] == 3


def test_cli_reports_a_bad_bill_without_a_traceback(engine, recon_env, tmp_path):
    bill = _bill(tmp_path, {"gen-0": "0.1"})
    bill.write_bytes(bill.read_bytes().replace(b"0.1,", b"0.1.2,"))
    result = CliRunner().invoke(
        _app(), ["reconcile", "--bill", str(bill), "--from", "2026-11-01", "--to", "2026-11-02", "--out", str(tmp_path)],
    )
    assert result.exit_code == 1
    assert "line 2, column 'cost_total'" in result.output and "Traceback" not in result.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM bill_imports")).scalar_one() == 0


def test_cli_rejects_a_bad_period(engine, recon_env, tmp_path):
    bill = _bill(tmp_path, {"gen-0": "0.1"})
    result = CliRunner().invoke(
        _app(), ["reconcile", "--bill", str(bill), "--from", "2026-11-05", "--to", "2026-11-02", "--out", str(tmp_path)],
    )
    assert result.exit_code == 1 and "before it starts" in result.output
