"""Cost optimisation: which requests a cheaper model meeting the same requirements could have
served, and the estimated saving per app, per model and per (app, model).

    with engine.connect() as conn:
        report = find_savings(conn, date(2026, 11, 1), date(2026, 11, 30),
                              min_saving_usd=Decimal("1"), limit=50)
    report.rows[0].candidate, report.rows[0].saving_usd, report.to_rows("apps")

The rules, conservative on purpose (a reported saving must be one that was really there):

* Only ``status = 'ok'`` ledger rows of the period, grouped by (app, model_used); the app is
  ``usage_ledger.app``, else ``api_keys.app``, else "(unattributed)". Only rows with an
  upstream charge (``cost_usd``) are compared; the others are counted, not priced.
* Requirements: the ledger keeps no per-request tools/modality flags, so the used model's
  capabilities stand for them. A candidate must have at least its input and output
  modalities; tools and structured output wherever the used model has them (the requests
  could have used them); reasoning where it has it and the group produced reasoning tokens
  (``SavingsPolicy.reasoning_from_usage``); a context length of at least the group's largest
  prompt + completion and a completion limit of at least its longest answer. Filtering is
  the routing engine's ``eligibility`` over its ``Catalog`` (so disabled, deprecated, expired,
  unpriced and variable-price models are out too), minus the used model itself.
* Quality: candidate ``quality_score`` >= used score - ``quality_tolerance`` (0.05); a
  missing score on either side disqualifies unless ``allow_unknown_quality``. Free models
  are left out unless ``include_free_models``, and ``:batch`` variants (asynchronous) unless
  the used model is one (``excluded_variants``).
* Cost: the group's actual token sums priced exactly (``minerva_core.pricing``) at the
  candidate's current price, as an upper bound: no prompt caching assumed on the candidate
  (cache reads/writes billed as plain prompt tokens) and, per price key, the dearest prompt
  tier or time window a request of the group could hit. The cheapest such candidate (ties by
  id) is reported when it costs less than both the actual charge and the used model's own
  current price (lower bound), so a mere price cut of the used model is not called a switch.
  saving = actual charge - candidate estimate; saving % of the actual charge.

Where the groups come from: ``find_savings(..., source="ledger")`` (the default) sums the raw
ledger rows of any period, as of now; ``source="rollup"`` sums mv_savings_daily (per UTC day,
refreshed by the refresh flow) for periods of whole UTC days: the same figures over the rows
its last refresh saw, in milliseconds instead of a scan of the ledger. The analytics API
reads the rollup; reconciliation and the CLI read the ledger.

Modules: ``report`` (policy, group, rows, rollups, report), ``candidates`` (requirements,
quality rule, price bounds, cheapest candidate, the per-catalog ``CandidatePool``),
``analysis`` (``analyse_savings``, pure), ``cache`` (``CatalogCache``: catalog and pools kept
per catalog version) and ``store`` (the SQL loaders and ``find_savings``; imported on first
use, so the pure modules pull in no sqlalchemy).
"""

from minerva_core.optimisation.analysis import analyse_group, analyse_savings
from minerva_core.optimisation.cache import CatalogCache
from minerva_core.optimisation.candidates import CandidatePool, price_bounds, requirements_for
from minerva_core.optimisation.report import (
    ALREADY_CHEAPEST,
    BELOW_MINIMUM,
    INCONSISTENT_USAGE,
    NO_CANDIDATE,
    NO_CHARGE,
    SAVING,
    UNATTRIBUTED,
    UNKNOWN_MODEL,
    Rollup,
    SavingsPolicy,
    SavingsReport,
    SavingsRow,
    UsageGroup,
)

_STORE = frozenset({"catalog_from_rows", "catalog_version", "find_savings", "load_catalog", "load_groups",
                    "load_rollup_groups"})


def __getattr__(name: str):
    """The SQL side on first use, so importing the pure modules pulls in no sqlalchemy."""
    if name in _STORE:
        from minerva_core.optimisation import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALREADY_CHEAPEST",
    "BELOW_MINIMUM",
    "INCONSISTENT_USAGE",
    "NO_CANDIDATE",
    "NO_CHARGE",
    "SAVING",
    "UNATTRIBUTED",
    "UNKNOWN_MODEL",
    "CandidatePool",
    "CatalogCache",
    "Rollup",
    "SavingsPolicy",
    "SavingsReport",
    "SavingsRow",
    "UsageGroup",
    "analyse_group",
    "analyse_savings",
    "catalog_from_rows",
    "catalog_version",
    "find_savings",
    "load_catalog",
    "load_groups",
    "load_rollup_groups",
    "price_bounds",
    "requirements_for",
]
