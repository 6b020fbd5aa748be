"""The catalog's data-quality gate, with Great Expectations (ephemeral context).

Two layers stand between an upstream /models body and the live catalog:

1. structure: the normaliser refuses a record without an id, a duplicate id, a missing or
   negative prompt/completion price (`CatalogRecordError`); `structural_failure` turns that
   into a gate failure;
2. expectations on the normalised batch (this module): unique, non-null ids; names and
   author present; at least one output modality; prices non-negative (variable-price
   routers have none); context lengths within sane bounds; and a price move larger than
   `max_price_move_ratio` against the live price, which is flagged for review without
   blocking the batch.

A blocking failure quarantines the whole batch (the flow keeps the last good catalog live).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

import pandas as pd
import polars as pl

from minerva_core.catalog import NormalisedCatalog
from minerva_core.errors import CatalogError

log = logging.getLogger(__name__)

_GX_LOCK = threading.Lock()


@dataclass(frozen=True)
class GateConfig:
    # 0 is real: image, video and rerank models publish context_length 0.
    min_context_length: int = 0
    max_context_length: int = 100_000_000
    max_price_move_ratio: float = 10.0
    # Per token or per unit; real video models charge 0.36 per unit, so the cap is loose:
    # it catches unit mistakes (a price per million sent as per token), not market moves.
    max_price_per_unit: Decimal = Decimal("10")


@dataclass(frozen=True)
class GateResult:
    passed: bool
    failures: list[dict[str, Any]] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)
    evaluated: int = 0

    @property
    def summary(self) -> str:
        if self.passed:
            return f"{self.evaluated} expectations passed" + (
                f", {len(self.flagged)} flagged for review" if self.flagged else ""
            )
        return "; ".join(f["summary"] for f in self.failures)


def structural_failure(error: CatalogError) -> GateResult:
    """A batch the normaliser could not accept, as a failed gate."""
    details = {
        "expectation": "normalisable",
        "summary": str(error),
        "error_type": error.__class__.__name__,
    }
    for attr in ("index", "model_id", "field"):
        if hasattr(error, attr):
            details[attr] = getattr(error, attr)
    return GateResult(False, [details], [], 1)


def _gate_frame(
    catalog: NormalisedCatalog, live_prices: Mapping[str, Mapping[str, Decimal | None]]
) -> pd.DataFrame:
    models = catalog.models.select(
        "id", "name", "upstream_provider", "context_length",
        pl.col("output_modalities").list.len().alias("output_modality_count"),
    )
    prices = catalog.prices.select("id", "is_variable", "prompt", "completion")
    frame = models.join(prices, on="id", how="left")
    pdf = frame.select(pl.exclude("prompt", "completion")).to_pandas()
    prompt = frame["prompt"].to_list()
    completion = frame["completion"].to_list()
    # Money stays Decimal: object columns of Decimal compare exactly in pandas.
    pdf["prompt"] = pd.Series(prompt, dtype=object)
    pdf["completion"] = pd.Series(completion, dtype=object)
    pdf["price_move_ratio"] = [
        _move_ratio(live_prices.get(mid, {}).get("prompt"), new)
        for mid, new in zip(frame["id"].to_list(), prompt)
    ]
    return pdf


def _move_ratio(old: Decimal | None, new: Decimal | None) -> float | None:
    """How many times the price moved, either way (2.0 = doubled or halved); None if unknown."""
    if old is None or new is None or old <= 0 or new <= 0:
        return None
    ratio = new / old
    return float(ratio if ratio >= 1 else 1 / ratio)


def _suite(gx, config: GateConfig):
    e = gx.expectations
    blocking = [
        e.ExpectColumnValuesToNotBeNull(column="id"),
        e.ExpectColumnValuesToBeUnique(column="id"),
        e.ExpectColumnValuesToNotBeNull(column="name"),
        e.ExpectColumnValuesToNotBeNull(column="upstream_provider"),
        e.ExpectColumnValuesToBeBetween(column="output_modality_count", min_value=1),
        e.ExpectColumnValuesToBeBetween(
            column="context_length",
            min_value=config.min_context_length,
            max_value=config.max_context_length,
        ),
        e.ExpectColumnValuesToBeBetween(
            column="prompt", min_value=Decimal(0), max_value=config.max_price_per_unit
        ),
        e.ExpectColumnValuesToBeBetween(
            column="completion", min_value=Decimal(0), max_value=config.max_price_per_unit
        ),
    ]
    review = [
        e.ExpectColumnValuesToBeBetween(
            column="price_move_ratio", max_value=config.max_price_move_ratio
        )
    ]
    return blocking, review


def check_catalog(
    catalog: NormalisedCatalog,
    live_prices: Mapping[str, Mapping[str, Decimal | None]] | None = None,
    config: GateConfig = GateConfig(),
) -> GateResult:
    """Validate a normalised batch; blocking failures mean quarantine."""
    import great_expectations as gx

    frame = _gate_frame(catalog, live_prices or {})
    with _GX_LOCK:  # GE contexts are not safe to build concurrently
        context = gx.get_context(mode="ephemeral")
        _quiet(context)
        asset = context.data_sources.add_pandas("catalog").add_dataframe_asset("models")
        batch = asset.add_batch_definition_whole_dataframe("batch").get_batch(
            batch_parameters={"dataframe": frame}
        )
        blocking, review = _suite(gx, config)
        failures = _run(gx, context, batch, "blocking", blocking)
        flagged = _run(gx, context, batch, "review", review)
    return GateResult(not failures, failures, flagged, len(blocking) + len(review))


def _quiet(context) -> None:
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # progress bars are cosmetic; never fail the gate over them
        log.debug("could not disable Great Expectations progress bars")


def _run(gx, context, batch, name: str, expectations: list) -> list[dict[str, Any]]:
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in expectations:
        suite.add_expectation(expectation)
    outcome = batch.validate(suite, result_format="SUMMARY")
    failures = []
    for result in outcome.results:
        if result.success:
            continue
        config = result.expectation_config
        column = config.kwargs.get("column")
        details = result.result or {}
        sample = details.get("partial_unexpected_list") or []
        failures.append(
            {
                "expectation": config.type,
                "column": column,
                "unexpected_count": details.get("unexpected_count"),
                "sample": [str(v) for v in sample[:10]],
                "summary": f"{config.type} on {column}: {details.get('unexpected_count')} unexpected "
                f"(e.g. {', '.join(str(v) for v in sample[:3])})",
            }
        )
    return failures
