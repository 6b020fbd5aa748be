"""The routing engine's value types: catalog entries, health, requirements, strategies and
the reason codes (decisions are in ``decision``). Frozen dataclasses, no behaviour beyond
small derived properties. Pure.

Units, once for the whole package:

* prices are ``Decimal`` USD **per token** (``request_price`` per request), as the catalog
  stores them. OpenRouter's ``provider.max_price`` (USD per *million* tokens) is converted on
  the way in, by ``requirements_from_request``.
* costs are ``Decimal`` USD; never float.
* latencies are float milliseconds, uptime and error rate floats in 0..1, throughput tokens/s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

# --- reason codes (machine-readable; the ``reason`` text beside them is for people) ---------

NOT_FOUND = "not_found"
DISABLED = "disabled"
DEPRECATED = "deprecated"
EXPIRED = "expired"
COOLING_DOWN = "cooling_down"
MISSING_OUTPUT_MODALITY = "missing_output_modality"  # rendered "missing_output_modality:image"
MISSING_MODALITY = "missing_modality"  # rendered "missing_modality:image"
NO_TOOLS = "no_tools"
NO_STRUCTURED_OUTPUT = "no_structured_output"
NO_REASONING = "no_reasoning"
MISSING_PARAMETER = "missing_parameter"  # rendered "missing_parameter:seed"
CONTEXT_TOO_SMALL = "context_too_small"
MAX_TOKENS_OVER_LIMIT = "max_tokens_over_limit"
PROVIDER_DENIED = "provider_denied"
DATA_COLLECTION = "data_collection"
VARIABLE_PRICE = "variable_price"
ASYNC_VARIANT = "async_variant"  # a :batch variant (answered asynchronously, within hours)
MISSING_PRICE = "missing_price"
OVER_MAX_PRICE = "over_max_price"
LOW_UPTIME = "low_uptime"
OVER_MAX_COST = "over_max_cost"

Verdict = Literal["chosen", "fallback", "excluded", "ranked"]
StrategyKind = Literal["cheapest", "fastest", "balanced", "quality", "custom"]
STRATEGY_KINDS: tuple[str, ...] = ("cheapest", "fastest", "balanced", "quality", "custom")
# What a decision actually ranked by: a strategy kind, or "throughput" (provider.sort).
RankingKind = Literal["cheapest", "fastest", "balanced", "quality", "custom", "throughput"]
ModelStatus = Literal["active", "deprecated", "disabled"]


@dataclass(frozen=True, slots=True)
class RoutableModel:
    """One catalog entry as the router sees it (built by ``Catalog.from_records``).

    ``providers`` are the hosting-provider slugs serving the model when known (from the
    endpoints data, lower-case, e.g. ``{"deepinfra", "together"}``); empty means unknown, and
    provider preferences are then matched against ``upstream_provider`` (the author).
    ``collects_data`` is True when every endpoint may retain/train on prompts, None unknown.
    ``prompt_price``/``completion_price``/``request_price`` are None for a variable-price
    router and for a missing price (``is_variable_price`` tells them apart); a missing price
    excludes the model ("missing_price"), it is never defaulted.
    """

    id: str
    upstream_provider: str
    canonical_slug: str | None = None
    model_family: str | None = None
    context_length: int | None = None
    max_completion_tokens: int | None = None
    input_modalities: frozenset[str] = frozenset({"text"})
    output_modalities: frozenset[str] = frozenset({"text"})
    supports_tools: bool = False
    supports_structured_output: bool = False
    supports_reasoning: bool = False
    supported_parameters: frozenset[str] = frozenset()
    prompt_price: Decimal | None = None
    completion_price: Decimal | None = None
    request_price: Decimal | None = Decimal(0)
    is_variable_price: bool = False
    quality_score: float | None = None
    status: ModelStatus = "active"
    expiration_date: date | None = None
    providers: frozenset[str] = frozenset()
    collects_data: bool | None = None

    @property
    def is_priced(self) -> bool:
        return self.prompt_price is not None and self.completion_price is not None

    @property
    def is_free(self) -> bool:
        return (
            self.is_priced
            and not self.prompt_price
            and not self.completion_price
            and not self.request_price
        )

    @property
    def provider_set(self) -> frozenset[str]:
        """Who can serve it, for provider allow/deny lists: the endpoints, else the author."""
        return self.providers or frozenset({self.upstream_provider.lower()})


@dataclass(frozen=True, slots=True)
class ModelHealth:
    """Observed health of a model (from the proxy's own ledger rollups or OpenRouter's
    endpoint stats). Every figure may be unknown (None). ``uptime`` and ``error_rate`` are
    fractions 0..1 (not percent); ``requests`` is the sample size behind the figures."""

    p50_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    ttft_ms: float | None = None
    error_rate: float | None = None
    uptime: float | None = None
    throughput_tps: float | None = None
    requests: int = 0

    def latency_ms(self, stream: bool) -> float | None:
        """The latency figure a ranking uses: time to first token for a streamed request,
        the median full latency otherwise, each falling back to the other."""
        first, second = (self.ttft_ms, self.p50_latency_ms) if stream else (
            self.p50_latency_ms,
            self.ttft_ms,
        )
        return first if first is not None else second


@dataclass(frozen=True, slots=True)
class Requirements:
    """What one request needs; hard filters plus the figures the estimates use.

    ``prompt_tokens`` is an estimate (``tokens.estimate_prompt_tokens``); ``completion_tokens``
    is the request's max_tokens, or the default when ``max_tokens_explicit`` is False. Context
    needed = prompt + completion tokens (or ``min_context_length`` when larger). A completion
    limit below ``completion_tokens`` only excludes a model when max_tokens was explicit.
    Price caps are USD **per token**; ``max_cost_usd`` caps this request's estimated cost.
    ``allowed_providers`` None means any; ``provider_order`` is a preference (tried in
    order, then the rest), an allow list when ``allow_provider_fallbacks`` is False.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 1024
    max_tokens_explicit: bool = False
    model: str | None = None
    models: tuple[str, ...] = ()
    input_modalities: frozenset[str] = frozenset({"text"})
    output_modalities: frozenset[str] = frozenset({"text"})
    needs_tools: bool = False
    needs_structured_output: bool = False
    needs_reasoning: bool = False
    required_parameters: frozenset[str] = frozenset()
    min_context_length: int | None = None
    allowed_providers: frozenset[str] | None = None
    ignored_providers: frozenset[str] = frozenset()
    provider_order: tuple[str, ...] = ()
    allow_provider_fallbacks: bool = True
    deny_data_collection: bool = False
    max_prompt_price: Decimal | None = None
    max_completion_price: Decimal | None = None
    max_request_price: Decimal | None = None
    max_cost_usd: Decimal | None = None
    min_uptime: float | None = None
    sort: Literal["price", "throughput", "latency"] | None = None
    stream: bool = False
    allow_variable_price: bool = False  # for non-cost rankings and price caps only

    @property
    def context_tokens(self) -> int:
        needed = self.prompt_tokens + self.completion_tokens
        return max(needed, self.min_context_length or 0)

    @property
    def has_price_caps(self) -> bool:
        return (
            self.max_prompt_price is not None
            or self.max_completion_price is not None
            or self.max_request_price is not None
            or self.max_cost_usd is not None
        )


@dataclass(frozen=True, slots=True)
class Weights:
    """Relative weights of a weighted strategy; non-negative, normalised to sum 1 on use."""

    cost: float = 0.4
    latency: float = 0.3
    quality: float = 0.3

    def normalised(self) -> tuple[float, float, float]:
        total = self.cost + self.latency + self.quality
        return (self.cost / total, self.latency / total, self.quality / total)


@dataclass(frozen=True, slots=True)
class RequirementOverrides:
    """A strategy's hard filters, merged into each request's ``Requirements``, stricter wins:
    flags are OR-ed, modalities/parameters/ignored providers united, allowed providers
    intersected, caps take the minimum and ``min_context_length``/``min_uptime`` the maximum.
    Prices are USD per token, like the catalog (``"0.000005"`` is $5 per million)."""

    needs_tools: bool = False
    needs_structured_output: bool = False
    needs_reasoning: bool = False
    min_context_length: int | None = None
    input_modalities: frozenset[str] = frozenset()
    required_parameters: frozenset[str] = frozenset()
    allowed_providers: frozenset[str] | None = None
    ignored_providers: frozenset[str] = frozenset()
    deny_data_collection: bool = False
    max_prompt_price: Decimal | None = None
    max_completion_price: Decimal | None = None
    max_request_price: Decimal | None = None
    max_cost_usd: Decimal | None = None
    min_uptime: float | None = None
    allow_variable_price: bool = False


NO_OVERRIDES = RequirementOverrides()


@dataclass(frozen=True, slots=True)
class Strategy:
    """How to rank eligible models (see ``strategies.py`` for the parsing of DB rows).

    ``weights`` matter to ``custom`` only (the other kinds use ``strategies.KIND_WEIGHTS``).
    ``requirements`` are hard-filter overrides merged into every request, stricter wins
    (``strategies.parse_overrides`` reads the DB's jsonb). ``fallback_chain`` ids come after
    the selected model, before the ranking's own runners-up; ``max_fallbacks`` bounds the
    ranked fallbacks only (explicit chains are kept whole, once validated).
    """

    name: str
    kind: StrategyKind = "balanced"
    weights: Weights = Weights()
    requirements: RequirementOverrides = NO_OVERRIDES
    fallback_chain: tuple[str, ...] = ()
    max_fallbacks: int = 2
