"""Exact decimals in polars and the price_hash used for "unchanged" detection."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from minerva_core.catalog import PRICE_DTYPE, normalise_catalog, price_decimals
from tests.catalog.conftest import make_record


@pytest.mark.parametrize(
    "text",
    ["0.0000000208333333333333", "0.00000008333333333333334", "0.00000020000000000000002",
     "0.36", "0", "12345678.123456789012345678901234567890"[:39]],
)
def test_polars_decimal_round_trips_price_strings(text: str) -> None:
    series = pl.Series([text]).cast(PRICE_DTYPE)
    assert series.to_list() == [Decimal(text)]
    assert Decimal(series.cast(pl.String).item()) == Decimal(text)


def price_hash(pricing: dict) -> str:
    return normalise_catalog([make_record(pricing=pricing)]).prices["price_hash"].item()


def test_hash_ignores_spelling_of_the_same_prices() -> None:
    base = price_hash({"prompt": "0.000003", "completion": "0.000015"})
    assert base == price_hash({"prompt": "0.0000030", "completion": "0.000015000"})
    assert base == price_hash(
        {"prompt": "0.000003", "completion": "0.000015", "request": "0", "image": "0",
         "web_search": "0", "internal_reasoning": "0"}
    )
    assert base == price_hash({"completion": "0.000015", "prompt": "0.000003"})


@pytest.mark.parametrize(
    "other",
    [
        {"prompt": "0.000004", "completion": "0.000015"},
        {"prompt": "0.000003", "completion": "0.000015", "input_cache_read": "0.0000003"},
        {"prompt": "0.000003", "completion": "0.000015", "discount": 0.1},
        {"prompt": "0.000003", "completion": "0.000015",
         "overrides": [{"min_prompt_tokens": 200000, "prompt": "0.000006"}]},
        {"prompt": "-1", "completion": "-1"},
    ],
)
def test_hash_changes_with_any_price(other: dict) -> None:
    assert price_hash({"prompt": "0.000003", "completion": "0.000015"}) != price_hash(other)


def test_overrides_hash_normalised_but_order_sensitive() -> None:
    tier_a = {"utc_start": 100, "utc_end": 400, "prompt": "0.00000132"}
    tier_b = {"utc_start": 400, "utc_end": 600, "prompt": "0.00000066"}
    base = {"prompt": "0.00000066", "completion": "0.00000198"}
    h = price_hash({**base, "overrides": [tier_a, tier_b]})
    respelled = {"prompt": "0.000001320", "utc_end": 400.0, "utc_start": 100}
    assert h == price_hash({**base, "overrides": [respelled, tier_b]})
    assert h != price_hash({**base, "overrides": [tier_b, tier_a]})  # later tiers win


def test_price_hash_is_stable_across_runs() -> None:
    """The hash is stored between runs, so it must not depend on polars' hashing."""
    assert price_hash({"prompt": "0.000001", "completion": "0.000002"}) == (
        price_hash({"prompt": "0.000001", "completion": "0.000002"})
    )
    assert len(price_hash({"prompt": "0", "completion": "0"})) == 64


def test_price_decimals_helper() -> None:
    catalog = normalise_catalog(
        [make_record("a/x", pricing={"prompt": "0.0000000208333333333333", "completion": "0.1"}),
         make_record("a/auto", pricing={"prompt": "-1", "completion": "-1"})]
    )
    prices = price_decimals(catalog.prices, "a/x")
    assert prices["prompt"] == Decimal("0.0000000208333333333333")
    assert prices["request"] == 0
    assert all(v is None for v in price_decimals(catalog.prices, "a/auto").values())
    with pytest.raises(KeyError):
        price_decimals(catalog.prices, "a/missing")
