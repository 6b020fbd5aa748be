"""Importing bills into PostgreSQL: whole or nothing, idempotent on the file's sha256."""

from __future__ import annotations

import threading
from decimal import Decimal, localcontext

import pytest
from sqlalchemy import text

from minerva_core.billing import generation_csv
from minerva_core.billing.store import import_bill_bytes, import_bill_file
from minerva_core.errors import BillFormatError
from tests.reconciliation.test_bill_parsers import ACTIVITY, _row

INVOICE = b"date,provider,model,quantity,amount\n2026-11-01,openai,openai/gpt-4o,1000,1.25\n2026-11-01,openai,openai/gpt-4o,10,-0.05\n"


def _counts(conn) -> tuple[int, int]:
    return (
        conn.execute(text("SELECT count(*) FROM bill_imports")).scalar_one(),
        conn.execute(text("SELECT count(*) FROM bill_lines")).scalar_one(),
    )


@pytest.mark.parametrize(
    ("content", "kind", "lines", "total"),
    [
        (ACTIVITY, "activity_api", 2, Decimal("0.1150000000000000055511151231257827")),
        (generation_csv([_row(generation_id=f"gen-{i}") for i in range(3)]), "openrouter_csv", 3, Decimal("0.002673")),
        (INVOICE, "provider_invoice", 2, Decimal("1.20")),
    ],
)
def test_each_importer_writes_its_lines_exactly(engine, tmp_path, content, kind, lines, total):
    path = tmp_path / "bill.dat"
    path.write_bytes(content)
    imported = import_bill_file(engine, path)
    assert (imported.kind, imported.row_count, imported.created) == (kind, lines, True)
    assert imported.total_amount_usd == total
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT line_no, amount_usd, raw FROM bill_lines WHERE import_id = :id ORDER BY line_no"),
            {"id": imported.id},
        ).all()
        assert [r.line_no for r in stored] == list(range(1, lines + 1))
        with localcontext(prec=100):
            assert sum(r.amount_usd for r in stored) == total
        head = conn.execute(
            text("SELECT file_name, content_sha256, period_from, period_to FROM bill_imports WHERE id = :id"),
            {"id": imported.id},
        ).one()
        assert head.file_name == "bill.dat" and len(head.content_sha256) == 64
        assert head.period_from is not None and head.period_to >= head.period_from


def test_the_activity_usage_digits_survive_into_numeric(engine):
    imported = import_bill_bytes(engine, ACTIVITY, file_name="a.json")
    with engine.connect() as conn:
        amount = conn.execute(
            text("SELECT amount_usd::text FROM bill_lines WHERE import_id = :id AND line_no = 1"), {"id": imported.id}
        ).scalar_one()
    assert amount == "0.1000000000000000055511151231257827"


def test_same_file_twice_is_one_import(engine):
    content = generation_csv([_row()])
    first = import_bill_bytes(engine, content, file_name="a.csv")
    second = import_bill_bytes(engine, content, file_name="renamed.csv")
    assert first.created and not second.created
    assert second.id == first.id and second.file_name == "a.csv"
    with engine.connect() as conn:
        assert _counts(conn) == (1, 1)


def test_concurrent_imports_of_the_same_file_leave_one(engine):
    content = generation_csv([_row(generation_id=f"gen-{i}") for i in range(50)])
    results, errors = [], []

    def run():
        try:
            results.append(import_bill_bytes(engine, content, file_name="race.csv"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.id for r in results}) == 1 and sum(r.created for r in results) == 1
    with engine.connect() as conn:
        assert _counts(conn) == (1, 50)


def test_a_bad_line_writes_nothing_and_names_the_line(engine):
    rows = [_row(generation_id=f"gen-{i}") for i in range(500)]
    rows[400]["tokens_completion"] = "-3"
    with pytest.raises(BillFormatError) as error:
        import_bill_bytes(engine, generation_csv(rows), file_name="bad.csv")
    assert error.value.line == 402 and error.value.column == "tokens_completion"
    assert "line 402" in str(error.value)
    with engine.connect() as conn:
        assert _counts(conn) == (0, 0)


def test_a_failing_write_rolls_the_whole_import_back(engine, monkeypatch):
    """Even past parsing (a database error mid-COPY), nothing of the import remains."""
    from minerva_core.billing import store

    def broken(conn, import_id, bill):
        conn.execute(text("SELECT 1/0"))

    monkeypatch.setattr(store, "_copy_lines", broken)
    with pytest.raises(Exception):
        import_bill_bytes(engine, INVOICE, file_name="inv.csv")
    with engine.connect() as conn:
        assert _counts(conn) == (0, 0)


def test_bad_header_writes_nothing(engine):
    content = generation_csv([_row()]).replace(b"cost_total", b"cost", 1)
    with pytest.raises(BillFormatError, match="line 1, column 'cost_total'"):
        import_bill_bytes(engine, content)
    with engine.connect() as conn:
        assert _counts(conn) == (0, 0)
