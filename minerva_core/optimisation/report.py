"""The value types of the savings analysis: the policy, a ledger group in, the report out.
Money is Decimal USD throughout; ``to_rows`` renders it as plain decimal strings. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from minerva_core.pricing import decimal_string

UNATTRIBUTED = "(unattributed)"  # the app of requests whose ledger row and key name none
_ZERO = Decimal(0)
_PCT = Decimal("0.01")

# Why a group has no reported saving (SavingsRow.status); "saving" when it has one.
SAVING = "saving"
ALREADY_CHEAPEST = "already_cheapest"  # qualifying models exist, none cheaper than the charge
NO_CANDIDATE = "no_qualifying_candidate"  # no other model meets the group's requirements
UNKNOWN_MODEL = "model_not_in_catalog"  # the requirements cannot be known
NO_CHARGE = "no_charge"  # no row of the group has an upstream charge yet
INCONSISTENT_USAGE = "inconsistent_usage"  # token sums that contradict themselves
BELOW_MINIMUM = "below_min_saving"  # a saving, smaller than min_saving_usd


@dataclass(frozen=True, slots=True)
class SavingsPolicy:
    """How conservative the analysis is (see the package docstring for every rule).

    ``quality_tolerance``: a candidate's quality_score may be this much lower than the used
    model's (scores are 0..1). ``allow_unknown_quality``: accept a candidate when either
    score is unknown (otherwise no comparison, no candidate). ``include_free_models``: free
    variants (``:free``, price 0) are rate-limited and not for production traffic, so they are
    left out unless asked. ``excluded_variants``: id suffixes whose service differs from a
    live request's (``:batch`` is asynchronous, answered within hours) are no candidates,
    unless the used model is of that variant too. ``reasoning_from_usage``: require
    reasoning support only when the group produced reasoning tokens (False: whenever the
    used model supports it).
    """

    quality_tolerance: Decimal = Decimal("0.05")
    allow_unknown_quality: bool = False
    include_free_models: bool = False
    excluded_variants: frozenset[str] = frozenset({"batch"})
    reasoning_from_usage: bool = True


@dataclass(frozen=True, slots=True)
class UsageGroup:
    """The ok requests of one (app, model_used) in the period, as the loader sums them.

    Token sums cover the ``requests`` rows that have an upstream charge (``actual_usd`` is
    their sum); ``uncharged_requests`` are left out of the comparison. The maxima (what the
    requirements are made of) cover every ok row of the group."""

    app: str
    model_used: str
    requests: int
    actual_usd: Decimal
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    audio_tokens: int = 0
    image_count: int = 0
    web_search_count: int = 0
    max_context_tokens: int = 0  # largest prompt + completion of one request
    max_prompt_tokens: int = 0
    max_completion_tokens: int = 0
    uncharged_requests: int = 0


@dataclass(frozen=True, slots=True)
class SavingsRow:
    """One (app, model_used) group and its cheapest qualifying alternative, if any.

    ``candidate_usd`` is the group's tokens at the candidate's current price (upper bound:
    no caching assumed, the dearest price tier or time window it could hit);
    ``used_model_current_usd`` the same tokens at the used model's current price (lower
    bound), which the candidate must also beat. ``saving_usd = actual_usd - candidate_usd``.
    """

    app: str
    model_used: str
    requests: int
    uncharged_requests: int
    prompt_tokens: int
    completion_tokens: int
    max_context_tokens: int
    actual_usd: Decimal
    status: str
    candidate: str | None = None
    candidate_usd: Decimal | None = None
    used_model_current_usd: Decimal | None = None
    saving_usd: Decimal = _ZERO
    qualifying_candidates: int = 0

    @property
    def saving_pct(self) -> Decimal | None:
        return percent(self.saving_usd, self.actual_usd)

    def as_row(self) -> dict[str, Any]:
        return {
            "app": self.app, "model_used": self.model_used, "requests": self.requests,
            "uncharged_requests": self.uncharged_requests, "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens, "max_context_tokens": self.max_context_tokens,
            "actual_usd": money(self.actual_usd), "candidate": self.candidate or "",
            "candidate_usd": money(self.candidate_usd),
            "used_model_current_usd": money(self.used_model_current_usd),
            "saving_usd": money(self.saving_usd), "saving_pct": money(self.saving_pct),
            "qualifying_candidates": self.qualifying_candidates, "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class Rollup:
    """Savings summed per app or per used model: ``actual_usd``/``requests`` over every
    analysed group of that key, ``saving_usd`` over its reported savings."""

    key: str
    requests: int
    actual_usd: Decimal
    saving_usd: Decimal
    groups_with_saving: int

    @property
    def saving_pct(self) -> Decimal | None:
        return percent(self.saving_usd, self.actual_usd)

    def as_row(self, key_name: str) -> dict[str, Any]:
        return {
            key_name: self.key, "requests": self.requests, "actual_usd": money(self.actual_usd),
            "saving_usd": money(self.saving_usd), "saving_pct": money(self.saving_pct),
            "groups_with_saving": self.groups_with_saving,
        }


@dataclass(frozen=True)
class SavingsReport:
    """``rows``: the savings of at least ``min_saving_usd``, largest first (then app,
    model), at most ``limit``; ``skipped``: every other group with its status, by app and
    model. Rollups and totals cover every analysed group, not only the listed rows."""

    period_from: datetime | None
    period_to: datetime | None
    policy: SavingsPolicy
    min_saving_usd: Decimal
    rows: tuple[SavingsRow, ...]
    skipped: tuple[SavingsRow, ...]
    by_app: tuple[Rollup, ...]
    by_model: tuple[Rollup, ...]
    total_actual_usd: Decimal
    total_saving_usd: Decimal
    total_requests: int
    truncated: int = 0  # savings rows left out by the limit
    notes: tuple[str, ...] = field(default=())

    @property
    def total_saving_pct(self) -> Decimal | None:
        return percent(self.total_saving_usd, self.total_actual_usd)

    def to_rows(self, section: str = "rows") -> list[dict[str, Any]]:
        """Flat dicts for a table (money as decimal strings): ``rows`` (default),
        ``skipped``, ``apps`` or ``models``."""
        if section in ("rows", "skipped"):
            return [r.as_row() for r in getattr(self, section)]
        if section == "apps":
            return [r.as_row("app") for r in self.by_app]
        if section == "models":
            return [r.as_row("model_used") for r in self.by_model]
        raise ValueError(f"unknown section {section!r}; rows, skipped, apps or models")


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """part / whole in percent, to 0.01 (half-even); None when whole is 0."""
    if not whole:
        return None
    return (part * 100 / whole).quantize(_PCT, rounding=ROUND_HALF_EVEN)


def money(value: Decimal | None) -> str:
    return "" if value is None else decimal_string(value)
