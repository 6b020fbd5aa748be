"""The pure reconciliation on literal frames: every class, the precedence, both levels."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

import polars as pl
import pytest

from minerva_core.errors import ReconciliationInputError
from minerva_core.reconciliation import (
    CLASSES, MODELS_SCHEMA, PRECEDENCE, PRICES_SCHEMA, accuracy, bill_frame, ledger_frame, reconcile, summarise,
)
from minerva_core.reconciliation.frames import frame

DAY = date(2026, 11, 2)
AT = datetime(2026, 11, 2, 10, 0)
TOL = "0.000001"
MODELS = frame(
    [
        {"id": "openai/gpt-4o", "canonical_slug": "openai/gpt-4o-2024-05-13"},
        {"id": "openai/gpt-4o:extended", "canonical_slug": "openai/gpt-4o-2024-05-13", "variant": "extended"},
        {"id": "acme/free-model", "canonical_slug": "acme/free-model-2026"},
        {"id": "acme/free-model:free", "canonical_slug": "acme/free-model-2026", "variant": "free"},
        {"id": "acme/twin-a", "canonical_slug": "acme/twin"},
        {"id": "acme/twin-b", "canonical_slug": "acme/twin"},
    ],
    MODELS_SCHEMA,
)


def led(gen: str | None, cost: str | None = "0.001", estimate: str | None = "0.001", *, request: str | None = None,
        at: datetime = AT, model: str = "openai/gpt-4o", provider: str = "OpenAI", key: str | None = "key-1",
        prompt: int = 100, completion: int = 50) -> dict:
    return {
        "request_id": request or f"r-{gen}", "created_at": at, "generation_id": gen, "api_key_id": key,
        "model": model, "provider_name": provider, "prompt_tokens": prompt, "completion_tokens": completion,
        "reasoning_tokens": 0, "cost_usd": None if cost is None else D(cost),
        "cost_estimated_usd": None if estimate is None else D(estimate),
    }


_ids = iter(range(1, 10_000))


def csv_line(gen: str, amount: str = "0.001", *, model: str = "openai/gpt-4o-2024-05-13", variant: str | None = "standard",
             day: date = DAY, import_id: str = "csv-1", provider: str = "OpenAI") -> dict:
    number = next(_ids)
    return {
        "bill_line_id": number, "import_id": import_id, "kind": "openrouter_csv", "line_no": number,
        "generation_id": gen, "bill_date": day, "model": model, "variant": variant, "provider_name": provider,
        "amount_usd": D(amount), "prompt_tokens": 100, "completion_tokens": 50, "requests": 1,
    }


def activity_line(amount: str, *, model: str = "openai/gpt-4o", day: date = DAY, endpoint: str = "e-1",
                  provider: str = "OpenAI", kind: str = "activity_api", import_id: str = "act-1") -> dict:
    number = next(_ids)
    return {
        "bill_line_id": number, "import_id": import_id, "kind": kind, "line_no": number, "bill_date": day,
        "model": model, "provider_name": provider, "endpoint": endpoint, "amount_usd": D(amount),
        "prompt_tokens": 100, "completion_tokens": 50, "requests": 1,
    }


def run(ledger_rows, bill_lines, *, tolerance=TOL, prices=None):
    return reconcile(ledger_frame(ledger_rows), bill_frame(bill_lines), tolerance=tolerance, models=MODELS, prices=prices)


def classes(result) -> dict[str, str]:
    """Item key -> class: the generation id, or for a duplicate its ledger request id
    (ledger side) or "bill:<line id>" (bill side)."""
    out = {}
    for row in result.items.iter_rows(named=True):
        if row["classification"] == "duplicate":
            key = row["ledger_request_id"] or f"bill:{row['bill_line_id']}"
        else:
            key = row["generation_id"] or row["ledger_request_id"]
        out[key] = row["classification"]
    return out


def test_every_class_at_generation_level():
    prices = frame([{"model_id": "openai/gpt-4o", "valid_from": datetime(2026, 1, 1), "prompt": D("0.0000025"),
                     "completion": D("0.00001")}], PRICES_SCHEMA)
    result = run(
        [led("g-ok"), led("g-unbilled"), led("g-cent"), led("g-drift", estimate="0.002"), led("g-dup"),
         led("g-dup", request="r-g-dup-again", at=datetime(2026, 11, 2, 10, 0, 1))],
        [csv_line("g-ok"), csv_line("g-cent", "0.011"), csv_line("g-drift"), csv_line("g-dup"), csv_line("g-lost")],
        prices=prices,
    )
    assert classes(result) == {
        "g-ok": "matched", "g-unbilled": "missing_in_bill", "g-cent": "amount_mismatch", "g-drift": "price_drift",
        "g-dup": "matched", "r-g-dup-again": "duplicate", "g-lost": "missing_in_ledger",
    }
    items = {r["generation_id"] + r["classification"]: r for r in result.items.iter_rows(named=True)}
    assert items["g-centamount_mismatch"]["delta_usd"] == D("0.01")
    assert items["g-unbilledmissing_in_bill"]["delta_usd"] == D("-0.001")
    assert items["g-lostmissing_in_ledger"]["delta_usd"] == D("0.001")
    dup = items["g-dupduplicate"]
    assert (dup["duplicate_of"], dup["ledger_amount_usd"], dup["bill_amount_usd"]) == ("r-g-dup", D("0.001"), None)
    drift = items["g-driftprice_drift"]
    assert drift["implied_price"] == (D("0.001") / 150).quantize(D(1).scaleb(-24))
    assert drift["estimated_price"] == (D("0.002") / 150).quantize(D(1).scaleb(-24))
    assert (drift["catalog_prompt_price"], drift["catalog_completion_price"]) == (D("0.0000025"), D("0.00001"))
    assert drift["model"] == "openai/gpt-4o" and drift["model_mapping"] == "variant"
    assert set(result.items["level"]) == {"generation"}


def test_each_ledger_row_and_bill_line_lands_in_exactly_one_item():
    ledger_rows = [led(f"g{i}") for i in range(20)] + [led("g3", request="again"), led(None, request="no-gen")]
    bill_lines = [csv_line(f"g{i}") for i in range(5, 25)] + [csv_line("g7")]
    result = run(ledger_rows, bill_lines)
    assert result.items["ledger_rows"].sum() == len(ledger_rows)
    assert result.items["bill_lines"].sum() == len(bill_lines)
    assert set(result.items["classification"]) <= set(CLASSES)
    assert result.items.filter(pl.col("ledger_request_id").is_not_null())["ledger_request_id"].n_unique() == len(ledger_rows)
    found = classes(result)
    assert found["no-gen"] == "missing_in_bill"  # a ledger row without generation id cannot match
    assert sum(1 for c in found.values() if c == "duplicate") == 2  # one in the ledger, one in the bill


@pytest.mark.parametrize(
    ("ledger_row", "bill_amount", "expected", "why"),
    [
        (led("g", cost="0.001", estimate="0.005"), "0.02", "amount_mismatch", "a wrong charge beats a stale estimate"),
        (led("g", cost=None, estimate="0.005"), "0.001", "amount_mismatch", "no charge yet: the estimate stands in"),
        (led("g", cost=None, estimate="0.001"), "0.001", "matched", "the estimate matches"),
        (led("g", cost="0.001", estimate=None), "0.001", "matched", "no estimate: nothing to drift"),
        (led("g", cost=None, estimate=None), "0.001", "amount_mismatch", "nothing known counts as 0"),
        (led("g", cost="0.001", estimate="0.0010009"), "0.001", "matched", "estimate within tolerance"),
        (led("g", cost="0.001", estimate="0.001001"), "0.001", "matched", "|gap| == tolerance is matched"),
        (led("g", cost="0.001", estimate="0.001001000000000000000001"), "0.001", "price_drift", "just beyond"),
        (led("g", cost="0.001001"), "0.001", "matched", "charge gap == tolerance"),
        (led("g", cost="0.001001000000000000000001"), "0.001", "amount_mismatch", "charge gap just beyond"),
    ],
)
def test_precedence_and_tolerance(ledger_row, bill_amount, expected, why):
    result = run([ledger_row], [csv_line("g", bill_amount)])
    assert result.items["classification"].to_list() == [expected], why


def test_duplicates_take_precedence_on_both_sides():
    result = run(
        [led("g", cost="0.5"), led("g", cost="0.7", request="second")],
        [csv_line("g", "0.9"), csv_line("g", "0.9")],
    )
    got = sorted((r["classification"], r["ledger_request_id"] or "", str(r["bill_amount_usd"] or "")) for r in result.items.iter_rows(named=True))
    assert [g[0] for g in got] == ["amount_mismatch", "duplicate", "duplicate"]
    first = result.items.filter(pl.col("classification") == "amount_mismatch").row(0, named=True)
    assert first["ledger_request_id"] == "r-g" and first["delta_usd"] == D("0.4")
    summary = summarise(result)
    assert summary.counts["duplicate"] == 2
    assert summary.bill_total_usd == D("1.8") and summary.ledger_compared_usd == D("1.2")
    assert summary.delta_usd == D("0.6")


def test_precedence_is_documented_in_order():
    import minerva_core.reconciliation.classify as module

    assert PRECEDENCE[0] == "duplicate" and PRECEDENCE[-1] == "matched"
    positions = [module.__doc__.index(f"``{name}``") for name in PRECEDENCE]
    assert positions == sorted(positions)


def test_aggregate_level_sums_per_day_model_provider():
    ledger_rows = [
        led("a1", cost="0.25", estimate="0.25"), led("a2", cost="0.25", estimate="0.25", provider="openai"),
        led("b1", cost="1", estimate="1.5", model="acme/free-model", provider="Acme"),
        led("c1", cost="2", model="acme/twin-a", provider="Acme"),
        led("d1", cost="3", model="openai/gpt-4o", at=datetime(2026, 11, 3, 1)),
        led("d1", cost="3", model="openai/gpt-4o", at=datetime(2026, 11, 3, 2), request="dup"),
    ]
    bill_lines = [
        activity_line("0.2", endpoint="e-1"), activity_line("0.3", endpoint="e-2"),  # two endpoints, one group
        activity_line("1", model="acme/free-model", provider="Acme"),
        activity_line("4", model="acme/lost-model", provider="Acme"),
        activity_line("3.01", day=date(2026, 11, 3)),
        activity_line("3.01", day=date(2026, 11, 3)),  # the same /activity row twice
    ]
    result = run(ledger_rows, bill_lines)
    rows = {(r["day"], r["model"], r["classification"]): r for r in result.items.iter_rows(named=True)}
    assert set(result.items["level"]) == {"aggregate"}
    assert rows[(DAY, "openai/gpt-4o", "matched")]["bill_lines"] == 2
    assert rows[(DAY, "openai/gpt-4o", "matched")]["ledger_rows"] == 2
    drift = rows[(DAY, "acme/free-model", "price_drift")]
    assert drift["estimated_usd"] == D("1.5") and drift["generation_id"] is None and drift["api_key_id"] is None
    assert rows[(DAY, "acme/twin-a", "missing_in_bill")]["ledger_amount_usd"] == D("2")
    assert rows[(DAY, "acme/lost-model", "missing_in_ledger")]["bill_amount_usd"] == D("4")
    nov3 = date(2026, 11, 3)
    assert rows[(nov3, "openai/gpt-4o", "amount_mismatch")]["delta_usd"] == D("0.01")
    assert result.items.filter(pl.col("classification") == "duplicate").height == 2  # ledger row + bill row
    summary = summarise(result)
    assert summary.by_api_key.height == 0  # keys are unknown at aggregate level
    assert summary.counts == {"matched": 1, "amount_mismatch": 1, "missing_in_ledger": 1, "missing_in_bill": 1,
                              "price_drift": 1, "duplicate": 2}


def test_invoice_lines_repeat_legitimately_and_match_case_insensitively():
    result = run(
        [led("x", cost="1.5", estimate="1.5", model="openai/gpt-4o", provider="OpenAI")],
        [activity_line("1", kind="provider_invoice", provider="openai", endpoint=None),
         activity_line("0.5", kind="provider_invoice", provider="openai", endpoint=None)],
    )
    assert result.items["classification"].to_list() == ["matched"]
    assert result.items["bill_lines"].to_list() == [2]


def test_activity_lines_on_a_csv_day_are_superseded():
    result = run(
        [led("g1"), led("g2", at=datetime(2026, 11, 4, 9)), led("late", at=datetime(2026, 11, 5, 9))],
        [csv_line("g1"), csv_line("g2", day=date(2026, 11, 4)),
         activity_line("0.002"), activity_line("0.001", day=date(2026, 11, 3)), activity_line("0.001", day=date(2026, 11, 5))],
    )
    assert result.generation_days == (date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4))
    assert result.superseded_lines == 2 and result.superseded_usd == D("0.003")
    late = result.items.filter(pl.col("level") == "aggregate")
    assert late["classification"].to_list() == ["matched"] and late["day"].to_list() == [date(2026, 11, 5)]
    assert result.items.filter(pl.col("level") == "generation")["classification"].to_list() == ["matched", "matched"]


def test_permaslug_mapping_by_variant_and_ambiguity_reported():
    result = run(
        [led("f1", cost="0", estimate="0", model="acme/free-model:free"), led("p1", model="acme/free-model"),
         led("t1", model="acme/twin-a"), led("u1", model="acme/unknown")],
        [csv_line("f1", "0", model="acme/free-model-2026", variant="free"),
         csv_line("p1", model="acme/free-model-2026", variant="standard"),
         csv_line("t1", model="acme/twin", variant=None),
         csv_line("u1", model="acme/unknown-2026")],
    )
    mapping = {r["name"] + "|" + str(r["variant"]): (r["model_id"], r["mapping"]) for r in result.model_mappings.iter_rows(named=True)}
    assert mapping["acme/free-model-2026|free"] == ("acme/free-model:free", "variant")
    assert mapping["acme/free-model-2026|standard"] == ("acme/free-model", "variant")
    assert mapping["acme/twin|"] == ("acme/twin-a", "ambiguous")
    assert mapping["acme/unknown-2026|standard"] == ("acme/unknown-2026", "unmapped")
    ambiguous = result.ambiguous_mappings.filter(pl.col("mapping") == "ambiguous").row(0, named=True)
    assert ambiguous["candidates"] == "acme/twin-a, acme/twin-b"
    assert set(result.items["classification"]) == {"matched"}  # matched by generation id regardless
    from minerva_core.reconciliation.report import notes

    assert any("ambiguous" in n and "acme/twin" in n for n in notes(summarise(result)))


def test_accuracy_definition():
    assert accuracy(D(0), D(10)) == D(1)
    assert accuracy(D("0.0000001"), D(10)) == D("0.999999")  # rounded down: never shows 1 with a gap
    assert accuracy(D(1), D(4)) == D("0.75")
    assert accuracy(D(20), D(10)) == D(0)  # clamped
    assert accuracy(D(0), D(0)) == D(1) and accuracy(D(1), D(0)) == D(0)
    result = run([led("a", cost="3"), led("b", cost="1")], [csv_line("a", "3"), csv_line("b", "1.5"), csv_line("c", "0.5")])
    summary = summarise(result)
    assert summary.bill_total_usd == D(5) and summary.abs_delta_usd == D(1)
    assert summary.accuracy == D("0.8")
    per_key = summary.by_api_key.row(0, named=True)
    assert per_key["api_key_id"] == "key-1" and per_key["accuracy"] == "0.888888"  # 1 - 0.5/4.5, key rows only


def test_money_that_cannot_be_held_exactly_is_refused():
    with pytest.raises(ReconciliationInputError, match="more than 24 decimals"):
        ledger_frame([led("g", cost="0.0000000000000000000000001")])
    with pytest.raises(ReconciliationInputError, match="never float"):
        ledger_frame([{**led("g"), "cost_usd": 0.1}])
    for bad in ("-1", "abc", "1e400x"):
        with pytest.raises(ReconciliationInputError):
            run([led("g")], [csv_line("g")], tolerance=bad)


def test_empty_inputs():
    result = run([], [])
    assert result.items.height == 0
    summary = summarise(result)
    assert summary.accuracy == D(1) and summary.counts == {c: 0 for c in CLASSES}
