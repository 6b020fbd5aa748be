"""Catalog normalisation: OpenRouter ``GET /models`` bodies to typed polars frames. Pure.

No httpx, sqlalchemy, prefect or fastapi here: the flows fetch and store, this package only
transforms. Modules:

* ``parse``      envelope or bare array -> records (``read_payload``, ``load_json``)
* ``records``    the one Python pass over records (type guards, raw JSON, unknown keys)
* ``prices``     exact price reading, the prices frame and ``price_hash``
* ``families``   ``upstream_provider``, ``split_variant``, ``model_family``
* ``normalise``  ``normalise_catalog`` -> ``NormalisedCatalog``
* ``diff``       ``diff_catalog`` -> ``CatalogDiff`` (new / changed / repriced / deprecated ...)
* ``schema``     column dtypes (``MODELS_SCHEMA``, ``PRICES_SCHEMA``), ``PRICE_DIMENSIONS``
"""

from minerva_core.catalog.diff import CatalogDiff, diff_catalog
from minerva_core.catalog.families import model_family, split_variant, upstream_provider
from minerva_core.catalog.normalise import NormalisedCatalog, normalise_catalog
from minerva_core.catalog.parse import CatalogPayload, load_json, read_payload
from minerva_core.catalog.prices import price_decimals
from minerva_core.catalog.records import CatalogIssue
from minerva_core.catalog.schema import (
    MODELS_SCHEMA,
    PRICE_DIMENSIONS,
    PRICE_DTYPE,
    PRICES_SCHEMA,
)

__all__ = [
    "MODELS_SCHEMA",
    "PRICES_SCHEMA",
    "PRICE_DIMENSIONS",
    "PRICE_DTYPE",
    "CatalogDiff",
    "CatalogIssue",
    "CatalogPayload",
    "NormalisedCatalog",
    "diff_catalog",
    "load_json",
    "model_family",
    "normalise_catalog",
    "price_decimals",
    "read_payload",
    "split_variant",
    "upstream_provider",
]
