"""Before matching: map models, mark duplicates, and choose each line's level.

Levels. A day is *generation-level* when a per-generation bill (the CSV export) covers it:
each such import covers the days from its first to its last line. Ledger rows of those days
(or whose generation_id a per-generation bill names) are matched by generation_id; aggregate
bill lines (/activity, invoices) of those days are *superseded*: they bill the same usage at
a coarser grain, so they are set aside (counted in the report), never compared twice. Every
other day is *aggregate-level*: ledger and bill are both summed per day x model x provider.

Duplicates. Ledger rows are ordered by (created_at, request_id) within a generation_id; bill
lines by (bill_line_id, import_id, line_no) within their line key (the generation_id; for
/activity, date + model + endpoint_id; invoices have none: their repeated lines are summed).
The first occurrence takes part in matching; every later one becomes a ``duplicate`` item.
Only rows whose key hash repeats are sorted, so a million unique rows cost one hash pass.

Each side gets an ordinal (``_ord``, its position in the input) for a cheap, stable order.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from minerva_core.reconciliation.frames import MONEY
from minerva_core.reconciliation.models import model_map

GENERATION = "generation"
AGGREGATE = "aggregate"
SUPERSEDED = "superseded"
_NO_VARIANT = "\x00"


def _vkey(kind_is_csv: pl.Expr) -> pl.Expr:
    return pl.when(kind_is_csv).then(pl.col("variant").fill_null("")).otherwise(
        pl.col("variant").fill_null(_NO_VARIANT)
    )


def mappings(ledger: pl.DataFrame, bills: pl.DataFrame, models: pl.DataFrame | None) -> pl.DataFrame:
    """The model map for every distinct name either side uses, with how many bill lines use it."""
    names = [(m, None, False) for m in ledger.get_column("model").unique().to_list()]
    billed = (
        bills.select("model", "variant", _csv=pl.col("kind") == "openrouter_csv")
        .with_columns(_variant=_vkey(pl.col("_csv")))
        .group_by("model", "_variant", "_csv")
        .len()
    )
    for name, variant, is_csv, _ in billed.iter_rows():
        names.append((name, None if variant == _NO_VARIANT else variant, is_csv))
    mapped = model_map(models, names).with_columns(_variant=pl.col("variant").fill_null(_NO_VARIANT))
    return mapped.join(
        billed.rename({"model": "name", "_csv": "slug_first", "len": "bill_lines"}),
        on=["name", "_variant", "slug_first"], how="left", nulls_equal=True,
    ).with_columns(pl.col("bill_lines").fill_null(0))


def _repeats(data: pl.DataFrame, mask: pl.Expr, key: list[str], order: list[str], first: pl.Expr) -> pl.DataFrame:
    """(_ord, occurrence, duplicate_of) of every later occurrence of a key among ``mask`` rows.
    Only rows whose key hash repeats are sorted (a superset of the true repeats, then exact)."""
    candidates = data.filter(mask & pl.struct(key).hash().is_duplicated())
    if candidates.height == 0:
        return pl.DataFrame(schema={"_ord": pl.Int64, "occurrence": pl.Int64, "duplicate_of": pl.String})
    return (
        candidates.sort(key + order, nulls_last=True)
        .select(
            "_ord",
            occurrence=pl.int_range(pl.len(), dtype=pl.Int64).over(key),
            duplicate_of=first.first().over(key).cast(pl.String),
        )
        .filter(pl.col("occurrence") > 0)
    )


def _mark(data: pl.DataFrame, repeats: pl.DataFrame) -> pl.DataFrame:
    """Write ``occurrence`` (0 = first) and ``duplicate_of`` at the rows' ordinals."""
    occurrence = pl.zeros(data.height, dtype=pl.Int64, eager=True).alias("occurrence")
    duplicate_of = pl.Series("duplicate_of", [None] * data.height, dtype=pl.String)
    if repeats.height:
        occurrence = occurrence.scatter(repeats["_ord"], repeats["occurrence"])
        duplicate_of = duplicate_of.scatter(repeats["_ord"], repeats["duplicate_of"])
    return data.with_columns(occurrence, duplicate_of)


def _lookup(key: pl.Expr, table: pl.DataFrame, value: str) -> pl.Expr:
    """The mapping table's ``value`` for ``key`` (a tiny table: replace_strict, not a join)."""
    return key.replace_strict(table["_key"], table[value], default=None, return_dtype=pl.String)


def prepare_ledger(ledger: pl.DataFrame, mapped: pl.DataFrame) -> pl.DataFrame:
    table = mapped.filter(~pl.col("slug_first") & pl.col("variant").is_null() & pl.col("name").is_not_null())
    table = table.with_columns(_key=pl.col("name"))
    zero = pl.lit(0, dtype=MONEY)
    data = ledger.with_row_index("_ord").with_columns(
        pl.col("_ord").cast(pl.Int64),
        day=pl.col("created_at").dt.date(),
        amount=pl.coalesce("cost_usd", "cost_estimated_usd", zero),
        amount_source=pl.when(pl.col("cost_usd").is_not_null()).then(pl.lit("charge"))
        .when(pl.col("cost_estimated_usd").is_not_null()).then(pl.lit("estimate"))
        .otherwise(pl.lit("none")),
        tokens=pl.col("prompt_tokens").fill_null(0) + pl.col("completion_tokens").fill_null(0),
        model_id=pl.coalesce(_lookup(pl.col("model"), table, "model_id"), pl.col("model")),
        model_mapping=_lookup(pl.col("model"), table, "mapping"),
    )
    return _mark(data, _repeats(
        data, pl.col("generation_id").is_not_null(), ["generation_id"], ["created_at", "request_id"],
        pl.col("request_id"),
    ))


def _combo(model: pl.Expr, variant: pl.Expr, csv: pl.Expr) -> pl.Expr:
    return pl.struct(model.alias("m"), variant.alias("v"), csv.alias("c")).hash()


def prepare_bills(bills: pl.DataFrame, mapped: pl.DataFrame) -> pl.DataFrame:
    # Every billed (model, variant, kind) is a row of ``mapped``: hashing those few combos
    # (checked unique) maps a million lines without a join.
    table = mapped.with_columns(_key=_combo(pl.col("name"), pl.col("_variant"), pl.col("slug_first")))
    if not table["_key"].is_unique().all():  # pragma: no cover - a 64-bit collision among a few names
        raise AssertionError("model mapping keys collide")
    csv = pl.col("kind") == "openrouter_csv"
    key = _combo(pl.col("model"), _vkey(csv), csv)
    data = bills.with_row_index("_ord").with_columns(pl.col("_ord").cast(pl.Int64), _key=key).with_columns(
        day=pl.col("bill_date"),
        model_id=pl.coalesce(_lookup(pl.col("_key"), table, "model_id"), pl.col("model")),
        model_mapping=_lookup(pl.col("_key"), table, "mapping"),
        model_candidates=_lookup(pl.col("_key"), table, "candidates"),
        tokens=pl.col("prompt_tokens") + pl.col("completion_tokens"),
    ).drop("_key")
    label = pl.format("bill line {}", pl.coalesce(pl.col("bill_line_id"), pl.col("line_no")))
    order = ["bill_line_id", "import_id", "line_no"]
    activity = pl.col("generation_id").is_null() & (pl.col("kind") == "activity_api")
    return _mark(data, pl.concat([
        _repeats(data, pl.col("generation_id").is_not_null(), ["generation_id"], order, label),
        _repeats(data, activity, ["bill_date", "model", "endpoint"], order, label),
    ]))


def generation_days(bills: pl.DataFrame) -> list[date]:
    """Days covered by per-generation imports: each import from its first to its last line."""
    spans = (
        bills.filter(pl.col("generation_id").is_not_null())
        .group_by("import_id")
        .agg(first=pl.col("bill_date").min(), last=pl.col("bill_date").max())
    )
    days: set[date] = set()
    for _, first, last in spans.iter_rows():
        current = first
        while current <= last:
            days.add(current)
            current += timedelta(days=1)
    return sorted(days)


def assign_levels(ledger: pl.DataFrame, bills: pl.DataFrame, days: list[date]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add ``level`` to both sides (bill lines superseded by a per-generation bill: "superseded")."""
    covered = pl.col("day").is_in(pl.Series(days, dtype=pl.Date).implode())
    on_covered = ledger.select(covered).to_series()
    level = pl.Series("level", [AGGREGATE] * ledger.height, dtype=pl.String)
    level = level.set(on_covered, GENERATION) if on_covered.any() else level
    outside = ledger.filter(~on_covered & pl.col("generation_id").is_not_null())
    if outside.height:  # rows of uncovered days a per-generation bill still names
        billed = bills.filter(pl.col("generation_id").is_not_null()).select("generation_id")
        named = outside.join(billed, on="generation_id", how="semi")
        if named.height:
            level = level.scatter(named["_ord"], GENERATION)
    ledger = ledger.with_columns(level)
    bills = bills.with_columns(
        level=pl.when(pl.col("generation_id").is_not_null()).then(pl.lit(GENERATION))
        .when(covered).then(pl.lit(SUPERSEDED))
        .otherwise(pl.lit(AGGREGATE))
    )
    return ledger, bills
