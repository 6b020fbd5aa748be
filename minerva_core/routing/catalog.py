"""The in-memory catalog the router decides over, with every index built once. Pure.

A decision must cost well under 100 µs over ~550 models, so nothing per decision walks the
model list. Built once per catalog (and again when health changes, ``with_health``):

* Model ``i`` (models sorted by id) is bit ``i`` of Python ints. Every yes/no property is a
  bitmask (status, capabilities, each modality, each supported parameter, each provider) and
  a filter is one ``&``.
* Each threshold property (context length, max completion tokens, each price, uptime,
  expiration date) is kept sorted with cumulative masks, so "context >= x" or "price <= x" is
  one ``bisect`` plus one list lookup.
* Prices are also exact scaled integers (``price * 10**scale``), so a request's cost
  ``P*prompt + C*completion + request`` is exact integer arithmetic (no float, no Decimal in
  the hot path) and orders exactly like the Decimal cost.
* Pre-sorted orders (``orders.Orders``) over the text-output models and over all models:
  by latency, by throughput, by quality, and for cost-based keys one order per point of an
  ``alpha`` grid (alpha = the prompt's share of the request's tokens); ``scoring`` walks them.
"""

from __future__ import annotations

from decimal import Context, Decimal
from typing import Any, Iterable, Mapping, Sequence

from minerva_core.errors import DuplicateModelError
from minerva_core.routing.model import ModelHealth, RoutableModel, Weights
from minerva_core.routing.orders import INF, Orders, Threshold
from minerva_core.routing.quality import NEUTRAL_QUALITY
from minerva_core.routing.records import model_from_record

UNKNOWN_CONTEXT = 4096  # a model without a context length is assumed to have this much
MIN_SCALE = 12
MIN_LATENCY_MS = 0.001
_EXACT = Context(prec=200)
ASYNC_SUFFIXES = (":batch",)  # variants answered asynchronously: never ranked for a live request


def is_async_variant(model_id: str) -> bool:
    return model_id.endswith(ASYNC_SUFFIXES)


def _health(value: ModelHealth | Mapping[str, Any]) -> ModelHealth:
    return value if isinstance(value, ModelHealth) else ModelHealth(**value)


class Catalog:
    """Immutable after construction (only the weighted-order cache fills in, under a lock);
    safe to share between requests and threads. Building one over ~550 models takes a few
    hundred milliseconds of pure Python: do it when the catalog or health changes, off the
    request path, never per request."""

    def __init__(
        self,
        models: Iterable[RoutableModel],
        health: Mapping[str, ModelHealth | Mapping[str, Any]] | None = None,
    ) -> None:
        ordered = sorted(models, key=lambda m: m.id)
        index: dict[str, int] = {}
        for i, m in enumerate(ordered):
            if m.id in index:
                raise DuplicateModelError("the same id appears twice", index=i, model_id=m.id,
                                          field="id")
            index[m.id] = i
        self.models: tuple[RoutableModel, ...] = tuple(ordered)
        self.index = index
        self.health: dict[str, ModelHealth] = {
            k: _health(v) for k, v in (health or {}).items() if k in index
        }
        self.n = n = len(ordered)
        self.all_mask = (1 << n) - 1
        self.ids = [m.id for m in ordered]
        self.typical_latency = [1000.0, 1000.0]
        self._build_scalars()
        self._build_masks()
        self._build_orders()

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        health: Mapping[str, ModelHealth | Mapping[str, Any]] | None = None,
    ) -> Catalog:
        """Build from plain dicts, the shape the proxy loads from the database.

        Keys (only ``id`` and the prices are required): ``id, canonical_slug,
        upstream_provider`` (default: the id's author), ``model_family, context_length,
        max_completion_tokens, input_modalities, output_modalities, supported_parameters,
        supports_tools / supports_structured_output / supports_reasoning`` (derived from
        supported_parameters when absent), ``prompt_price, completion_price, request_price``
        (or ``prompt``/``completion``/``request``; decimal strings or Decimal, USD per token;
        ``"-1"`` = variable; an absent request price is 0; an absent prompt/completion price
        leaves the model unpriced, and excluded), ``is_variable_price, quality_score`` (0..1
        or None), ``status`` (active|deprecated|disabled), ``expiration_date`` (date or
        ISO string), ``providers`` (hosting provider names), ``collects_data``.
        ``health`` maps model id -> ``ModelHealth`` or its fields as a dict.
        """
        return cls((model_from_record(r, i) for i, r in enumerate(records)), health)

    def with_health(self, health: Mapping[str, ModelHealth | Mapping[str, Any]]) -> Catalog:
        """The same models with new health figures (indexes rebuilt)."""
        return Catalog(self.models, health)

    def _build_scalars(self) -> None:
        models = self.models
        decimals = [
            p for m in models for p in (m.prompt_price, m.completion_price, m.request_price)
            if p is not None
        ]
        scale = max([MIN_SCALE, *(-p.as_tuple().exponent for p in decimals if p)])  # type: ignore[operator]
        self.scale = scale

        def scaled(p: Decimal | None) -> int:
            return 0 if p is None else int(p.scaleb(scale, _EXACT))

        self.p_int = [scaled(m.prompt_price) for m in models]
        self.c_int = [scaled(m.completion_price) for m in models]
        self.r_int = [scaled(m.request_price) for m in models]
        self.p_f = [float(m.prompt_price or 0) for m in models]
        self.c_f = [float(m.completion_price or 0) for m in models]
        self.r_f = [float(m.request_price or 0) for m in models]
        self.q_eff = [
            NEUTRAL_QUALITY if m.quality_score is None else m.quality_score for m in models
        ]
        lat_s: list[float] = []
        lat_ns: list[float] = []
        tput: list[float] = []
        for m in models:
            h = self.health.get(m.id)
            ls = h.latency_ms(True) if h else None
            lns = h.latency_ms(False) if h else None
            # Clamped above 0 so log-scaled latency scores stay finite.
            lat_s.append(INF if ls is None else max(float(ls), MIN_LATENCY_MS))
            lat_ns.append(INF if lns is None else max(float(lns), MIN_LATENCY_MS))
            tput.append(float(h.throughput_tps) if h and h.throughput_tps else 0.0)
        self.lat = (lat_ns, lat_s)  # indexed by int(stream)
        self.tput = tput

    def _build_masks(self) -> None:
        models, health = self.models, self.health
        bit = [1 << i for i in range(self.n)]
        self.bit = bit

        def mask(pred: Any) -> int:
            acc = 0
            for i, m in enumerate(models):
                if pred(m):
                    acc |= bit[i]
            return acc

        self.disabled = mask(lambda m: m.status == "disabled")
        self.deprecated = mask(lambda m: m.status == "deprecated")
        self.async_variant = mask(lambda m: is_async_variant(m.id))
        self.async_variants = frozenset(m.id for m in models if is_async_variant(m.id))
        self.tools = mask(lambda m: m.supports_tools)
        self.structured = mask(lambda m: m.supports_structured_output)
        self.reasoning = mask(lambda m: m.supports_reasoning)
        self.collects = mask(lambda m: m.collects_data is True)
        self.variable = mask(lambda m: m.is_variable_price)
        self.priced = mask(lambda m: m.is_priced)
        self.quality_known = mask(lambda m: m.quality_score is not None)
        self.in_modality: dict[str, int] = {}
        self.out_modality: dict[str, int] = {}
        self.parameter: dict[str, int] = {}
        self.provider_any: dict[str, int] = {}
        self.provider_only: dict[str, int] = {}  # the model's whole provider set is {slug}
        self.multi_provider: list[tuple[int, frozenset[str]]] = []
        for i, m in enumerate(models):
            for name in m.input_modalities:
                self.in_modality[name] = self.in_modality.get(name, 0) | bit[i]
            for name in m.output_modalities:
                self.out_modality[name] = self.out_modality.get(name, 0) | bit[i]
            for name in m.supported_parameters:
                self.parameter[name] = self.parameter.get(name, 0) | bit[i]
            providers = m.provider_set
            for slug in providers:
                self.provider_any[slug] = self.provider_any.get(slug, 0) | bit[i]
            if len(providers) == 1:
                (slug,) = providers
                self.provider_only[slug] = self.provider_only.get(slug, 0) | bit[i]
            else:
                self.multi_provider.append((i, providers))
        ctx = [(m.context_length or UNKNOWN_CONTEXT, i) for i, m in enumerate(models)]
        self.context = Threshold(ctx)
        self.completion_limit = Threshold(
            (m.max_completion_tokens or m.context_length or UNKNOWN_CONTEXT, i)
            for i, m in enumerate(models)
        )
        # Unpriced models sit at 0 in the price thresholds: other filters remove them first.
        zero = Decimal(0)
        self.prompt_price = Threshold((m.prompt_price or zero, i) for i, m in enumerate(models))
        self.completion_price = Threshold(
            (m.completion_price or zero, i) for i, m in enumerate(models)
        )
        self.request_price = Threshold((m.request_price or zero, i) for i, m in enumerate(models))
        self.uptime = Threshold(
            (INF if (h := health.get(m.id)) is None or h.uptime is None else h.uptime, i)
            for i, m in enumerate(models)
        )
        self.expiring = Threshold(
            (m.expiration_date, i) for i, m in enumerate(models) if m.expiration_date
        )
        self.health_known = mask(lambda m: m.id in health)

    def _build_orders(self) -> None:
        for s in (0, 1):
            known = sorted(x for x in self.lat[s] if x != INF)
            self.typical_latency[s] = known[len(known) // 2] if known else 1000.0
        self.all_orders = Orders(self, self.all_mask)
        text = self.out_modality.get("text", 0)
        self.text_orders = self.all_orders if text == self.all_mask else Orders(self, text)
        self.warm([Weights().normalised()], text_only=True)  # the built-in balanced weights

    def warm(self, weights: Iterable[tuple[float, float, float]], *,
             text_only: bool = False) -> None:
        """Build the weighted orders for these normalised weights now (both stream flags),
        so no request pays for it. The built-in balanced weights are warmed at construction
        over the text-output universe; the proxy passes ``strategy_weights(s)`` of its custom
        strategies after loading them."""
        universes = [self.text_orders] if text_only else [self.text_orders, self.all_orders]
        for w in weights:
            for orders in {id(o): o for o in universes}.values():
                for stream in (False, True):
                    orders.weighted_lists(tuple(w), stream)  # type: ignore[arg-type]

    def orders_for(self, output_modalities: frozenset[str]) -> Orders:
        """The pre-sorted orders over the smallest universe that holds every candidate: the
        text-output models for a request that needs text out (almost all), else all."""
        return self.text_orders if "text" in output_modalities else self.all_orders

    # -- small helpers --------------------------------------------------------------------

    def __len__(self) -> int:
        return self.n

    def __contains__(self, model_id: object) -> bool:
        return model_id in self.index

    def get(self, model_id: str) -> RoutableModel | None:
        i = self.index.get(model_id)
        return None if i is None else self.models[i]

    def health_of(self, model_id: str) -> ModelHealth | None:
        return self.health.get(model_id)

    def mask_of(self, ids: Iterable[str]) -> int:
        acc, index, bit = 0, self.index, self.bit
        for model_id in ids:
            i = index.get(model_id)
            if i is not None:
                acc |= bit[i]
        return acc

    def ids_of(self, mask: int) -> list[str]:
        """Model ids of a mask, in id order."""
        out, ids = [], self.ids
        while mask:
            low = mask & -mask
            out.append(ids[low.bit_length() - 1])
            mask ^= low
        return out

    def provider_mask(self, slugs: Sequence[str] | frozenset[str], *, all_of: bool) -> int:
        """``all_of=False``: models any of whose providers is in ``slugs``;
        ``all_of=True``: models every one of whose providers is in ``slugs``."""
        if not all_of:
            acc = 0
            for slug in slugs:
                acc |= self.provider_any.get(slug, 0)
            return acc
        acc = 0
        for slug in slugs:
            acc |= self.provider_only.get(slug, 0)
        for i, providers in self.multi_provider:
            if providers <= slugs:
                acc |= self.bit[i]
        return acc

    def cost_int(self, i: int, prompt_tokens: int, completion_tokens: int) -> int:
        return prompt_tokens * self.p_int[i] + completion_tokens * self.c_int[i] + self.r_int[i]

    def cost(self, model_id: str, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
        """Exact estimated cost in USD (from the scaled integers, so no rounding: the
        result equals ``P*prompt + C*completion + request`` in Decimal); None for a
        variable-price or unpriced model."""
        i = self.index[model_id]
        if not self.models[i].is_priced:
            return None
        return self.usd(self.cost_int(i, prompt_tokens, completion_tokens))

    def usd(self, scaled: int) -> Decimal:
        """A scaled-integer amount as Decimal USD, exactly."""
        return Decimal(scaled).scaleb(-self.scale, _EXACT)
