"""diff_catalog on literal catalogs and across consecutive real snapshots."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from minerva_core.catalog import diff_catalog, normalise_catalog
from tests.catalog.conftest import CONSECUTIVE, load_payload, make_record, normalised, records_of

CHEAP = {"prompt": "0.000001", "completion": "0.000002"}


def hashes(catalog) -> dict[str, str]:
    return dict(catalog.prices.select("id", "price_hash").iter_rows())


def test_literal_catalogs() -> None:
    before = normalise_catalog(
        [
            make_record("a/same"),
            make_record("a/meta", description="old text"),
            make_record("a/price"),
            make_record("a/both", description="old"),
            make_record("a/gone"),
            make_record("a/gone-disabled"),
            make_record("a/back"),
        ]
    )
    after = normalise_catalog(
        [
            make_record("a/same"),
            make_record("a/meta", description="new text"),
            make_record("a/price", pricing={"prompt": "0.000001", "completion": "0.000003"}),
            make_record("a/both", description="new", pricing={"prompt": "0.5", "completion": "1"}),
            make_record("a/back"),
            make_record("a/new"),
        ]
    )
    status = {"a/gone-disabled": "disabled", "a/back": "deprecated"}
    previous = before.models.select("id", "metadata_hash").with_columns(
        pl.col("id").replace_strict(status, default="active").alias("status")
    )
    diff = diff_catalog(previous, hashes(before), after)
    assert diff.new == {"a/new"}
    assert diff.changed == {"a/meta", "a/both"}
    assert diff.repriced == {"a/price", "a/both"}
    assert diff.deprecated == {"a/gone"}
    assert diff.reactivated == {"a/back"}
    assert diff.unchanged == {"a/same"}
    assert diff.counts() == {
        "new": 1, "changed": 2, "repriced": 2, "deprecated": 1, "reactivated": 1, "unchanged": 1
    }
    assert diff.touched == {"a/new", "a/meta", "a/both", "a/price", "a/gone", "a/back"}


def test_first_run_everything_is_new() -> None:
    after = normalise_catalog([make_record("a/1"), make_record("a/2")])
    diff = diff_catalog(None, None, after)
    assert diff.new == {"a/1", "a/2"}
    assert not (diff.changed | diff.repriced | diff.deprecated | diff.unchanged)
    empty = pl.DataFrame(schema={"id": pl.String, "metadata_hash": pl.String})
    assert diff_catalog(empty, {}, after) == diff


def test_missing_previous_price_counts_as_repriced_and_frame_input() -> None:
    before = normalise_catalog([make_record("a/1"), make_record("a/2")])
    after = normalise_catalog([make_record("a/1"), make_record("a/2")])
    only_one = before.prices.select("id", "price_hash").filter(pl.col("id") == "a/1")
    diff = diff_catalog(before.models, only_one, after)
    assert diff.repriced == {"a/2"} and diff.unchanged == {"a/1"}


def test_price_format_change_alone_is_not_a_reprice() -> None:
    before = normalise_catalog(
        [make_record("a/1", pricing={**CHEAP, "request": "0", "image": "0", "web_search": "0"})]
    )
    after = normalise_catalog([make_record("a/1", pricing=CHEAP)])
    assert diff_catalog(before.models, hashes(before), after).unchanged == {"a/1"}


# ---------------------------------------------------------- real snapshots, counted by hand


def _plain_prices(pricing: dict[str, Any]) -> tuple:
    """Independent reading of a pricing object: nonzero decimals, -1 as 'variable'."""
    values = {}
    for key, value in pricing.items():
        if key == "overrides":
            values[key] = [
                {k: Decimal(str(v)) for k, v in tier.items()} for tier in value
            ]
        elif Decimal(str(value)) == -1:
            values[key] = "variable"
        elif Decimal(str(value)) != 0:
            values[key] = Decimal(str(value))
    return tuple(sorted(values.items(), key=lambda kv: kv[0]))


def _plain_meta(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "pricing" and v is not None}


@pytest.mark.parametrize(("older", "newer"), CONSECUTIVE)
def test_consecutive_real_snapshots(older: str, newer: str) -> None:
    old = {r["id"]: r for r in records_of(load_payload(older))}
    new = {r["id"]: r for r in records_of(load_payload(newer))}
    both = old.keys() & new.keys()
    expected_new = new.keys() - old.keys()
    expected_gone = old.keys() - new.keys()
    expected_changed = {i for i in both if _plain_meta(old[i]) != _plain_meta(new[i])}
    expected_repriced = {
        i for i in both if _plain_prices(old[i]["pricing"]) != _plain_prices(new[i]["pricing"])
    }
    expected_unchanged = both - expected_changed - expected_repriced

    before, after = normalised(older), normalised(newer)
    diff = diff_catalog(before.models, hashes(before), after)
    assert diff.new == expected_new
    assert diff.deprecated == expected_gone
    assert diff.changed == expected_changed
    assert diff.repriced == expected_repriced
    assert diff.unchanged == expected_unchanged
    assert diff.reactivated == frozenset()
    assert diff.new | diff.changed | diff.repriced | diff.unchanged == new.keys()
    assert expected_new and expected_gone and expected_repriced  # the data really moves


def test_known_counts_2026_05_to_2026_08() -> None:
    before = normalised("models-2026-05-01-sorted-data-array.json")
    after = normalised("models-2026-08-19.json")
    counts = diff_catalog(before.models, hashes(before), after).counts()
    assert counts == {
        "new": 142, "changed": 243, "repriced": 143, "deprecated": 99,
        "reactivated": 0, "unchanged": 26,
    }
    assert 371 - counts["deprecated"] + counts["new"] == 414


def test_text_listing_is_a_subset_of_all_modalities() -> None:
    text = normalised("models-2026-08-19.json")
    everything = normalised("models-all-modalities-2026-08-19.json")
    diff = diff_catalog(text.models, hashes(text), everything)
    assert len(diff.new) == 135 and not diff.deprecated
    assert diff.unchanged == set(text.models["id"])


def test_stored_row_without_hash_is_changed_not_new() -> None:
    after = normalise_catalog([make_record("a/1"), make_record("a/2")])
    previous = pl.DataFrame(
        {
            "id": ["a/1", "a/2", "a/3"],
            "metadata_hash": [None, after.models["metadata_hash"][1], "x"],
            "status": ["active", None, None],
        }
    )
    diff = diff_catalog(previous, hashes(after), after)
    assert diff.new == frozenset()
    assert diff.changed == {"a/1"}
    assert diff.unchanged == {"a/2"}
    assert diff.deprecated == {"a/3"}  # null status means active
