"""minerva_core.pricing on literal data: parsing, each billing component, overrides, errors."""

from __future__ import annotations

import ast
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import minerva_core.pricing as pricing_pkg
from minerva_core.errors import (
    InvalidPriceError,
    InvalidUsageError,
    MissingPriceError,
    PricingError,
    VariablePriceError,
)
from minerva_core.pricing import Usage, compute_cost, cost_of, decimal_string, parse_pricing

D = Decimal


def test_prices_are_exact_decimals_with_22_decimals() -> None:
    pricing = parse_pricing({"prompt": "0.000000375", "completion": "0.000001875",
                             "input_cache_write": "0.0000000208333333333333"})
    assert pricing.input_cache_write == D("0.0000000208333333333333")
    cost = cost_of(pricing, Usage(prompt_tokens=1000, cache_write_tokens=999))
    assert cost == D("0.000000375") * 1 + D("0.0000000208333333333333") * 999
    assert cost == D("0.0000211874999999999667")


def test_2025_zero_keys_and_2026_absent_keys_parse_alike() -> None:
    old = parse_pricing({"prompt": "0.000003", "completion": "0.000015", "request": "0", "image": "0",
                         "web_search": "0", "internal_reasoning": "0"})
    new = parse_pricing({"prompt": "0.000003", "completion": "0.000015"})
    usage = Usage(prompt_tokens=100, completion_tokens=50, reasoning_tokens=20)
    assert cost_of(old, usage) == cost_of(new, usage) == D("0.00105")
    assert old.web_search == 0 and new.web_search is None


def test_reasoning_is_billed_as_completion_unless_a_separate_rate_is_published() -> None:
    usage = Usage(prompt_tokens=10, completion_tokens=100, reasoning_tokens=60)
    same = parse_pricing({"prompt": "0.000001", "completion": "0.000002"})
    assert compute_cost(same, usage).completion_side == 100 * D("0.000002")
    separate = parse_pricing({"prompt": "0.000002", "completion": "0.000008", "internal_reasoning": "0.000003"})
    breakdown = compute_cost(separate, usage)
    assert breakdown.reasoning == 60 * D("0.000003")
    assert breakdown.completion == 40 * D("0.000008")


def test_cached_and_written_tokens_are_taken_out_of_the_prompt_price() -> None:
    pricing = parse_pricing({"prompt": "0.000003", "completion": "0.000015", "input_cache_read": "0.0000003",
                             "input_cache_write": "0.00000375", "input_cache_write_1h": "0.000006"})
    usage = Usage(prompt_tokens=1000, completion_tokens=10, cached_tokens=600,
                  cache_write_tokens=200, cache_write_1h_tokens=100)
    b = compute_cost(pricing, usage)
    assert b.prompt == 100 * D("0.000003")
    assert b.cache_read == 600 * D("0.0000003")
    assert b.cache_write == 200 * D("0.00000375") + 100 * D("0.000006")
    assert b.total == b.prompt_side + b.completion_side == D("0.00198")


def test_web_search_images_audio_and_request_fees() -> None:
    pricing = parse_pricing({"prompt": "0.0000001", "completion": "0.0000004", "web_search": "0.01",
                             "image": "0.0048", "audio": "0.0000007", "request": "0.005"})
    usage = Usage(prompt_tokens=1000, completion_tokens=10, audio_tokens=400, images=2, web_search_requests=3)
    b = compute_cost(pricing, usage)
    assert (b.prompt, b.audio, b.images, b.web_search, b.request) == (
        600 * D("0.0000001"), 400 * D("0.0000007"), 2 * D("0.0048"), 3 * D("0.01"), D("0.005"))
    assert b.total == D("0.00006") + D("0.00028") + D("0.0096") + D("0.03") + D("0.005") + D("0.000004")


@pytest.mark.parametrize(
    ("usage", "key"),
    [
        (Usage(prompt_tokens=10, cached_tokens=5), "input_cache_read"),
        (Usage(prompt_tokens=10, cache_write_tokens=5), "input_cache_write"),
        (Usage(prompt_tokens=10, cache_write_1h_tokens=5), "input_cache_write_1h"),
        (Usage(prompt_tokens=10, web_search_requests=1), "web_search"),
        (Usage(prompt_tokens=10, images=1), "image"),
        (Usage(prompt_tokens=10, audio_tokens=3), "audio"),
    ],
)
def test_a_needed_price_that_is_absent_raises_never_defaults(usage: Usage, key: str) -> None:
    pricing = parse_pricing({"prompt": "0.000001", "completion": "0.000002"})
    with pytest.raises(MissingPriceError, match=key):
        compute_cost(pricing, usage)


def test_prompt_and_completion_are_required() -> None:
    with pytest.raises(MissingPriceError):
        parse_pricing({"prompt": "0.000001"})


def test_variable_router_price_raises() -> None:
    auto = parse_pricing({"prompt": "-1", "completion": "-1"})
    assert auto.is_variable
    with pytest.raises(VariablePriceError):
        compute_cost(auto, Usage(prompt_tokens=1))
    assert issubclass(VariablePriceError, PricingError)


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", "", True, None, [1]])
def test_unreadable_prices_raise(bad: object) -> None:
    with pytest.raises((InvalidPriceError, MissingPriceError)):
        parse_pricing({"prompt": bad, "completion": "0"})


def test_discount_multiplies_every_component() -> None:
    pricing = parse_pricing({"prompt": "0.00000125", "completion": "0.00001", "web_search": "0.01", "discount": 0.2})
    b = compute_cost(pricing, Usage(prompt_tokens=1000, completion_tokens=100, web_search_requests=1))
    assert pricing.discount == D("0.2")
    assert b.total == (D("0.00125") + D("0.001") + D("0.01")) * D("0.8")
    with pytest.raises(InvalidPriceError):
        parse_pricing({"prompt": "1", "completion": "1", "discount": 1.5})


QWEN_PLUS = {  # models-2026-08-19.json, qwen/qwen-plus
    "prompt": "0.00000026", "completion": "0.00000078", "input_cache_read": "0.000000052",
    "input_cache_write": "0.000000325",
    "overrides": [{"min_prompt_tokens": 256000, "prompt": "0.00000078", "completion": "0.00000234",
                   "input_cache_read": "0.000000156", "input_cache_write": "0.000000975"}],
}


def test_prompt_token_tier_applies_strictly_above_the_threshold() -> None:
    pricing = parse_pricing(QWEN_PLUS)
    at_threshold = cost_of(pricing, Usage(prompt_tokens=256000, completion_tokens=1000))
    above = cost_of(pricing, Usage(prompt_tokens=256001, completion_tokens=1000))
    assert at_threshold == 256000 * D("0.00000026") + 1000 * D("0.00000078")
    assert above == 256001 * D("0.00000078") + 1000 * D("0.00000234")


DEEPSEEK_WINDOWS = {  # models-all-modalities-2026-08-19.json, deepseek/deepseek-v4-pro-0813
    "prompt": "0.00000066", "completion": "0.00000198", "input_cache_read": "0.000000022",
    "overrides": [
        {"utc_start": 1000, "utc_end": 100, "prompt": "0.00000066", "completion": "0.00000198",
         "input_cache_read": "0.000000022"},
        {"utc_start": 100, "utc_end": 400, "prompt": "0.00000132", "completion": "0.00000396",
         "input_cache_read": "0.000000044"},
        {"utc_start": 400, "utc_end": 600, "prompt": "0.00000066", "completion": "0.00000198",
         "input_cache_read": "0.000000022"},
        {"utc_start": 600, "utc_end": 1000, "prompt": "0.00000132", "completion": "0.00000396",
         "input_cache_read": "0.000000044"},
    ],
}


@pytest.mark.parametrize(
    ("hour", "minute", "peak"),
    [(0, 30, False), (1, 0, True), (3, 59, True), (4, 0, False), (7, 0, True), (10, 0, False), (23, 0, False)],
)
def test_utc_time_windows_are_half_open_and_wrap_midnight(hour: int, minute: int, peak: bool) -> None:
    pricing = parse_pricing(DEEPSEEK_WINDOWS)
    at = datetime(2026, 8, 19, hour, minute, tzinfo=timezone.utc)
    cost = cost_of(pricing, Usage(prompt_tokens=1_000_000), at=at)
    assert cost == (D("1.32") if peak else D("0.66"))


def test_time_windows_need_the_request_time() -> None:
    with pytest.raises(PricingError, match="request time"):
        cost_of(parse_pricing(DEEPSEEK_WINDOWS), Usage(prompt_tokens=1))


def test_later_overrides_win_per_key_and_others_inherit() -> None:
    pricing = parse_pricing({"prompt": "1", "completion": "2", "overrides": [
        {"min_prompt_tokens": 10, "prompt": "3", "completion": "4"},
        {"min_prompt_tokens": 20, "prompt": "5"},
    ]})
    resolved = pricing.resolve(prompt_tokens=30)
    assert (resolved.prompt, resolved.completion) == (D(5), D(4))


def test_inconsistent_usage_is_refused() -> None:
    with pytest.raises(InvalidUsageError):
        Usage(prompt_tokens=5, cached_tokens=6)
    with pytest.raises(InvalidUsageError):
        Usage(completion_tokens=5, reasoning_tokens=6)
    with pytest.raises(InvalidUsageError):
        Usage(prompt_tokens=-1)


def test_decimal_string_never_uses_exponents() -> None:
    assert decimal_string(D("3E-7")) == "0.0000003"
    assert decimal_string(D("1.500")) == "1.5"
    assert decimal_string(D("0E-10")) == "0"
    assert decimal_string(D("-1")) == "-1"


def test_pricing_package_is_pure() -> None:
    forbidden = {"httpx", "sqlalchemy", "fastapi", "starlette", "prefect", "psycopg", "requests"}
    for source in Path(pricing_pkg.__file__).parent.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{source.name} imports {name}"
