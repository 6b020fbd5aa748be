"""The savings analysis on literal catalogs and literal ledger groups, with hand-computed,
exact savings."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from minerva_core.errors import OptimisationInputError
from minerva_core.optimisation import (
    ALREADY_CHEAPEST,
    BELOW_MINIMUM,
    INCONSISTENT_USAGE,
    NO_CANDIDATE,
    NO_CHARGE,
    SAVING,
    UNKNOWN_MODEL,
    SavingsPolicy,
    UsageGroup,
    analyse_group,
    analyse_savings,
    catalog_from_rows,
    price_bounds,
)
from minerva_core.optimisation.store import period_bounds
from minerva_core.pricing import parse_pricing
from minerva_core.routing import Catalog

D = Decimal
FULL = ["tools", "tool_choice", "response_format", "structured_outputs", "reasoning"]
NO_REASONING = ["tools", "response_format"]

# id: (supported_parameters, context, quality, prompt, completion, extras)
MODELS = {
    "acme/big": (FULL, 128_000, 0.80, "0.00001", "0.00003", {}),
    "acme/mid": (FULL, 128_000, 0.78, "0.000002", "0.000006", {}),
    "acme/mid:free": (FULL, 128_000, 0.78, "0", "0", {}),
    "acme/mid:batch": (FULL, 128_000, 0.78, "0.000001", "0.000003", {}),
    "acme/big:batch": (FULL, 128_000, 0.80, "0.000005", "0.000015", {}),
    "acme/small": (NO_REASONING, 32_000, 0.60, "0.0000005", "0.0000015", {}),
    "cheap/notools": (["response_format"], 128_000, 0.85, "0.0000001", "0.0000002", {}),
    "cheap/shortctx": (FULL, 8_000, 0.90, "0.0000002", "0.0000004", {}),
    "cheap/noscore": (FULL, 128_000, None, "0.00000015", "0.0000003", {}),
    "openrouter/auto": (FULL, 2_000_000, 0.95, "-1", "-1", {}),
    "vision/pro": (FULL, 128_000, 0.80, "0.000003", "0.000009", {"input_modalities": ["text", "image"]}),
    "old/cheap": (FULL, 128_000, 0.95, "0.00000001", "0.00000001", {"status": "deprecated"}),
}


def _catalog(models=MODELS) -> tuple[Catalog, dict]:
    records, prices = [], {}
    for model_id, (params, context, quality, prompt, completion, extra) in models.items():
        records.append({"id": model_id, "supported_parameters": params, "context_length": context,
                        "quality_score": quality, "prompt_price": prompt, "completion_price": completion,
                        **extra})
        if prompt != "-1":
            prices[model_id] = parse_pricing({"prompt": prompt, "completion": completion})
    return Catalog.from_records(records), prices


CATALOG, PRICES = _catalog()


def _group(model: str = "acme/big", app: str = "search", *, actual: str = "1.6", requests: int = 10,
           prompt: int = 100_000, completion: int = 20_000, reasoning: int = 1_000,
           max_context: int = 12_000, **more) -> UsageGroup:
    return UsageGroup(
        app=app, model_used=model, requests=requests, actual_usd=D(actual), prompt_tokens=prompt,
        completion_tokens=completion, reasoning_tokens=reasoning, max_context_tokens=max_context,
        max_prompt_tokens=more.pop("max_prompt", max_context - 1_000),
        max_completion_tokens=more.pop("max_completion", 1_000), **more,
    )


def test_the_cheapest_qualifying_candidate_and_its_exact_saving():
    # acme/big charged 100k x $0.00001 + 20k x $0.00003 = $1.6. Cheaper models are out one by
    # one: notools (no tools), shortctx (8k < 12k context), noscore (unknown quality), small
    # (0.60 < 0.80 - 0.05, and no reasoning), mid:free (free), mid:batch (asynchronous), auto
    # (variable), old (deprecated).
    # acme/mid: 100k x 0.000002 + 20k x 0.000006 = 0.2 + 0.12 = $0.32.
    row = analyse_group(_group(), CATALOG, PRICES)
    assert row.status == SAVING and row.candidate == "acme/mid"
    assert row.candidate_usd == D("0.32") and row.used_model_current_usd == D("1.6")
    assert row.saving_usd == D("1.28") and row.saving_pct == D("80.00")
    assert row.qualifying_candidates == 2  # acme/mid and vision/pro


def test_a_model_without_tools_is_never_proposed_for_a_tools_model():
    for policy in (SavingsPolicy(), SavingsPolicy(quality_tolerance=D("1"), allow_unknown_quality=True)):
        row = analyse_group(_group(), CATALOG, PRICES, policy)
        assert row.candidate != "cheap/notools"


def test_a_smaller_context_is_proposed_only_when_the_group_fits_in_it():
    assert analyse_group(_group(max_context=12_000), CATALOG, PRICES).candidate == "acme/mid"
    # Every request fitted in 8k: shortctx, 100k x 0.0000002 + 20k x 0.0000004 = $0.028.
    row = analyse_group(_group(max_context=7_000), CATALOG, PRICES)
    assert (row.candidate, row.candidate_usd, row.saving_usd) == ("cheap/shortctx", D("0.028"), D("1.572"))
    # ... and a completion limit below the group's longest answer rules a model out as well.
    limited = {**MODELS, "cheap/shortctx": (FULL, 8_000, 0.90, "0.0000002", "0.0000004",
                                             {"max_completion_tokens": 500})}
    assert analyse_group(_group(max_context=7_000), *_catalog(limited)).candidate == "acme/mid"


def test_quality_tolerance_is_compared_exactly():
    no_reasoning = _group(reasoning=0)
    assert analyse_group(no_reasoning, CATALOG, PRICES).candidate == "acme/mid"
    # 0.80 - 0.20 = 0.60 exactly (in float it is 0.6000000000000001 and small would fail):
    # small qualifies, 100k x 0.0000005 + 20k x 0.0000015 = $0.08.
    row = analyse_group(no_reasoning, CATALOG, PRICES, SavingsPolicy(quality_tolerance=D("0.20")))
    assert (row.candidate, row.candidate_usd, row.saving_usd) == ("acme/small", D("0.08"), D("1.52"))
    assert analyse_group(no_reasoning, CATALOG, PRICES,
                         SavingsPolicy(quality_tolerance=D("0.19"))).candidate == "acme/mid"
    # Reasoning tokens in the group: small (no reasoning) is out whatever the tolerance.
    assert analyse_group(_group(), CATALOG, PRICES,
                         SavingsPolicy(quality_tolerance=D("0.5"))).candidate == "acme/mid"


def test_unknown_quality_and_free_models_only_when_allowed():
    # noscore: 100k x 0.00000015 + 20k x 0.0000003 = 0.015 + 0.006 = $0.021.
    row = analyse_group(_group(), CATALOG, PRICES, SavingsPolicy(allow_unknown_quality=True))
    assert (row.candidate, row.candidate_usd) == ("cheap/noscore", D("0.021"))
    row = analyse_group(_group(), CATALOG, PRICES, SavingsPolicy(include_free_models=True))
    assert (row.candidate, row.candidate_usd, row.saving_usd) == ("acme/mid:free", D("0"), D("1.6"))
    # A used model without a score has no comparable candidate.
    assert analyse_group(_group("cheap/noscore", actual="0.021"), CATALOG, PRICES).status == NO_CANDIDATE


def test_batch_variants_stand_in_only_for_batch_traffic():
    assert analyse_group(_group(), CATALOG, PRICES).candidate == "acme/mid"
    # Batch traffic (big:batch, 100k x 0.000005 + 20k x 0.000015 = $0.8): mid:batch,
    # 100k x 0.000001 + 20k x 0.000003 = $0.16.
    row = analyse_group(_group("acme/big:batch", actual="0.8"), CATALOG, PRICES)
    assert (row.candidate, row.candidate_usd, row.saving_usd) == ("acme/mid:batch", D("0.16"), D("0.64"))
    row = analyse_group(_group(), CATALOG, PRICES, SavingsPolicy(excluded_variants=frozenset()))
    assert (row.candidate, row.candidate_usd) == ("acme/mid:batch", D("0.16"))


def test_a_model_that_is_already_the_cheapest_shows_no_saving():
    # notools (0.85): qualifying models need quality >= 0.80 and text: big, shortctx (context
    # fits), vision; all dearer than its own charge of 100k x 0.0000001 + 20k x 0.0000002.
    row = analyse_group(_group("cheap/notools", actual="0.014", max_context=5_000), CATALOG, PRICES)
    assert row.status == ALREADY_CHEAPEST and row.candidate is None and row.saving_usd == 0
    assert row.qualifying_candidates == 3 and row.used_model_current_usd == D("0.014")


def test_a_price_cut_of_the_used_model_is_not_a_saving_from_switching():
    # acme/mid was charged $3 (old prices); it costs $0.32 now; its cheapest qualifying
    # alternative, vision/pro ($0.48), is cheaper than the charge but not than mid today.
    row = analyse_group(_group("acme/mid", actual="3"), CATALOG, PRICES)
    assert row.status == ALREADY_CHEAPEST and row.used_model_current_usd == D("0.32")


def test_input_modalities_of_the_used_model_are_required():
    # vision/pro takes images: only models with image input qualify, and there is none.
    row = analyse_group(_group("vision/pro", actual="0.48"), CATALOG, PRICES)
    assert row.status == NO_CANDIDATE


def test_no_caching_is_assumed_on_the_candidate():
    # 60k of the 100k prompt tokens were cache reads on big; mid bills all 100k as prompt.
    prices = {**PRICES, "acme/big": parse_pricing({"prompt": "0.00001", "completion": "0.00003",
                                                     "input_cache_read": "0.000001"})}
    row = analyse_group(_group(cached_tokens=60_000, actual="1.06"), CATALOG, prices)
    assert (row.candidate, row.candidate_usd, row.saving_usd) == ("acme/mid", D("0.32"), D("0.74"))
    # big today: 40k x 0.00001 + 60k x 0.000001 + 20k x 0.00003 = 0.4 + 0.06 + 0.6
    assert row.used_model_current_usd == D("1.06")


def test_money_stays_exact_beyond_28_digits():
    exact = {**MODELS, "acme/mid": (FULL, 128_000, 0.78, "0.0000020000000000000000000000001",
                                    "0.000006", {})}
    catalog, prices = _catalog(exact)
    row = analyse_group(_group(actual="1.6000000000000000000000000000000001"), catalog, prices)
    # 100k x 0.0000020000000000000000000000001 = 0.20000000000000000000000001, + 20k x 0.000006
    assert row.candidate_usd == D("0.32000000000000000000000001")
    assert row.saving_usd == D("1.2799999999999999999999999900000001")


def test_price_bounds_cover_tiers_the_group_reaches_and_every_time_window():
    tiered = parse_pricing({"prompt": "0.000001", "completion": "0.000002",
                            "overrides": [{"min_prompt_tokens": 50_000, "prompt": "0.000004",
                                           "completion": "0.000008"}]})
    low, high = price_bounds(tiered, 40_000)
    assert (low.prompt, high.prompt, high.overrides) == (D("0.000001"), D("0.000001"), ())
    low, high = price_bounds(tiered, 60_000)
    assert (low.prompt, low.completion) == (D("0.000001"), D("0.000002"))
    assert (high.prompt, high.completion) == (D("0.000004"), D("0.000008"))
    windows = parse_pricing({"prompt": "0.000002", "completion": "0.000004", "overrides": [
        {"utc_start": 100, "utc_end": 400, "prompt": "0.000001", "completion": "0.000006"}]})
    low, high = price_bounds(windows, 10)
    assert (low.prompt, low.completion, high.prompt, high.completion) == (
        D("0.000001"), D("0.000004"), D("0.000002"), D("0.000006"))


def test_the_report_rolls_up_per_app_and_per_model_in_a_stable_order():
    groups = [
        _group(),  # search / big: saves 1.28
        _group(app="chat", actual="0.8", prompt=50_000, completion=10_000),  # mid: 0.16, saves 0.64
        _group("cheap/notools", app="chat", actual="0.014", max_context=5_000),  # already cheapest
        _group("gone/model", app="chat", actual="2"),  # not in the catalog
        _group(app="batch", actual="0.33"),  # mid 0.32: saves 0.01
        _group(app="idle", requests=0, actual="0", uncharged_requests=4),
    ]
    report = analyse_savings(groups, CATALOG, PRICES, min_saving_usd=D("0.05"), limit=1)
    assert [(r.app, r.model_used, r.saving_usd) for r in report.rows] == [("search", "acme/big", D("1.28"))]
    assert report.truncated == 1  # chat / big (0.64) is a saving beyond the limit
    assert [(r.app, r.model_used, r.status) for r in report.skipped] == [
        ("batch", "acme/big", BELOW_MINIMUM),
        ("chat", "cheap/notools", ALREADY_CHEAPEST),
        ("chat", "gone/model", UNKNOWN_MODEL),
        ("idle", "acme/big", NO_CHARGE),
    ]
    assert report.total_saving_usd == D("1.92") and report.total_actual_usd == D("4.744")
    assert report.total_requests == 50 and report.total_saving_pct == D("40.47")
    assert [(a.key, a.saving_usd, a.actual_usd, a.groups_with_saving) for a in report.by_app] == [
        ("search", D("1.28"), D("1.6"), 1),
        ("chat", D("0.64"), D("2.814"), 1),
        ("batch", D("0"), D("0.33"), 0),
        ("idle", D("0"), D("0"), 0),
    ]
    assert [(m.key, m.saving_usd, m.requests) for m in report.by_model] == [
        ("acme/big", D("1.92"), 30), ("cheap/notools", D("0"), 10), ("gone/model", D("0"), 10),
    ]
    assert report.to_rows()[0] == {
        "app": "search", "model_used": "acme/big", "requests": 10, "uncharged_requests": 0,
        "prompt_tokens": 100_000, "completion_tokens": 20_000, "max_context_tokens": 12_000,
        "actual_usd": "1.6", "candidate": "acme/mid", "candidate_usd": "0.32",
        "used_model_current_usd": "1.6", "saving_usd": "1.28", "saving_pct": "80", "qualifying_candidates": 2,
        "status": SAVING,
    }
    assert report.to_rows("apps")[1] == {"app": "chat", "requests": 30, "actual_usd": "2.814",
                                         "saving_usd": "0.64", "saving_pct": "22.74", "groups_with_saving": 1}
    assert [r["model_used"] for r in report.to_rows("models")] == ["acme/big", "cheap/notools", "gone/model"]
    assert analyse_savings(list(reversed(groups)), CATALOG, PRICES, min_saving_usd=D("0.05"), limit=1) == report


def test_sums_that_contradict_themselves_are_reported_not_priced():
    row = analyse_group(_group(cached_tokens=200_000), CATALOG, PRICES)
    assert row.status == INCONSISTENT_USAGE


def test_catalog_rows_as_the_database_holds_them():
    rows = [
        {"id": "a/one", "upstream_provider": "a", "context_length": 1000, "input_modalities": ["text"],
         "output_modalities": ["text"], "supported_parameters": ["tools"], "supports_tools": True,
         "supports_structured_output": False, "supports_reasoning": False, "quality_score": D("0.5"),
         "status": "active", "prompt": D("0.000001"), "completion": D("0.000002"), "request": None,
         "pricing_raw": {"prompt": "0.000001", "completion": "0.000002"}, "price_is_variable": False},
        {"id": "a/router", "is_variable_price": True, "pricing_raw": {"prompt": "-1", "completion": "-1"},
         "price_is_variable": True},
    ]
    catalog, prices = catalog_from_rows(rows)
    assert catalog.get("a/one").supports_tools and catalog.get("a/one").quality_score == 0.5
    assert catalog.get("a/router").is_variable_price and set(prices) == {"a/one"}


def test_periods():
    assert period_bounds(date(2026, 11, 1), date(2026, 11, 30)) == (
        datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 12, 1, tzinfo=timezone.utc))
    with pytest.raises(OptimisationInputError):
        period_bounds(date(2026, 11, 2), date(2026, 11, 1))
    with pytest.raises(OptimisationInputError):
        period_bounds(datetime(2026, 11, 1), datetime(2026, 11, 2))


def test_the_analysis_imports_no_io_framework():
    code = (
        "import sys, minerva_core.optimisation, minerva_core.optimisation.analysis;"
        "bad = [m for m in ('httpx', 'sqlalchemy', 'prefect', 'fastapi', 'psycopg') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
