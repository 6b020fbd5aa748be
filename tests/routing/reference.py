"""An independent, slow reference of the documented ranking keys (brute force over every
eligible model, Decimal costs, log10), to check the fast engine against."""

from __future__ import annotations

import math
from decimal import Decimal

from minerva_core.routing import Catalog, Requirements
from minerva_core.routing.candidates import eligibility
from minerva_core.routing.quality import NEUTRAL_QUALITY

INF = math.inf


def ref_cost(catalog: Catalog, model_id: str, r: Requirements) -> Decimal | None:
    m = catalog.get(model_id)
    assert m is not None
    if m.prompt_price is None or m.completion_price is None:
        return None
    return (r.prompt_tokens * m.prompt_price + r.completion_tokens * m.completion_price
            + (m.request_price or 0))


def ref_latency(catalog: Catalog, model_id: str, stream: bool) -> float:
    h = catalog.health.get(model_id)
    value = h.latency_ms(stream) if h else None
    return INF if value is None else max(value, 0.001)


def ref_keys(catalog: Catalog, r: Requirements, kind: str,
             weights: tuple[float, float, float] = (0.4, 0.3, 0.3)) -> list[tuple]:
    cost_based = kind in ("cheapest", "quality") or (kind in ("balanced", "custom") and weights[0])
    el = eligibility(catalog, r, exclude_variable=cost_based)
    ids = [catalog.ids[i] for i in range(catalog.n)
           if el.mask >> i & 1 and not catalog.ids[i].endswith(":batch")]  # never ranked
    rows = []
    for model_id in ids:
        m = catalog.get(model_id)
        cost = ref_cost(catalog, model_id, r)
        if cost_based and cost is None:
            continue
        if r.max_cost_usd is not None and cost is not None and cost > r.max_cost_usd:
            continue
        lat = ref_latency(catalog, model_id, r.stream)
        h = catalog.health.get(model_id)
        tput = (h.throughput_tps or 0.0) if h else 0.0
        q = NEUTRAL_QUALITY if m.quality_score is None else m.quality_score
        rows.append((model_id, cost, lat, tput, q))
    if kind == "cheapest":
        return sorted((cost, lat, mid) for mid, cost, lat, _, _ in rows)
    if kind == "fastest":
        return sorted((lat, -tput, mid) for mid, _, lat, tput, _ in rows)
    if kind == "throughput":
        return sorted((-tput, lat, mid) for mid, _, lat, tput, _ in rows)
    if kind == "quality":
        return sorted((-q, cost, mid) for mid, cost, _, _, q in rows)
    # weighted, as documented: log10 scales anchored at the best eligible
    wc, wl, wq = weights
    total = sum(weights)
    wc, wl, wq = wc / total, wl / total, wq / total
    f = Decimal(r.prompt_tokens + r.completion_tokens) * Decimal("1e-8")
    costs = [cost for _, cost, _, _, _ in rows if cost is not None]
    cmin = min(costs) if costs else Decimal(0)
    known = sorted(x for x in (ref_latency(catalog, mid, r.stream) for mid in catalog.ids)
                   if x != INF)
    typical = known[len(known) // 2] if known else 1000.0
    lats = [lat for _, _, lat, _, _ in rows if lat != INF]
    lmin = min(lats) if lats else None
    out = []
    for mid, cost, lat, _, q in rows:
        cs = 1 - math.log10((cost or 0) + f) / 5 + math.log10(cmin + f) / 5 if wc else 1.0
        li = typical if lat == INF else lat
        ls = 1.0 if lmin is None else 1 - math.log10(li / lmin) / 3
        out.append((-(wc * cs + wl * ls + wq * q), mid))
    return sorted(out)


def ref_order(catalog: Catalog, r: Requirements, kind: str,
              weights: tuple[float, float, float] = (0.4, 0.3, 0.3)) -> list[str]:
    return [key[-1] for key in ref_keys(catalog, r, kind, weights)]
