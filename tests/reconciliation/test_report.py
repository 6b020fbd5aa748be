"""Reports: exact money text, escaped HTML, markdown; and the pure packages stay pure."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal as D

import polars as pl

from minerva_core.reconciliation import bill_frame, ledger_frame, reconcile, summarise
from minerva_core.reconciliation.frames import MONEY, decimal_text, money_text_expr, trim_decimal
from minerva_core.reconciliation.html import render_html
from minerva_core.reconciliation.report import ReportContext, items_for_text, markdown_summary, write_items

NASTY = "<script>alert('x')</script> & \"quotes\" | pipe"


def _result():
    at = datetime(2026, 11, 2, 9)
    ledger = ledger_frame([
        {"request_id": "r1", "created_at": at, "generation_id": "g1", "api_key_id": "k", "model": NASTY,
         "provider_name": NASTY, "prompt_tokens": 3, "completion_tokens": 4, "cost_usd": D("0.000000000000000000000001"),
         "cost_estimated_usd": D("0.000000000000000000000001")},
        {"request_id": "r2", "created_at": at, "generation_id": "g2", "api_key_id": "k", "model": "m",
         "provider_name": "p", "prompt_tokens": 3, "completion_tokens": 4, "cost_usd": D("12"), "cost_estimated_usd": D("12")},
    ])
    bills = bill_frame([
        {"bill_line_id": 1, "import_id": "i", "kind": "openrouter_csv", "line_no": 1, "generation_id": "g1",
         "bill_date": date(2026, 11, 2), "model": NASTY, "variant": "standard", "provider_name": NASTY,
         "amount_usd": D("-0.5")},
        {"bill_line_id": 2, "import_id": "i", "kind": "openrouter_csv", "line_no": 2, "generation_id": "g2",
         "bill_date": date(2026, 11, 2), "model": "m", "variant": "standard", "provider_name": "p",
         "amount_usd": D("12.000001")},
    ])
    return reconcile(ledger, bills, tolerance="0.000001")


def _context():
    return ReportContext(run_id=str(uuid.uuid4()), period_label="2026-11-02 <b>", imports=(("a<b>.csv", "openrouter_csv", 2),),
                         generated_at=datetime(2026, 11, 3, tzinfo=timezone.utc))


def test_money_text_is_exact_and_plain():
    values = [D("0.000123"), D("12"), D("-0.5"), D(0), D("0.000000000000000000000001"), D("-12345678901234.5")]
    frame = pl.DataFrame({"v": values}, schema={"v": MONEY})
    assert frame.select(money_text_expr("v"))["v"].to_list() == [
        "0.000123", "12", "-0.5", "0", "0.000000000000000000000001", "-12345678901234.5"]
    assert [decimal_text(trim_decimal(v)) for v in values] == frame.select(money_text_expr("v"))["v"].to_list()
    assert decimal_text(D("1E-7")) == "0.0000001"


def test_items_csv_and_parquet(tmp_path):
    result = _result()
    paths = write_items(result.items, tmp_path, "items")
    text = pl.read_csv(paths["csv"], infer_schema=False)
    assert sorted(text["bill_amount_usd"].to_list()) == ["-0.5", "12.000001"]
    assert "e-" not in open(paths["csv"]).read().lower().replace("generation", "")
    typed = pl.read_parquet(paths["parquet"])
    assert typed.schema["bill_amount_usd"] == MONEY
    assert typed["ledger_amount_usd"].sum() == D("12.000000000000000000000001")
    assert items_for_text(result.items)["delta_usd"].to_list() == ["-0.500000000000000000000001", "0.000001"]


def test_html_escapes_every_value_and_is_self_contained():
    result = _result()
    page = render_html(summarise(result), result.items, _context())
    assert "<script>" not in page and "&lt;script&gt;" in page and "&amp; &quot;quotes&quot;" in page
    assert "2026-11-02 &lt;b&gt;" in page and "a&lt;b&gt;.csv" in page
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert "-0.500000000000000000000001" in page and "0.000000000000000000000001" in page


def test_markdown_summary_escapes_pipes():
    result = _result()
    text = markdown_summary(summarise(result), _context(), items=result.items)
    assert "| amount_mismatch | 1 |" in text and "pipe" in text and "\\| pipe" in text


def test_pure_packages_import_no_io_frameworks():
    code = (
        "import sys, minerva_core.billing, minerva_core.reconciliation, minerva_core.reconciliation.report,"
        " minerva_core.reconciliation.html;"
        "bad = [m for m in ('httpx', 'sqlalchemy', 'prefect', 'fastapi', 'psycopg') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
