"""What changed between the stored catalog and a freshly normalised one. Pure, no I/O.

``diff_catalog(previous_models, previous_price_hashes, new)``:

* ``previous_models``: a frame with ``id`` and ``metadata_hash`` (the stored ``ai_models``
  rows, or a previous ``NormalisedCatalog.models``), optionally ``status``
  (``active | deprecated | disabled``; an absent column or a null status means active).
  ``None`` or an empty frame on a first run. A null ``metadata_hash`` counts as changed.
* ``previous_price_hashes``: ``{model_id: price_hash}`` of the current prices, or a frame
  with ``id`` and ``price_hash``. ``None`` means none.
* ``new``: the ``NormalisedCatalog`` just fetched.

Sets of ids in the result (a model may be both ``changed`` and ``repriced``):

* ``new``: in the new catalog, not in ``previous_models`` at all.
* ``changed``: in both, ``metadata_hash`` differs.
* ``repriced``: in both, ``price_hash`` differs from the previous one, or there was none.
* ``reactivated``: in both and previously ``deprecated`` (it came back upstream).
* ``deprecated``: previously ``active``, absent now. Absent ``disabled`` rows (an admin's
  decision) and already ``deprecated`` ones are left alone.
* ``unchanged``: in both and in none of ``changed``, ``repriced``, ``reactivated``.

So ``new | changed | repriced | reactivated | unchanged`` is exactly the new catalog's ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from minerva_core.catalog.normalise import NormalisedCatalog


@dataclass(frozen=True)
class CatalogDiff:
    new: frozenset[str]
    changed: frozenset[str]
    repriced: frozenset[str]
    deprecated: frozenset[str]
    reactivated: frozenset[str]
    unchanged: frozenset[str]

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "changed": len(self.changed),
            "repriced": len(self.repriced),
            "deprecated": len(self.deprecated),
            "reactivated": len(self.reactivated),
            "unchanged": len(self.unchanged),
        }

    @property
    def touched(self) -> frozenset[str]:
        """Ids whose stored rows must be written (everything but ``unchanged``)."""
        return self.new | self.changed | self.repriced | self.reactivated | self.deprecated


def _price_hash_frame(previous: Mapping[str, str] | pl.DataFrame | None) -> pl.DataFrame:
    schema = {"id": pl.String, "previous_price_hash": pl.String}
    if previous is None:
        return pl.DataFrame(schema=schema)
    if isinstance(previous, pl.DataFrame):
        return previous.select(
            pl.col("id").cast(pl.String),
            pl.col("price_hash").cast(pl.String).alias("previous_price_hash"),
        ).unique("id", keep="last")
    return pl.DataFrame(
        {"id": list(previous.keys()), "previous_price_hash": list(previous.values())}, schema=schema
    )


def _previous_frame(previous: pl.DataFrame | None) -> pl.DataFrame:
    schema = {
        "id": pl.String,
        "previous_metadata_hash": pl.String,
        "status": pl.String,
        "_known": pl.Boolean,
    }
    if previous is None or previous.height == 0:
        return pl.DataFrame(schema=schema)
    status = pl.col("status").cast(pl.String) if "status" in previous.columns else pl.lit(None)
    return previous.select(
        pl.col("id").cast(pl.String),
        pl.col("metadata_hash").cast(pl.String).alias("previous_metadata_hash"),
        status.fill_null("active").alias("status"),
        pl.lit(True).alias("_known"),
    ).unique("id", keep="last")


def diff_catalog(
    previous_models: pl.DataFrame | None,
    previous_price_hashes: Mapping[str, str] | pl.DataFrame | None,
    new: NormalisedCatalog,
) -> CatalogDiff:
    previous = _previous_frame(previous_models)
    current = new.models.select("id", "metadata_hash").join(
        new.prices.select("id", "price_hash"), on="id", how="left"
    )
    joined = (
        current.join(previous, on="id", how="left")
        .join(_price_hash_frame(previous_price_hashes), on="id", how="left")
        .with_columns(pl.col("_known").is_null().alias("_is_new"))
    )
    kept = ~pl.col("_is_new")
    flags = joined.select(
        "id",
        pl.col("_is_new").alias("new"),
        (kept & pl.col("metadata_hash").ne_missing(pl.col("previous_metadata_hash"))).alias(
            "changed"
        ),
        (kept & pl.col("price_hash").ne_missing(pl.col("previous_price_hash"))).alias("repriced"),
        (kept & (pl.col("status") == "deprecated")).alias("reactivated"),
    ).with_columns(
        (~pl.col("new") & ~pl.col("changed") & ~pl.col("repriced") & ~pl.col("reactivated")).alias(
            "unchanged"
        )
    )

    def ids(column: str) -> frozenset[str]:
        return frozenset(flags.filter(pl.col(column))["id"].to_list())

    gone = previous.join(current.select("id"), on="id", how="anti").filter(
        pl.col("status") == "active"
    )
    return CatalogDiff(
        new=ids("new"),
        changed=ids("changed"),
        repriced=ids("repriced"),
        deprecated=frozenset(gone["id"].to_list()),
        reactivated=ids("reactivated"),
        unchanged=ids("unchanged"),
    )
