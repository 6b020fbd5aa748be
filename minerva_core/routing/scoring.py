"""Ranking strategies: the top k eligible models by a strategy's key. Pure, deterministic
(every key ends with the model id).

Keys, smallest first (P, C = the request's prompt and completion tokens; latency = the
health figure ``ModelHealth.latency_ms(stream)``, unknown after every known one;
cost = ``P*prompt + C*completion + request``, exact integers):

* cheapest    (cost, latency, id)
* fastest     (latency, -throughput, id)
* throughput  (-throughput, latency, id)        (provider.sort = "throughput")
* quality     (-quality, cost, id)              (unknown quality = 0.5, see quality.py)
* balanced / custom: (-score, id), ``score = wc*cost_score + wl*latency_score + wq*quality``
  with the weights normalised to sum 1 and, over the eligible models:

  - ``cost_score = 1 - log10((cost + f) / (min_cost + f)) / 5``: 1 for the cheapest eligible
    model, 0.2 less per decade dearer (prices span ~4-5 decades). ``f`` is the request at
    $0.01 per million tokens, so a free model has a finite log, one decade ahead of a
    $0.10/M model rather than infinitely far.
  - ``latency_score = 1 - log10(latency / min_latency) / 3``: 1 for the fastest eligible,
    1/3 less per decade slower. Unknown latency counts as the catalog's median latency.
  - ``quality``: the catalog's 0..1 score, unknown 0.5.

  Log scales anchored at the best eligible model rather than min-max: a difference of logs
  does not depend on the anchor, so the *order* never depends on which other models are
  eligible (adding or removing a model cannot swap two others; min-max scaling would let
  one very dear model reorder the rest). The anchors only set the displayed scores. Scores
  are not clipped: a model > 5 decades dearer or > 1000x slower can dip below 0.

How: fastest / throughput walk a static order; quality walks static quality groups and
breaks ties by cost; cost-based keys use the threshold algorithm over the two pre-sorted
orders of the ``alpha`` grid points around the request's alpha = P / (P + C): the key at
alpha is at least the interpolation of the grid keys (exactly, for cost, which is linear in
alpha; by concavity for log cost), so the walk stops, exactly, once the k-th best found
beats that bound for every model not yet seen. Free models (every price 0) lead any cost
order and are taken from their own latency order. Each step skips ineligible models with
one bit test; a small eligible set (<= ``DIRECT_MAX``) is simply evaluated whole.
"""

from __future__ import annotations

import math
from bisect import insort
from typing import Any, Callable

from minerva_core.routing.catalog import Catalog
from minerva_core.routing.orders import (
    ALPHA_GRID,
    COST_FLOOR,
    COST_SPAN_LN,
    INF,
    LATENCY_SPAN_LN,
    SortedList,
)

Key = tuple[Any, ...]
Exact = Callable[[int], "Key | None"]
DIRECT_MAX = 24
MARGIN_SPAN = 0.1  # a score lead of 0.1 (on 0..1) counts as a clear win
COST_KINDS = ("cheapest", "quality")


def bits(mask: int) -> list[int]:
    """The set bit positions of ``mask``, lowest first."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def alpha_grid(P: int, C: int) -> tuple[int, int, int]:
    """(j, u, v): alpha = P/(P+C) lies in [j/J, (j+1)/J] and u*K_j + v*K_{j+1} = J*(P p + C c)
    for K_j = j*p + (J-j)*c, with u, v >= 0 and u + v = P + C."""
    J, T = ALPHA_GRID, P + C
    j = min(J - 1, (J * P) // T) if T else 0
    return j, (j + 1) * T - J * P, J * P - j * T


def threshold_top(
    bit: list[int], eligible: int, k: int, list_a: SortedList, list_b: SortedList,
    wa: Any, wb: Any, exact: Exact, slack: float = 0.0, ties: bool = False,
) -> list[tuple[Key, int]]:
    """Top k by ``exact(i)``, whose first element must be >= ``wa*a_i + wb*b_i`` (a_i, b_i:
    the model's values in the two sorted lists). None from ``exact`` skips a model.
    ``ties=True``: stop at a possible tie with the k-th (when only values matter)."""
    order_a, vals_a = list_a
    order_b, vals_b = list_b
    n = len(order_a)
    pa = pb = 0
    seen = 0
    best: list[tuple[Key, int]] = []
    turn = True
    while True:
        while pa < n and not bit[order_a[pa]] & eligible:
            pa += 1
        while pb < n and not bit[order_b[pb]] & eligible:
            pb += 1
        if pa >= n or pb >= n:
            # Every eligible entry of one list was taken from it: all have been evaluated.
            return best
        if len(best) >= k:
            kth = best[-1][0][0]
            bound = wa * vals_a[pa] + wb * vals_b[pb] - slack
            if kth < bound or (ties and kth <= bound):
                return best
        if turn:
            i = order_a[pa]
            pa += 1
        else:
            i = order_b[pb]
            pb += 1
        turn = not turn
        b = bit[i]
        if seen & b:
            continue
        seen |= b
        key = exact(i)
        if key is None:
            continue
        if len(best) < k:
            insort(best, (key, i))
        elif key < best[-1][0]:
            best.pop()
            insort(best, (key, i))


def direct_top(mask: int, k: int, exact: Exact) -> list[tuple[Key, int]]:
    keyed = [(key, i) for i in bits(mask) if (key := exact(i)) is not None]
    keyed.sort()
    return keyed[:k]


def walk_top(order: Any, bit: list[int], mask: int, k: int, exact: Exact) -> list[tuple[Key, int]]:
    """The first k eligible models of a static order (``exact`` may veto one)."""
    out: list[tuple[Key, int]] = []
    for i in order:
        if bit[i] & mask:
            key = exact(i)
            if key is not None:
                out.append((key, i))
                if len(out) >= k:
                    break
    return out


class Ranker:
    """Ranks eligible models for one request by one ranking kind.

    ``top(mask, k)`` -> [(key, model index)] best first; ``margin(first, second)`` the
    winner's lead, 0..1; ``parts(i, eligible)`` the (cost, latency, quality) scores of a
    weighted ranking. ``rejected_over_cost`` collects the models ``max_cost_usd`` vetoed.
    """

    def __init__(
        self,
        catalog: Catalog,
        kind: str,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        stream: bool,
        cost_cap: int | None,
        weights: tuple[float, float, float] = (0.4, 0.3, 0.3),
        output_modalities: frozenset[str] = frozenset({"text"}),
    ) -> None:
        self.catalog = c = catalog
        self.orders = catalog.orders_for(output_modalities)
        self.kind = kind
        self.weights = weights
        self.P, self.C, self.s = P, C, s = prompt_tokens, completion_tokens, int(stream)
        self.cap = cap = cost_cap
        self.rejected_over_cost: set[int] = set()
        self._anchors: tuple[float, float | None] | None = None
        self.j, self.u, self.v = alpha_grid(P, C)
        # Zero tokens: every cost is the request price, the grid bounds say nothing -> direct.
        self.no_tokens = P + C == 0
        self.cost_based = kind in COST_KINDS or (kind in ("balanced", "custom") and weights[0] > 0)
        p, cc, r, ids, lat = c.p_int, c.c_int, c.r_int, c.ids, c.lat[s]
        rejected = self.rejected_over_cost
        J = ALPHA_GRID

        def cost_of(i: int) -> int | None:
            cost = P * p[i] + C * cc[i] + r[i]
            if cap is not None and cost > cap:
                rejected.add(i)
                return None
            return cost

        def cheapest_key(i: int) -> Key | None:
            cost = cost_of(i)
            return None if cost is None else (J * cost, lat[i], ids[i])

        def cost_id_key(i: int) -> Key | None:
            cost = cost_of(i)
            return None if cost is None else (J * cost, ids[i])

        self.cost_of, self.cheapest_key, self.cost_id_key = cost_of, cheapest_key, cost_id_key

    # -- ranking --------------------------------------------------------------------------

    def top(self, mask: int, k: int) -> list[tuple[Key, int]]:
        c, kind = self.catalog, self.kind
        if self.cost_based:
            mask &= c.priced  # a cost ranking cannot place a model without a cost
        if not mask or k <= 0:
            return []
        if kind == "cheapest":
            return self._cost_ranked(mask, k, self.cheapest_key, by_latency=True)
        if kind == "quality":
            return self._quality(mask, k)
        if kind in ("fastest", "throughput"):
            return self._static(mask, k)
        return self._weighted(mask, k)

    def _cost_ranked(
        self, mask: int, k: int, exact: Exact, by_latency: bool = False, ties: bool = False
    ) -> list[tuple[Key, int]]:
        """Top k by a key led by J * cost. Free models first (cost 0; from their latency
        order when ``by_latency``, else by the key), then the threshold walk."""
        orders, bit = self.orders, self.catalog.bit
        out: list[tuple[Key, int]] = []
        free = mask & orders.free_mask
        if free:
            if by_latency:
                out = walk_top(orders.free_fast[self.s], bit, free, k, exact)
            else:
                out = direct_top(free, k, exact)
            if len(out) >= k or ties:
                return out
            mask &= ~free
        need = k - len(out)
        if self.no_tokens or mask.bit_count() <= DIRECT_MAX:
            return out + direct_top(mask, need, exact)
        j = self.j
        return out + threshold_top(bit, mask, need, orders.cheap[j], orders.cheap[j + 1],
                                   self.u, self.v, exact, ties=ties)

    def _static(self, mask: int, k: int) -> list[tuple[Key, int]]:
        c, s = self.catalog, self.s
        lat, tput, ids, cost_of = c.lat[s], c.tput, c.ids, self.cost_of
        capped = self.cap is not None
        if self.kind == "fastest":
            order = self.orders.fast_order[s]

            def exact(i: int) -> Key | None:
                return None if capped and cost_of(i) is None else (lat[i], -tput[i], ids[i])
        else:
            order = self.orders.tput_order[s]

            def exact(i: int) -> Key | None:
                return None if capped and cost_of(i) is None else (-tput[i], lat[i], ids[i])
        return walk_top(order, c.bit, mask, k, exact)

    def _quality(self, mask: int, k: int) -> list[tuple[Key, int]]:
        out: list[tuple[Key, int]] = []
        for q, group, _ in self.orders.quality_groups:
            members = group & mask
            if members:
                found = self._cost_ranked(members, k - len(out), self.cost_id_key)
                out.extend(((-q, *key), i) for key, i in found)
                if len(out) >= k:
                    break
        return out

    def _weighted(self, mask: int, k: int) -> list[tuple[Key, int]]:
        c, s, P, C, cost_of = self.catalog, self.s, self.P, self.C, self.cost_of
        wc, wl, wq = self.weights
        a, b = wc / COST_SPAN_LN, wl / LATENCY_SPAN_LN
        q, log, ids, lat = c.q_eff, math.log, c.ids, c.lat[s]
        typical = c.typical_latency[s]
        pf, cf, rf = c.p_f, c.c_f, c.r_f
        T = P + C or 1
        alpha = P / T
        beta = 1.0 - alpha
        capped = self.cap is not None

        def exact(i: int) -> Key | None:
            if capped and cost_of(i) is None:
                return None
            li = lat[i]
            value = (a * log(alpha * pf[i] + beta * cf[i] + rf[i] / T + COST_FLOOR)
                     + b * log(typical if li == INF else li) - wq * q[i])
            return (value, ids[i])

        self.weighted_key = exact
        if self.no_tokens or mask.bit_count() <= DIRECT_MAX:
            return direct_top(mask, k, exact)
        lists = self.orders.weighted_lists(self.weights, bool(s))
        j = self.j
        # The interpolation weights (j+1) - alpha*J and alpha*J - j are u/T and v/T.
        return threshold_top(c.bit, mask, k, lists[j], lists[j + 1], self.u / T, self.v / T,
                             exact, slack=1e-9)

    # -- reporting ------------------------------------------------------------------------

    def anchors(self, eligible: int) -> tuple[float, float | None]:
        """(cheapest eligible cost in USD, fastest known eligible latency) for ``parts``."""
        if self._anchors is None:
            c, s = self.catalog, self.s
            cheapest = self._cost_ranked(eligible & c.priced, 1, lambda i: (self.cost_of(i),),
                                         ties=True)
            cost_min = cheapest[0][0][0] * 10.0 ** -c.scale if cheapest else 0.0
            lat = c.lat[s]
            fastest = walk_top(self.orders.fast_order[s], c.bit, eligible, 1, lambda m: (lat[m],))
            lat_min = fastest[0][0][0] if fastest and fastest[0][0][0] != INF else None
            self._anchors = (cost_min, lat_min)
        return self._anchors

    def parts(self, i: int, eligible: int) -> tuple[float, float, float]:
        """(cost, latency, quality) scores of model ``i`` (see the module docstring)."""
        c, s, P, C = self.catalog, self.s, self.P, self.C
        cost_min, lat_min = self.anchors(eligible)
        floor = max(P + C, 1) * COST_FLOOR
        cost = (P * c.p_int[i] + C * c.c_int[i] + c.r_int[i]) * 10.0 ** -c.scale
        cs = 1.0 - math.log((cost + floor) / (cost_min + floor)) / COST_SPAN_LN
        lat = c.lat[s][i]
        li = c.typical_latency[s] if lat == INF else lat
        ls = 1.0 if lat_min is None else 1.0 - math.log(li / lat_min) / LATENCY_SPAN_LN
        return cs, ls, c.q_eff[i]

    def margin(self, first: Key, second: Key | None) -> float:
        """The winner's lead over the runner-up, 0 (tie) .. 1 (clear)."""
        if second is None:
            return 1.0
        kind = self.kind
        if kind == "cheapest":
            a, b = first[0], second[0]
            return 0.0 if b <= 0 else min(1.0, (b - a) / b)
        if kind == "fastest":
            a, b = first[0], second[0]
            if a == INF:
                return 0.0
            return 1.0 if b == INF else min(1.0, (b - a) / b) if b > 0 else 0.0
        if kind == "throughput":
            a, b = -first[0], -second[0]
            return 0.0 if a <= 0 else min(1.0, (a - b) / a)
        # quality: a difference of 0..1 scores; weighted: the key is a constant - score
        return min(1.0, max(0.0, (second[0] - first[0]) / MARGIN_SPAN))
