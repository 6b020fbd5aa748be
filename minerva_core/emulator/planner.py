"""Decide a chat completion before any byte is sent: model, provider, reply, usage, cost.

Routing follows OpenRouter: `model` then `models[]` in order (a model answering with an error
falls through to the next), routers pick a concrete model, `provider{only,ignore,order,sort,
allow_fallbacks}` picks the endpoint. The reply is drawn from a generator seeded by the
emulator seed and the request (see reply), so the same request always gets the same answer.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

import orjson

from minerva_core.emulator import reply, upstream_errors
from minerva_core.emulator.catalog import Catalog, CatalogModel
from minerva_core.emulator.chat_request import ChatRequest
from minerva_core.emulator.endpoints import Endpoint, EndpointIndex
from minerva_core.emulator.faults import FALLBACK_FAULTS, FaultBook
from minerva_core.emulator.reply import Piece
from minerva_core.emulator.tokens import REPLY_PRIMING, prompt_tokens
from minerva_core.pricing import CostBreakdown, Usage, compute_cost

_PROMPT_CACHE_LIMIT = 200_000


@dataclass(slots=True)
class PlanContext:
    """What planning reads and the little it remembers (prompt-cache prefixes)."""

    catalog: Catalog
    endpoints: EndpointIndex
    faults: FaultBook
    seed: int
    reply_tokens: tuple[int, int]
    retry_after_s: int
    prompt_cache: set[bytes] | None = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Attempt:
    """A provider call that failed before the one that served (for /generation)."""

    model: CatalogModel
    endpoint: Endpoint
    status: int


@dataclass(frozen=True, slots=True)
class ChatPlan:
    request: ChatRequest
    requested_model: str
    router: str | None
    model: CatalogModel
    endpoint: Endpoint
    pieces: tuple[Piece, ...]
    tool_call: dict[str, Any] | None
    finish_reason: str
    prompt_tokens: int
    media: int
    cached_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    web_search: bool
    attempts: tuple[Attempt, ...]
    at: datetime
    #: hang / reset / midstream / malformed / drip: the answer misbehaves on the wire.
    wire_fault: str | None = None

    #: Usage and cost of the whole answer, computed once.
    full_usage: Usage = field(init=False, repr=False, compare=False)
    full_cost: CostBreakdown = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        usage = self._usage_of(self.pieces)
        object.__setattr__(self, "full_usage", usage)
        object.__setattr__(self, "full_cost", compute_cost(self.endpoint.pricing, usage, at=self.at))

    def usage(self, sent: int | None = None) -> Usage:
        """Usage of the whole answer, or of its first `sent` pieces (a cut-short stream)."""
        if sent is None or sent >= len(self.pieces):
            return self.full_usage
        return self._usage_of(self.pieces[:sent])

    def _usage_of(self, pieces: tuple[Piece, ...]) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=len(pieces),
            reasoning_tokens=sum(1 for p in pieces if p.kind == "reasoning"),
            cached_tokens=self.cached_tokens,
            cache_write_tokens=self.cache_write_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens,
            web_search_requests=1 if self.web_search else 0,
        )

    def cost(self, usage: Usage) -> CostBreakdown:
        if usage is self.full_usage:
            return self.full_cost
        return compute_cost(self.endpoint.pricing, usage, at=self.at)

    def cache_discount(self, usage: Usage, cost: CostBreakdown) -> Decimal | None:
        """What caching saved against the plain prompt price (negative when writes cost more)."""
        touched = usage.cached_tokens + usage.cache_write_tokens + usage.cache_write_1h_tokens
        if not touched:
            return None
        prices = self.endpoint.pricing.resolve(usage.prompt_tokens, self.at)
        with localcontext(prec=60):
            return touched * prices.prompt * (1 - prices.discount) - cost.cache_read - cost.cache_write

    def text(self, kind: str) -> str:
        return "".join(p.text for p in self.pieces if p.kind == kind)


def plan_chat(
    request: ChatRequest,
    ctx: PlanContext,
    *,
    at: datetime,
    fault: str | None = None,
    reply_tokens: int | None = None,
) -> ChatPlan:
    """The plan for `request`, or a ChatError. `fault` (from a request header) applies to the
    first model and is not routed around; faults armed per model are."""
    models = [ctx.catalog.get(name) for name in request.candidates]
    for name, model in zip(request.candidates, models, strict=True):
        if model is None:
            raise upstream_errors.unknown_model(name)
    tokens, media = prompt_tokens(request.messages, request.tools)
    attempts: list[Attempt] = []
    for index, model in enumerate(models):
        assert model is not None
        last = index == len(models) - 1
        if not model.is_text_output or model.pricing is None:
            raise upstream_errors.no_endpoints(model.id)
        concrete = _route(model, request, ctx)
        endpoint = choose_endpoint(ctx.endpoints.for_model(concrete), request.provider)
        forced = fault if index == 0 else None
        kind = forced or _armed_fault(ctx.faults, model, concrete)
        context = concrete.context_length
        if kind is None and context and tokens > context:
            kind = "context_length"
        if kind in FALLBACK_FAULTS:
            error = upstream_errors.status_fault(
                kind, model_id=concrete.id, provider=endpoint.provider_name,
                retry_after_s=ctx.retry_after_s, context=context,
                prompt_tokens=tokens, max_tokens=request.max_tokens,
            )
            if last or forced:
                raise error
            attempts.append(Attempt(concrete, endpoint, error.status))
            continue
        rng = random.Random(hashlib.sha256(str(ctx.seed).encode() + b"\0" + request.digest).digest())
        pieces, tool_call, finish = reply.compose(request, concrete, rng, ctx.reply_tokens, reply_tokens)
        cached, write_5m, write_1h = _cache_usage(request, concrete, endpoint, ctx.prompt_cache)
        plan = ChatPlan(
            request=request,
            requested_model=model.id,
            router=model.id if concrete is not model else None,
            model=concrete,
            endpoint=endpoint,
            pieces=tuple(pieces),
            tool_call=tool_call,
            finish_reason=finish,
            prompt_tokens=tokens,
            media=media,
            cached_tokens=cached,
            cache_write_tokens=write_5m,
            cache_write_1h_tokens=write_1h,
            web_search=request.web_search and endpoint.pricing.web_search is not None,
            attempts=tuple(attempts),
            at=at,
            wire_fault=kind,
        )
        return plan
    raise AssertionError("unreachable: the last candidate either serves or raises")


def _armed_fault(faults: FaultBook, model: CatalogModel, concrete: CatalogModel) -> str | None:
    if not faults:
        return None
    return faults.take(concrete.id) or (faults.take(model.id) if concrete is not model else None)


def choose_endpoint(endpoints: list[Endpoint], prefs: dict[str, Any]) -> Endpoint:
    chosen = list(endpoints)
    only, ignore, order = prefs.get("only"), prefs.get("ignore"), prefs.get("order")
    if only:
        chosen = [e for e in chosen if _named(e, only)]
    if ignore:
        chosen = [e for e in chosen if not _named(e, ignore)]
    if order:
        ordered = [e for name in order for e in chosen if _named(e, [name])]
        rest = [] if prefs.get("allow_fallbacks") is False else [e for e in chosen if e not in ordered]
        chosen = ordered + rest
    sort = prefs.get("sort")
    sort = sort.get("by") if isinstance(sort, dict) else sort
    if sort == "price":
        chosen.sort(key=lambda e: (e.pricing.prompt + e.pricing.completion) * (1 - e.pricing.discount))
    elif sort == "throughput":
        chosen.sort(key=lambda e: -(e.stats["throughput_last_30m"]["p50"]))
    elif sort == "latency":
        chosen.sort(key=lambda e: e.stats["latency_last_30m"]["p50"])
    if not chosen:
        raise upstream_errors.no_allowed_providers()
    return chosen[0]


def _named(endpoint: Endpoint, names: Any) -> bool:
    wanted = {str(n).lower().replace(" ", "-") for n in names}
    return endpoint.provider_name.lower().replace(" ", "-") in wanted or endpoint.tag.split("/")[0] in wanted


def _route(model: CatalogModel, request: ChatRequest, ctx: PlanContext) -> CatalogModel:
    """A router's concrete pick (deterministic per request); any other model is itself."""
    if not (model.is_router or model.is_variable):
        return model
    pricing = model.pricing
    free = pricing is not None and not pricing.is_variable and pricing.prompt == 0 and pricing.completion == 0
    picks = ctx.catalog.billable_text_models(free=free)
    if not picks:
        raise upstream_errors.no_endpoints(model.id)
    index = int.from_bytes(hashlib.sha256(b"route" + request.digest).digest()[:8], "big")
    return picks[(index + ctx.seed) % len(picks)]


def _cache_usage(
    request: ChatRequest, model: CatalogModel, endpoint: Endpoint, cache: set[bytes] | None
) -> tuple[int, int, int]:
    """(cached, 5-minute writes, 1-hour writes): a repeated prefix is read from the cache."""
    pricing = endpoint.pricing
    if cache is None or len(request.messages) < 2 or pricing.input_cache_read is None:
        return 0, 0, 0
    prefix = request.messages[:-1]
    tokens = prompt_tokens(prefix)[0] - REPLY_PRIMING
    key = hashlib.sha256(model.id.encode() + b"\0" + orjson.dumps(prefix, option=orjson.OPT_SORT_KEYS)).digest()
    if key in cache:
        return tokens, 0, 0
    if len(cache) >= _PROMPT_CACHE_LIMIT:
        cache.clear()
    cache.add(key)
    if request.explicit_cache == "1h" and pricing.input_cache_write_1h is not None:
        return 0, 0, tokens
    if request.explicit_cache and pricing.input_cache_write is not None:
        return 0, tokens, 0
    return 0, 0, 0
