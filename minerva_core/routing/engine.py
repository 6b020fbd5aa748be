"""``decide``: one routing decision. Pure and deterministic: the same catalog, requirements,
strategy, cooling-down set and day give the same decision.

Order of work:

1. Merge the strategy's requirement overrides into the request (stricter wins).
2. Pick the ranking: ``provider.sort`` (price -> cheapest, latency -> fastest, throughput)
   when the request sets it, else the strategy's kind. Cost-based rankings (cheapest,
   quality, and balanced/custom with a cost weight) leave variable-price routers out unless
   the request names them or allows them. Asynchronous ``:batch`` variants are never
   ranked; they serve only when the request or the strategy's chain names them.
3. Filter the catalog to an eligible bitmask (``candidates.eligibility``).
4. The selected model:
   * a requested model (``model``, else the first of ``models[]``) that meets the
     requirements is selected as is; the ranking only supplies fallbacks;
   * if it does not, the first valid entry of the request's ``models[]`` is selected
     (OpenRouter's fallback semantics); if it fails *only* because it is cooling down, the
     strategy's chain/ranking supplies a substitute; otherwise ``NoRouteError`` says why;
   * without a requested model, the ranking's best.
5. Fallbacks, in order: the rest of ``models[]``, the strategy's ``fallback_chain`` (each
   validated; a failing entry is reported as excluded), then up to ``max_fallbacks`` ranked
   models. With ``provider.order`` the ranking runs per listed provider, then the rest.

Confidence (0..1) = ``0.25 + 0.75 * coverage * (0.5 + 0.5 * margin)``:

* ``coverage``: the share of the ranking's weights (cost, latency, quality) whose figure is
  known for the selected model: cost when priced; latency when health has a latency figure
  (half when under ``MIN_HEALTH_SAMPLE`` requests); quality when benchmarked. For a model the
  client named, ``0.5 + 0.5 * latency-known`` (the choice was theirs; only health matters).
* ``margin``: the lead over the runner-up: relative for cost, latency and throughput
  (``(b - a) / b``), score difference / 0.1 for quality and weighted scores; 1 without a
  runner-up or for a named model, 0 for a tie.

So a clear winner on complete data scores 1.0, a tie on complete data 0.625, a choice
made blind (no health, no benchmarks) 0.25 to 0.4.
"""

from __future__ import annotations

from datetime import date
from typing import AbstractSet

from minerva_core.routing.candidates import eligibility, explain
from minerva_core.routing.catalog import Catalog
from minerva_core.routing.decision import RoutingDecision, RoutingEntry
from minerva_core.routing.model import COOLING_DOWN, OVER_MAX_COST, Requirements, Strategy
from minerva_core.routing.narration import Narrator
from minerva_core.routing.scoring import Key, Ranker
from minerva_core.routing.strategies import (
    BUILTIN_STRATEGIES,
    apply_overrides,
    strategy_weights,
)

MIN_HEALTH_SAMPLE = 20
_SORT_KIND = {"price": "cheapest", "latency": "fastest", "throughput": "throughput"}
_TRANSIENT = frozenset({COOLING_DOWN})


class _Decider(Narrator):
    """The state of one decision (a class only to share it between small steps)."""

    def __init__(
        self,
        catalog: Catalog,
        req: Requirements,
        strategy: Strategy,
        cooling: AbstractSet[str],
        today: date | None,
    ) -> None:
        self.catalog = catalog
        self.strategy = strategy
        self.req = req = apply_overrides(req, strategy.requirements)
        self.cooling = cooling
        self.today = today
        kind = _SORT_KIND[req.sort] if req.sort else strategy.kind
        self.kind = kind
        self.weights = strategy_weights(strategy, kind)
        self.cost_based = kind in ("cheapest", "quality") or (
            kind in ("balanced", "custom") and self.weights[0] > 0
        )
        cooling_mask = catalog.mask_of(cooling) if cooling else 0
        self.el = eligibility(
            catalog, req, cooling_mask=cooling_mask, today=today,
            exclude_variable=self.cost_based, exclude_async=True,
        )
        self._ranker: Ranker | None = None

    @property
    def ranker(self) -> Ranker:
        if self._ranker is None:
            req = self.req
            self._ranker = Ranker(
                self.catalog, self.kind,
                prompt_tokens=req.prompt_tokens, completion_tokens=req.completion_tokens,
                stream=req.stream, cost_cap=self.el.cost_cap, weights=self.weights,
                output_modalities=req.output_modalities,
            )
        return self._ranker

    def reasons(self, model_id: str) -> list[tuple[str, str]]:
        """Why a named model cannot serve (variable prices allowed: it was asked for)."""
        i = self.catalog.index.get(model_id)
        if i is not None and self.el.mask >> i & 1 and self.req.max_cost_usd is None:
            return []  # in the eligible mask: the same rules found nothing (fast path)
        return explain(self.catalog, model_id, self.req, cooling=self.cooling, today=self.today)

    def ranked(self, exclude: int, k: int) -> list[tuple[Key, int]]:
        if k <= 0:
            return []
        mask = self.el.mask & ~exclude
        order = self.req.provider_order
        if not order:
            return self.ranker.top(mask, k)
        out: list[tuple[Key, int]] = []
        for slug in order:
            part = mask & self.catalog.provider_any.get(slug, 0)
            if part:
                out += self.ranker.top(part, k - len(out))
                mask &= ~part
            if len(out) >= k:
                return out
        return out + self.ranker.top(mask, k - len(out))

    def coverage(self, model_id: str, *, named: bool) -> float:
        c = self.catalog
        m = c.models[c.index[model_id]]
        health = c.health.get(model_id)
        latency_known = 0.0
        if health is not None and health.latency_ms(self.req.stream) is not None:
            latency_known = 1.0 if health.requests >= MIN_HEALTH_SAMPLE else 0.5
        if named:
            return 0.5 + 0.5 * latency_known
        wc, wl, wq = self.weights
        return (wc * (1.0 if m.is_priced else 0.0) + wl * latency_known
                + wq * (1.0 if m.quality_score is not None else 0.0))

    def counts(self) -> tuple[tuple[str, int], ...]:
        """Exclusions per code in filter order (the dict is filled in that order)."""
        counts = self.el.counts
        if self._ranker is not None and self._ranker.rejected_over_cost:
            counts = {**counts, OVER_MAX_COST: len(self._ranker.rejected_over_cost)}
        return tuple(counts.items())

    def run(self) -> RoutingDecision:
        req, c, strategy = self.req, self.catalog, self.strategy
        excluded: list[RoutingEntry] = []
        primary: str | None = None
        head_note = ""  # why the selected model is not the requested one, if so
        named = [m for m in (req.model, *req.models) if m] if req.model or req.models else []
        valid_named: list[str] = []
        substitute = False
        if named:
            named_reasons = [(m, self.reasons(m)) for m in named]
            for model_id, reasons in named_reasons:
                if reasons:
                    excluded.extend(RoutingEntry(model_id, "excluded", code, text)
                                    for code, text in reasons)
                else:
                    valid_named.append(model_id)
            if not named_reasons[0][1]:
                primary = named[0]
            elif valid_named:
                primary = valid_named[0]
                head_note = f"{named[0]} is excluded; first valid entry of models[]"
            elif all(code in _TRANSIENT for _, rs in named_reasons for code, _ in rs):
                substitute = True
                head_note = f"{named[0]} is cooling down; substitute"
            else:
                raise self.no_route(
                    f"no requested model can serve the request ({', '.join(named)})",
                    named_reasons,
                )

        used = list(dict.fromkeys(valid_named))
        from_chain: list[str] = []
        for model_id in strategy.fallback_chain:
            if model_id in used:
                continue
            reasons = self.reasons(model_id)
            if reasons:
                excluded.extend(RoutingEntry(model_id, "excluded", code, text)
                                for code, text in reasons)
            else:
                used.append(model_id)
                from_chain.append(model_id)
        if substitute and used:
            primary = used[0]

        need = strategy.max_fallbacks + (2 if primary is None else 1)
        ranked = self.ranked(c.mask_of(used) if used else 0, need)
        margin_pair: tuple[Key, Key | None] | None = None
        head: tuple[Key, int] | None = None
        if primary is None:
            if not ranked:
                raise self.no_route("no model meets the request's requirements")
            head = ranked[0]
            primary = c.ids[head[1]]
            margin_pair = (head[0], ranked[1][0] if len(ranked) > 1 else None)
            ranked = ranked[1:]
        fallbacks = [m for m in used if m != primary]
        extra = ranked[: strategy.max_fallbacks]
        fallbacks.extend(c.ids[i] for _, i in extra)

        if margin_pair is None:
            margin = 1.0
            coverage = self.coverage(primary, named=True)
        else:
            margin = self.ranker.margin(*margin_pair)
            coverage = self.coverage(primary, named=False)
        confidence = round(0.25 + 0.75 * coverage * (0.5 + 0.5 * margin), 4)
        health = c.health.get(primary)
        i = c.index[primary]
        cost = (c.usd(c.cost_int(i, req.prompt_tokens, req.completion_tokens))
                if c.models[i].is_priced else None)
        # The sentences are written on first access of decision.reasoning (lazily).
        explain_args = (primary, head, head_note, used, valid_named, from_chain, extra,
                        ranked[len(extra):], excluded)
        return RoutingDecision(
            selected_model=primary,
            fallback_models=tuple(fallbacks),
            reasoning=lambda: self.entries_for(*explain_args),
            estimated_cost=cost,
            estimated_latency_ms=health.latency_ms(req.stream) if health else None,
            confidence_score=confidence,
            strategy=strategy.name,
            ranking=self.kind,  # type: ignore[arg-type]
            requested_model=req.model,
            prompt_tokens=req.prompt_tokens,
            completion_tokens=req.completion_tokens,
            eligible_count=self.el.mask.bit_count(),
            excluded_counts=self.counts(),
        )


def decide(
    catalog: Catalog,
    requirements: Requirements,
    strategy: Strategy | None = None,
    *,
    cooling_down: AbstractSet[str] = frozenset(),
    today: date | None = None,
) -> RoutingDecision:
    """Route one request (see the module docstring). ``cooling_down`` holds model ids the
    proxy's circuit breaker has paused; ``today`` enables the expiration filter (pass the
    current UTC date; None skips it). Raises ``NoRouteError`` when nothing qualifies."""
    return _Decider(
        catalog, requirements, strategy or BUILTIN_STRATEGIES["balanced"], cooling_down, today
    ).run()
