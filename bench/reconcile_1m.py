"""Benchmark: the pure reconciliation on 1,000,000 ledger rows vs 1,000,000 bill lines.

    uv run python bench/reconcile_1m.py [--rows 1000000] [--seed 7]

Generates both sides in memory as polars frames (vectorised; no Python row loop), with a
known sprinkling of every discrepancy class at generation level (the CSV-export case, the
largest), runs ``reconcile`` and ``summarise``, and prints a table: rows, seconds, peak RSS
(resource.getrusage ru_maxrss: the whole process, generation included) and the per-class
counts against the expected ones. Target: <= 20 s and <= 2 GB peak. Exit 1 on a wrong count.

Sprinkling (per million): 5,000 lost (billed, not in the ledger), 5,000 unbilled, 5,000
off by 0.01 USD, 5,000 with a stale estimate (+0.00001 USD), 2,000 ledger rows recorded twice and 2,000
bill lines billed twice. Money is exact: random nano-dollar integers cast to Decimal(38, 24).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minerva_core.reconciliation import MONEY, reconcile, summarise  # noqa: E402
from minerva_core.reconciliation.frames import BILL_SCHEMA, LEDGER_SCHEMA, MODELS_SCHEMA  # noqa: E402

LOST, UNBILLED, CENT, DRIFT, LEDGER_DUPS, BILL_DUPS = 5_000, 5_000, 5_000, 5_000, 2_000, 2_000
MODELS, KEYS = 200, 50
START = datetime(2026, 11, 1)
NANO = Decimal("0.000000001")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def scale(rows: int, count: int) -> int:
    return max(1, count * rows // 1_000_000)


def generate(rows: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, int]]:
    lost, unbilled, cent, drift = (scale(rows, n) for n in (LOST, UNBILLED, CENT, DRIFT))
    ledger_dups, bill_dups = scale(rows, LEDGER_DUPS), scale(rows, BILL_DUPS)
    common = rows - unbilled - ledger_dups  # ledger rows = common + unbilled + ledger_dups
    n = common + unbilled  # generations the ledger has (before duplicates)
    base = pl.DataFrame({"i": pl.int_range(0, n, eager=True)}).with_columns(
        pl.col("i").hash(seed).alias("h")
    ).with_columns(
        generation_id=pl.format("gen-{}", "i"),
        model_no=(pl.col("h") % MODELS),
        created_at=pl.lit(START) + pl.duration(milliseconds=pl.col("i") * (30 * 86_400_000 // n)),
        prompt_tokens=(pl.col("h") // 7 % 4000 + 1).cast(pl.Int64),
        completion_tokens=(pl.col("h") // 11 % 1500 + 1).cast(pl.Int64),
        cost=((pl.col("h") // 13 % 5_000_000 + 1).cast(pl.Decimal(38, 0)) * pl.lit(NANO)).cast(MONEY),
    )
    ledger = base.select(
        request_id=pl.format("req-{}", "i"), created_at="created_at", generation_id="generation_id",
        api_key_id=pl.format("key-{}", pl.col("h") % KEYS), model=pl.format("vendor/model-{}", "model_no"),
        provider_name=pl.format("Provider {}", pl.col("model_no") % 17), prompt_tokens="prompt_tokens",
        completion_tokens="completion_tokens", reasoning_tokens=pl.lit(0, dtype=pl.Int64), cost_usd="cost",
        cost_estimated_usd=pl.when(pl.col("i") < drift)
        .then(pl.col("cost") + pl.lit(Decimal("0.00001"), dtype=MONEY)).otherwise(pl.col("cost")),
    )
    # stale estimates on the first `drift` generations; 0.01 more billed on the next `cent`
    dup_rows = ledger.slice(drift + cent, ledger_dups).with_columns(
        request_id=pl.format("replay-{}", "request_id"), created_at=pl.col("created_at") + pl.duration(milliseconds=1)
    )
    ledger = pl.concat([ledger, dup_rows]).select(list(LEDGER_SCHEMA))

    billed = base.slice(0, common).select(
        "generation_id", "created_at", "model_no", "prompt_tokens", "completion_tokens",
        amount_usd=pl.when(pl.col("i").is_between(drift, drift + cent - 1, closed="both"))
        .then(pl.col("cost") + pl.lit(Decimal("0.01"), dtype=MONEY)).otherwise(pl.col("cost")),
    )
    lost_rows = billed.slice(0, lost).with_columns(generation_id=pl.format("gen-lost-{}", pl.int_range(0, lost)))
    bill_dup_rows = billed.slice(drift + cent + ledger_dups, bill_dups)
    bills = pl.concat([billed, lost_rows, bill_dup_rows]).with_row_index("bill_line_id", offset=1).select(
        bill_line_id=pl.col("bill_line_id").cast(pl.Int64), import_id=pl.lit("bench-import"),
        kind=pl.lit("openrouter_csv"), line_no=pl.col("bill_line_id").cast(pl.Int64), generation_id="generation_id",
        bill_date=pl.col("created_at").dt.date(), model=pl.format("vendor/model-{}-20261101", "model_no"),
        variant=pl.lit("standard"), provider_name=pl.format("Provider {}", pl.col("model_no") % 17),
        endpoint=pl.lit(None, dtype=pl.String), amount_usd="amount_usd", prompt_tokens="prompt_tokens",
        completion_tokens="completion_tokens", reasoning_tokens=pl.lit(0, dtype=pl.Int64), requests=pl.lit(1, dtype=pl.Int64),
    ).select(list(BILL_SCHEMA))
    models = pl.DataFrame({
        "id": [f"vendor/model-{m}" for m in range(MODELS)],
        "canonical_slug": [f"vendor/model-{m}-20261101" for m in range(MODELS)],
        "variant": [None] * MODELS,
    }, schema=MODELS_SCHEMA)
    expected = {
        "matched": common - cent - drift, "amount_mismatch": cent, "missing_in_ledger": lost,
        "missing_in_bill": unbilled, "price_drift": drift, "duplicate": ledger_dups + bill_dups,
    }
    return ledger, bills, models, expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    t0 = time.perf_counter()
    ledger, bills, models, expected = generate(args.rows, args.seed)
    t1 = time.perf_counter()
    rss_inputs = peak_rss_mb()
    result = reconcile(ledger, bills, tolerance="0.000001", models=models)
    t2 = time.perf_counter()
    summary = summarise(result)
    t3 = time.perf_counter()
    rss = peak_rss_mb()

    print(f"polars {pl.__version__}, {pl.thread_pool_size()} threads, money = {MONEY}")
    print(f"{'figure':<34}{'value':>18}")
    for label, value in (
        ("ledger rows", f"{ledger.height:,}"), ("bill lines", f"{bills.height:,}"), ("items", f"{result.items.height:,}"),
        ("generate inputs (s)", f"{t1 - t0:.2f}"), ("reconcile (s)", f"{t2 - t1:.2f}"),
        ("summarise (s)", f"{t3 - t2:.2f}"), ("reconcile + summarise (s)", f"{t3 - t1:.2f}"),
        ("peak RSS after inputs (MB)", f"{rss_inputs:,.0f}"), ("peak RSS, whole run (MB)", f"{rss:,.0f}"),
        ("accuracy", str(summary.accuracy)), ("billed total (USD)", str(summary.bill_total_usd)),
        ("net delta (USD)", str(summary.delta_usd)),
    ):
        print(f"{label:<34}{value:>18}")
    print(f"\n{'class':<20}{'counted':>12}{'expected':>12}  ok")
    wrong = 0
    for cls, want in expected.items():
        got = summary.counts[cls]
        wrong += got != want
        print(f"{cls:<20}{got:>12,}{want:>12,}  {'yes' if got == want else 'NO'}")
    within = (t3 - t1) <= 20 and rss <= 2048
    print(f"\ntarget <= 20 s and <= 2048 MB: {'met' if within else 'MISSED'}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
