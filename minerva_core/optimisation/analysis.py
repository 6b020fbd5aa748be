"""``analyse_savings``: ledger groups + the live catalog and prices -> ``SavingsReport``. Pure."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime
from decimal import Context, Decimal, localcontext
from typing import Iterable, Mapping

from minerva_core.errors import InvalidUsageError
from minerva_core.optimisation.candidates import CandidatePool, cheapest_candidate, used_model_cost, used_usage
from minerva_core.optimisation.report import (
    ALREADY_CHEAPEST,
    BELOW_MINIMUM,
    INCONSISTENT_USAGE,
    NO_CANDIDATE,
    NO_CHARGE,
    SAVING,
    UNKNOWN_MODEL,
    Rollup,
    SavingsPolicy,
    SavingsReport,
    SavingsRow,
    UsageGroup,
)
from minerva_core.pricing import Pricing
from minerva_core.routing import Catalog

_ZERO = Decimal(0)
_EXACT = Context(prec=200)  # sums and differences of exact amounts stay exact


def analyse_group(
    group: UsageGroup,
    catalog: Catalog,
    prices: Mapping[str, Pricing],
    policy: SavingsPolicy = SavingsPolicy(),
    *,
    today: date | None = None,
    pool: CandidatePool | None = None,
) -> SavingsRow:
    """The group's row: its cheapest qualifying candidate and the saving, or why there is none.
    ``pool``: a CandidatePool over the same catalog, prices and policy, shared between groups."""

    def row(status: str, **more) -> SavingsRow:
        return SavingsRow(
            app=group.app, model_used=group.model_used, requests=group.requests,
            uncharged_requests=group.uncharged_requests, prompt_tokens=group.prompt_tokens,
            completion_tokens=group.completion_tokens, max_context_tokens=group.max_context_tokens,
            actual_usd=group.actual_usd, status=status, **more,
        )

    used = catalog.get(group.model_used)
    if used is None:
        return row(UNKNOWN_MODEL)
    if group.requests == 0:
        return row(NO_CHARGE)
    try:
        used_usage(group)
    except InvalidUsageError:
        return row(INCONSISTENT_USAGE)
    current = used_model_cost(prices.get(used.id), group, pool if pool is not None and pool.prices is prices else None)
    choice = cheapest_candidate(catalog, prices, used, group, policy, today=today, pool=pool)
    if choice.model_id is None:
        return row(NO_CANDIDATE, used_model_current_usd=current)
    assert choice.cost_usd is not None
    cheaper = choice.cost_usd < group.actual_usd and (current is None or choice.cost_usd < current)
    if not cheaper:
        return row(ALREADY_CHEAPEST, used_model_current_usd=current,
                   qualifying_candidates=choice.qualifying)
    return row(SAVING, candidate=choice.model_id, candidate_usd=choice.cost_usd,
               used_model_current_usd=current,
               saving_usd=_EXACT.subtract(group.actual_usd, choice.cost_usd),
               qualifying_candidates=choice.qualifying)


def analyse_savings(
    groups: Iterable[UsageGroup],
    catalog: Catalog,
    prices: Mapping[str, Pricing],
    *,
    policy: SavingsPolicy = SavingsPolicy(),
    min_saving_usd: Decimal = _ZERO,
    limit: int | None = 100,
    today: date | None = None,
    period_from: datetime | None = None,
    period_to: datetime | None = None,
    pool: CandidatePool | None = None,
) -> SavingsReport:
    """Every group analysed; savings of at least ``min_saving_usd`` listed (largest first,
    at most ``limit``; None lists all), the rest in ``skipped`` with their status. ``pool``
    (a CandidatePool over the same catalog, prices and policy) may be kept and passed again
    while the catalog is unchanged (it then also keeps each group's row); without one, a
    fresh one serves this call."""
    if pool is None or pool.catalog is not catalog or pool.prices is not prices or pool.policy != policy:
        pool = CandidatePool(catalog, prices, policy)
    listed: list[SavingsRow] = []
    skipped: list[SavingsRow] = []
    rows = (pool.analysed(g, today, lambda g=g: analyse_group(g, catalog, prices, policy, today=today, pool=pool))
            for g in groups)
    for r in rows:
        if r.status == SAVING and r.saving_usd >= min_saving_usd:
            listed.append(r)
        else:  # a saving under the threshold stays visible, not counted as a saving
            skipped.append(replace(r, status=BELOW_MINIMUM) if r.status == SAVING else r)
    listed.sort(key=lambda r: (-r.saving_usd, r.app, r.model_used))
    skipped.sort(key=lambda r: (r.app, r.model_used))
    shown = listed if limit is None else listed[: max(limit, 0)]
    every = listed + skipped
    return SavingsReport(
        period_from=period_from,
        period_to=period_to,
        policy=policy,
        min_saving_usd=min_saving_usd,
        rows=tuple(shown),
        skipped=tuple(skipped),
        by_app=_rollup(every, lambda r: r.app),
        by_model=_rollup(every, lambda r: r.model_used),
        total_actual_usd=_sum(r.actual_usd for r in every),
        total_saving_usd=_sum(r.saving_usd for r in listed),
        total_requests=sum(r.requests for r in every),
        truncated=len(listed) - len(shown),
    )


def _rollup(rows: list[SavingsRow], key) -> tuple[Rollup, ...]:
    requests: dict[str, int] = defaultdict(int)
    actual: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    saving: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    with_saving: dict[str, int] = defaultdict(int)
    for r in rows:
        k = key(r)
        requests[k] += r.requests
        actual[k] = _EXACT.add(actual[k], r.actual_usd)
        if r.status == SAVING:
            saving[k] = _EXACT.add(saving[k], r.saving_usd)
            with_saving[k] += 1
    out = [Rollup(k, requests[k], actual[k], saving[k], with_saving[k]) for k in requests]
    out.sort(key=lambda r: (-r.saving_usd, r.key))
    return tuple(out)


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    with localcontext(_EXACT):
        return sum(amounts, _ZERO)
