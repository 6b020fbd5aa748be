"""Pre-sorted structures, built once per catalog. Pure.

``Threshold``: one figure's values sorted with cumulative masks ("context >= x" is a bisect
and a lookup). ``Orders``: pre-sorted model orders over one universe of models.

``Catalog`` keeps two: over the text-output models (what almost every chat request can use)
and over all models; a ranking walks the smaller one, so it never steps over the image,
video or embedding models a chat request could not use anyway.

* ``fast_order[s]`` / ``tput_order[s]``: by (latency, -throughput, id) and (-throughput,
  latency, id), ``s`` = 1 for streamed requests (time to first token first). Model indices
  follow id order, so every sort breaks ties on the index, i.e. on the id.
* ``free_mask`` and ``free_fast[s]``: the models whose every price is 0 (cost 0 whatever the
  tokens), by (latency, id): the head of any cheapest ranking.
* ``cheap[j]`` for j = 0..J: the other priced models by ``K_j = j*prompt + (J-j)*completion``
  (exact scaled integers), i.e. J times the per-token cost at alpha = j/J, alpha being the
  prompt's share of a request's tokens.
* ``quality_groups``: (quality, mask, size) by quality descending (unknown = 0.5).
* ``weighted_lists(weights, stream)``: per grid point, every model by the weighted key of
  ``scoring`` at that alpha; built on first use per (weights, stream) and cached.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from minerva_core.routing.catalog import Catalog

INF = math.inf
ALPHA_GRID = 64  # pre-sorted cost orders at alpha = j/64, j = 0..64
COST_FLOOR = 1e-8  # USD per token ($0.01 per million): free models get a finite log cost
COST_SPAN_LN = 5 * math.log(10)  # weighted cost score: 0.2 per decade dearer
LATENCY_SPAN_LN = 3 * math.log(10)  # weighted latency score: 1/3 per decade slower
MAX_CACHED_WEIGHTS = 64

SortedList = tuple[list[int], list[Any]]  # (model indices, their sort values)


class Threshold:
    """Sorted values with cumulative masks: ``at_least(x)`` / ``at_most(x)`` -> bitmask."""

    __slots__ = ("values", "suffix", "prefix")

    def __init__(self, pairs: Iterable[tuple[Any, int]]) -> None:
        ordered = sorted(pairs)  # (value, model index): ties by index, i.e. by id
        self.values = [v for v, _ in ordered]
        n = len(ordered)
        self.prefix = [0] * (n + 1)  # prefix[j]: bits of the j smallest
        self.suffix = [0] * (n + 1)  # suffix[j]: bits from position j on
        acc = 0
        for j, (_, i) in enumerate(ordered):
            acc |= 1 << i
            self.prefix[j + 1] = acc
        acc = 0
        for j in range(n - 1, -1, -1):
            acc |= 1 << ordered[j][1]
            self.suffix[j] = acc

    def at_least(self, x: Any) -> int:
        return self.suffix[bisect_left(self.values, x)]

    def at_most(self, x: Any) -> int:
        return self.prefix[bisect_right(self.values, x)]


class Orders:
    def __init__(self, catalog: Catalog, universe: int) -> None:
        c = self.catalog = catalog
        lat, tput = c.lat, c.tput
        members = [i for i in range(c.n) if universe >> i & 1]
        self.members = members
        priced = [i for i in members if c.models[i].is_priced]
        free = [i for i in priced if not (c.p_int[i] or c.c_int[i] or c.r_int[i])]
        self.free_mask = sum(1 << i for i in free)
        self.free_fast = tuple(sorted(free, key=lambda i, s=s: (lat[s][i], i)) for s in (0, 1))
        paid = [i for i in priced if not self.free_mask >> i & 1]
        grid = ALPHA_GRID
        self.cheap: list[SortedList] = []
        for j in range(grid + 1):
            # (value, index) tuples: model indices follow id order, so ties break by id
            keyed = sorted([(j * c.p_int[i] + (grid - j) * c.c_int[i], i) for i in paid])
            self.cheap.append(([i for _, i in keyed], [k for k, _ in keyed]))
        self.fast_order = tuple(
            sorted(members, key=lambda i, s=s: (lat[s][i], -tput[i], i)) for s in (0, 1)
        )
        self.tput_order = tuple(
            sorted(members, key=lambda i, s=s: (-tput[i], lat[s][i], i)) for s in (0, 1)
        )
        groups: dict[float, list[int]] = {}
        for i in members:
            groups.setdefault(c.q_eff[i], []).append(i)
        self.quality_groups: list[tuple[float, int, int]] = [
            (q, sum(1 << i for i in group), len(group))
            for q, group in sorted(groups.items(), key=lambda kv: -kv[0])
        ]
        self._weighted: dict[tuple[float, float, float, int], list[SortedList]] = {}
        self._lock = threading.Lock()

    def weighted_lists(self, weights: tuple[float, float, float], stream: bool) -> list[SortedList]:
        """Per grid point j, every model of the universe by the weighted key at alpha = j/J
        (``scoring``'s formula without the request price); cached per (weights, stream).
        ``Catalog`` builds the built-in balanced weights up front (``warm``): a first build
        costs tens of milliseconds, which belongs to catalog loading, not to a request."""
        cache_key = (*weights, int(stream))
        found = self._weighted.get(cache_key)
        if found is not None:
            return found
        lists = self._build_weighted(weights, stream)
        with self._lock:
            if len(self._weighted) >= MAX_CACHED_WEIGHTS:  # custom strategies are few
                self._weighted.pop(next(iter(self._weighted)))
            self._weighted[cache_key] = lists
        return lists

    def _build_weighted(self, weights: tuple[float, float, float], stream: bool) -> list[SortedList]:
        c = self.catalog
        wc, wl, wq = weights
        a, b = wc / COST_SPAN_LN, wl / LATENCY_SPAN_LN
        log, s, pf, cf = math.log, int(stream), c.p_f, c.c_f
        lat, typical = c.lat[s], c.typical_latency[s]
        static = [
            (i, b * log(typical if lat[i] == INF else lat[i]) - wq * c.q_eff[i])
            for i in self.members
        ]
        lists: list[SortedList] = []
        for j in range(ALPHA_GRID + 1):
            alpha = j / ALPHA_GRID
            keyed = sorted([
                (a * log(alpha * pf[i] + (1 - alpha) * cf[i] + COST_FLOOR) + h, i)
                for i, h in static
            ])
            lists.append(([i for _, i in keyed], [k for k, _ in keyed]))
        return lists
