"""The bill parsers on literal files: exact money, header checks, errors naming line and column."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import json

import pytest
import yaml

from minerva_core.billing import (
    GENERATION_CSV_COLUMNS,
    activity_document,
    detect_kind,
    generation_csv,
    load_activity_rows,
    parse_activity,
    parse_bill,
    parse_generation_csv,
    parse_invoice_csv,
)
from minerva_core.errors import BillFormatError
from tests.conftest import OPENROUTER_FIXTURES

ACTIVITY = b"""{"data": [
 {"date": "2026-11-02", "model": "openai/gpt-4.1", "model_permaslug": "openai/gpt-4.1-2025-04-14",
  "endpoint_id": "e-1", "provider_name": "OpenAI", "usage": 0.1000000000000000055511151231257827,
  "byok_usage_inference": 0, "requests": 5, "prompt_tokens": 50, "completion_tokens": 125,
  "reasoning_tokens": 25, "workspace_id": "w-1"},
 {"date": "2026-11-01", "model": "openai/gpt-4.1", "model_permaslug": "openai/gpt-4.1-2025-04-14",
  "endpoint_id": "e-1", "provider_name": "OpenAI", "usage": 0.015, "byok_usage_inference": 0.012,
  "requests": 1, "prompt_tokens": 5, "completion_tokens": 12, "reasoning_tokens": 0}
]}"""


def _row(**overrides):
    row = {
        "generation_id": "gen-1", "created_at": "2026-11-02T23:59:59.500Z", "cost_total": Decimal("0.000891"),
        "tokens_prompt": 17, "tokens_completion": 56, "tokens_reasoning": 0,
        "model_permaslug": "anthropic/claude-4.5-sonnet-20250929", "provider_name": "Anthropic",
        "variant": "standard", "cancelled": False, "streamed": True, "api_key_name": "team-a",
    }
    row.update(overrides)
    return row


def test_activity_usage_is_read_exactly_not_through_float():
    bill = parse_activity(ACTIVITY, file_name="activity.json")
    assert bill.kind == "activity_api"
    first = bill.lines[0]
    assert first.amount_usd == Decimal("0.1000000000000000055511151231257827")
    assert (first.bill_date, first.model, first.endpoint, first.requests) == (date(2026, 11, 2), "openai/gpt-4.1", "e-1", 5)
    assert first.raw["model_permaslug"] == "openai/gpt-4.1-2025-04-14"
    assert first.raw["workspace_id"] == "w-1"  # extra keys kept
    assert bill.lines[1].raw["byok_usage_inference"] == "0.012"
    assert bill.total_amount_usd == Decimal("0.1150000000000000055511151231257827")
    assert (bill.period_from, bill.period_to) == (date(2026, 11, 1), date(2026, 11, 2))


def test_activity_fields_follow_the_official_spec():
    spec = yaml.safe_load((OPENROUTER_FIXTURES / "openapi.yaml").read_text())
    body = spec["paths"]["/activity"]["get"]["responses"]["200"]["content"]["application/json"]
    response = spec["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]
    item = spec["components"]["schemas"][response["properties"]["data"]["items"]["$ref"].rsplit("/", 1)[1]]
    example = body["example"]
    assert parse_activity(json.dumps(example).encode()).lines[0].requests == 5
    from minerva_core.billing.activity import REQUIRED_FIELDS

    assert set(REQUIRED_FIELDS) == set(item["required"])


@pytest.mark.parametrize(
    ("original", "broken", "column"),
    [
        ('"usage": 0.015', '"usage": "abc"', "usage"),
        ('"requests": 1,', '"requests": -1,', "requests"),
        ('"date": "2026-11-01"', '"date": "01/11/2026"', "date"),
        ('"usage": 0.015', '"usage": true', "usage"),
    ],
)
def test_activity_errors_name_the_row_and_field(original, broken, column):
    bad = ACTIVITY.replace(original.encode(), broken.encode())
    with pytest.raises(BillFormatError) as error:
        parse_activity(bad)
    assert (error.value.line, error.value.column) == (2, column)
    assert str(error.value).startswith(f"line 2, column '{column}'")


def test_activity_missing_required_field():
    bad = ACTIVITY.replace(b'"endpoint_id": "e-1", "provider_name": "OpenAI", "usage": 0.015', b'"usage": 0.015')
    with pytest.raises(BillFormatError, match=r"line 2, column 'endpoint_id': required field is missing"):
        parse_activity(bad)


def test_activity_document_is_canonical_and_cut_to_the_period():
    rows = load_activity_rows(ACTIVITY)
    same = activity_document(list(reversed(rows)))
    assert same == activity_document(rows)
    only_first = activity_document(rows, day_from=date(2026, 11, 1), day_to=date(2026, 11, 1))
    bill = parse_activity(only_first)
    assert [line.bill_date for line in bill.lines] == [date(2026, 11, 1)]
    assert bill.lines[0].amount_usd == Decimal("0.015")
    assert b"0.1000000000000000055511151231257827" in same  # digits survive the round trip


def test_generation_csv_round_trip_with_extra_columns_kept():
    content = generation_csv([_row(extra="kept")], extra_columns=("extra",))
    bill = parse_generation_csv(content, file_name="export.csv")
    line = bill.lines[0]
    assert bill.kind == "openrouter_csv" and detect_kind(content) == "openrouter_csv"
    assert line.generation_id == "gen-1" and line.amount_usd == Decimal("0.000891")
    assert line.occurred_at == datetime(2026, 11, 2, 23, 59, 59, 500000, tzinfo=timezone.utc)
    assert line.bill_date == date(2026, 11, 2)
    assert (line.model, line.variant, line.api_key_label) == ("anthropic/claude-4.5-sonnet-20250929", "standard", "team-a")
    assert (line.prompt_tokens, line.completion_tokens) == (17, 56)
    assert line.raw["extra"] == "kept" and line.raw["cost_total"] == "0.000891"


def test_generation_csv_header_in_any_order():
    columns = list(reversed(GENERATION_CSV_COLUMNS))
    values = {c: "" for c in columns} | {
        "generation_id": "gen-9", "created_at": "2026-11-03 10:00:00", "cost_total": "1.5e-7",
        "model_permaslug": "openai/gpt-4o",
    }
    content = (",".join(columns) + "\n" + ",".join(values[c] for c in columns) + "\n").encode()
    line = parse_generation_csv(content).lines[0]
    assert line.amount_usd == Decimal("1.5e-7") and line.occurred_at.tzinfo is not None


def test_generation_csv_missing_columns_is_an_error_on_line_1():
    content = generation_csv([_row()]).replace(b"tokens_cached,", b"", 1)
    with pytest.raises(BillFormatError) as error:
        parse_generation_csv(content)
    assert error.value.line == 1 and error.value.column == "tokens_cached"
    assert "required column(s) missing" in str(error.value)


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"cost_total": "0,5"}, "cost_total"),
        ({"cost_total": ""}, "cost_total"),
        ({"tokens_prompt": "12.5"}, "tokens_prompt"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"generation_id": ""}, "generation_id"),
        ({"cancelled": "maybe"}, "cancelled"),
        ({"cost_cache": "NaN"}, "cost_cache"),
    ],
)
def test_generation_csv_bad_line_names_file_line_and_column(change, column):
    rows = [_row(generation_id=f"gen-{i}") for i in range(4)]
    rows[2] = {**rows[2], **change}
    with pytest.raises(BillFormatError) as error:
        parse_generation_csv(generation_csv(rows))
    assert (error.value.line, error.value.column) == (4, column)  # header is line 1, rows[2] is line 4
    assert str(error.value).startswith(f"line 4, column '{column}'")


def test_generation_csv_wrong_field_count():
    content = generation_csv([_row()]) + b"gen-2,2026-11-02T00:00:00Z,0.1\n"
    with pytest.raises(BillFormatError, match=r"^line 3: 3 fields"):
        parse_generation_csv(content)


def test_invoice_csv_model_or_sku_and_flexible_header():
    content = b"Date,Provider,SKU,Quantity,Amount,Currency,Note\n2026-11-01,OpenAI,gpt-4o,1000,1.25,usd,x\n"
    bill = parse_invoice_csv(content, file_name="inv.csv")
    line = bill.lines[0]
    assert bill.kind == "provider_invoice" and bill.source == "OpenAI" and detect_kind(content) == "provider_invoice"
    assert (line.bill_date, line.model, line.provider_name, line.amount_usd) == (date(2026, 11, 1), "gpt-4o", "OpenAI", Decimal("1.25"))
    assert line.raw["quantity"] == "1000" and line.raw["note"] == "x"


@pytest.mark.parametrize(
    ("content", "line", "column"),
    [
        (b"date,provider,amount\n2026-11-01,openai,1\n", 1, "model"),
        (b"date,provider,model,amount\n2026-11-01,openai,gpt-4o,1\n2026-11-02,openai,gpt-4o,$3\n", 3, "amount"),
        (b"date,provider,model,amount,currency\n2026-11-01,openai,gpt-4o,1,EUR\n", 2, "currency"),
        (b"date,provider,model,quantity,amount\n2026-11-01,openai,gpt-4o,lots,1\n", 2, "quantity"),
    ],
)
def test_invoice_csv_errors(content, line, column):
    with pytest.raises(BillFormatError) as error:
        parse_bill(content)
    assert (error.value.line, error.value.column) == (line, column)


def test_floats_never_reach_a_bill():
    with pytest.raises(TypeError):
        generation_csv([_row(cost_total=0.1)])
    with pytest.raises(BillFormatError):
        parse_bill(b"")
