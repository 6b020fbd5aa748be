"""The sentences of a decision: one per ranked, chained or excluded model, and the
``NoRouteError`` message. Written lazily (``RoutingDecision.reasoning`` is computed on first
access), so formatting costs nothing on the routing hot path. Pure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, AbstractSet

from minerva_core.errors import NoRouteError
from minerva_core.routing.candidates import Eligibility, explain
from minerva_core.routing.catalog import Catalog
from minerva_core.routing.decision import RoutingEntry
from minerva_core.routing.model import Requirements, Strategy
from minerva_core.routing.orders import INF

if TYPE_CHECKING:
    from minerva_core.routing.scoring import Key, Ranker


def _usd(catalog: Catalog, cost_int: int) -> Decimal:
    """An exact scaled-integer cost as Decimal USD, trailing zeros dropped (for text)."""
    return catalog.usd(cost_int).normalize() if cost_int else Decimal(0)


class Narrator:
    """Mixed into the engine's decider; relies on the attributes it sets."""

    catalog: Catalog
    req: Requirements
    strategy: Strategy
    kind: str
    weights: tuple[float, float, float]
    el: Eligibility
    cooling: AbstractSet[str]
    today: date | None
    ranker: Ranker

    def counts(self) -> tuple[tuple[str, int], ...]:
        raise NotImplementedError  # the engine's decider provides it

    def describe(self, key: Key, i: int, rank: int) -> str:
        """One sentence on a ranked model (written lazily, see ``RoutingDecision``)."""
        kind, c, req = self.kind, self.catalog, self.req
        head = f"rank {rank} by {kind}"
        cost = _usd(c, c.cost_int(i, req.prompt_tokens, req.completion_tokens))
        if kind == "cheapest":
            return (f"{head}: estimated ${cost:f} for ~{req.prompt_tokens:,} prompt"
                    f" + {req.completion_tokens:,} completion tokens")
        if kind in ("fastest", "throughput"):
            lat = c.lat[int(req.stream)][i]
            tput = c.tput[i]
            lat_s = "latency unknown" if lat == INF else f"{lat:,.0f} ms"
            return f"{head}: {lat_s}" + (f", {tput:,.0f} tokens/s" if tput else "")
        if kind == "quality":
            known = "" if c.models[i].quality_score is not None else " (unknown: neutral)"
            return f"{head}: quality {c.q_eff[i]:.3f}{known}, estimated ${cost:f}"
        cs, ls, qs = self.ranker.parts(i, self.el.mask)
        wc, wl, wq = self.weights
        return (f"{head}: score {wc * cs + wl * ls + wq * qs:.4f} = {wc:.2f}*cost {cs:.3f}"
                f" + {wl:.2f}*latency {ls:.3f} + {wq:.2f}*quality {qs:.3f}"
                f" (estimated ${cost:f})")

    def entries_for(
        self,
        primary: str,
        head: tuple[Key, int] | None,
        head_note: str,
        used: list[str],
        valid_named: list[str],
        from_chain: list[str],
        extra: list[tuple[Key, int]],
        rest: list[tuple[Key, int]],
        excluded: list[RoutingEntry],
    ) -> list[RoutingEntry]:
        c = self.catalog
        entries: list[RoutingEntry] = []
        if head is not None:
            text = self.describe(head[0], head[1], 1)
            code = "substitute" if head_note else "rank:1"
            entries.append(RoutingEntry(primary, "chosen", code,
                                        f"{head_note}: {text}" if head_note else text))
        elif primary == self.req.model:
            entries.append(RoutingEntry(primary, "chosen", "requested",
                                        "the requested model meets the requirements"))
        elif primary in valid_named:
            entries.append(RoutingEntry(primary, "chosen", "models_chain",
                                        head_note or "the first requested model that qualifies"))
        else:
            entries.append(RoutingEntry(primary, "chosen", "strategy_chain",
                                        f"{head_note}: first valid entry of the strategy's chain"))
        for model_id in used:
            if model_id == primary:
                continue
            if model_id in from_chain:
                entries.append(RoutingEntry(model_id, "fallback", "strategy_chain",
                                            "from the strategy's fallback chain"))
            else:
                entries.append(RoutingEntry(model_id, "fallback", "models_chain",
                                            "from the request's models[]"))
        rank = 2 if head is not None else 1
        for verdict, group in (("fallback", extra), ("ranked", rest)):
            for key, i in group:
                entries.append(RoutingEntry(c.ids[i], verdict, f"rank:{rank}",  # type: ignore[arg-type]
                                            self.describe(key, i, rank)))
                rank += 1
        entries.extend(excluded)
        return entries

    def no_route(
        self, message: str, named: list[tuple[str, list[tuple[str, str]]]] | None = None
    ) -> NoRouteError:
        """The error for an empty route. ``named``: the requested models and their reasons;
        None for a catalog-wide search, which explains every model (the slow path)."""
        if named is not None:
            entries = [RoutingEntry(mid, "excluded", code, text)
                       for mid, reasons in named for code, text in reasons]
        else:
            entries = [
                RoutingEntry(model_id, "excluded", code, text)
                for model_id in self.catalog.ids
                for code, text in explain(
                    self.catalog, model_id, self.req, cooling=self.cooling, today=self.today,
                    exclude_variable=self.el.exclude_variable,
                )
            ]
        counts = self.counts()
        summary = ", ".join(f"{code} {n}" for code, n in counts[:6])
        return NoRouteError(
            message + (f" (excluded: {summary})" if summary else ""),
            reasons=tuple(entries), excluded_counts=counts,
            requested_model=self.req.model, strategy=self.strategy.name,
        )
