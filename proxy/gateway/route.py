"""From a chat body and a key to a routing decision: which strategy (``model`` may be a
concrete id, a strategy alias, minerva/auto or absent), which candidates the key may use,
the request's requirements, then ``minerva_core.routing.decide`` (memoised per snapshot:
it is pure, so the same catalog, requirements, strategy, cooling set and day give the same
decision). Pure apart from the memo.

Errors: an unknown model or alias is 404 ``model_not_found``; a model or strategy outside
the key's allowed_models 403; an unreadable body 400; no eligible model 400 ``no_route``
(503 ``models_cooling_down`` when cooldowns are the only reason).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import AbstractSet, Any

from minerva_core.errors import (
    ForbiddenError,
    InvalidParameterError,
    NoRouteError,
    ResourceNotFoundError,
    RoutingRequestError,
    UnknownModelsError,
)
from minerva_core.routing import (
    Catalog,
    Requirements,
    RoutingDecision,
    decide,
    requirements_from_request,
)
from minerva_core.routing.model import COOLING_DOWN
from proxy.gateway.responses import NoRouteApiError
from proxy.gateway.state import AUTO_ALIAS, KeyInfo, Snapshot, StrategyEntry


@dataclass(slots=True)
class RouteChoice:
    strategy: StrategyEntry
    requirements: Requirements
    catalog: Catalog
    model_requested: str | None  # as the client sent it (id, alias) or None

    @property
    def estimated_tokens(self) -> int:
        """Prompt estimate + max_tokens (or the default): what the tpm bucket is charged."""
        return self.requirements.prompt_tokens + self.requirements.completion_tokens


def _model_not_found(model: str, param: str = "model") -> ResourceNotFoundError:
    err = ResourceNotFoundError(
        f"the model '{model}' does not exist or is not in Minerva's catalog", code="model_not_found", param=param
    )
    return err


def choose_route(snapshot: Snapshot, body: dict[str, Any], key: KeyInfo | None,
                 *, default_max_tokens: int) -> RouteChoice:
    scope = snapshot.scope_of(key)
    model = body.get("model")
    catalog_index = snapshot.catalog.index
    via_alias = False
    if model is None or model == AUTO_ALIAS:
        entry, via_alias = snapshot.strategy_for_key(key), True
        if not scope.allows_strategy(entry, True):
            raise ForbiddenError(f"this API key may not use {model or AUTO_ALIAS}", code="model_not_allowed",
                                 param="model")
    elif model in snapshot.aliases:
        entry, via_alias = snapshot.aliases[model], True
        if not scope.allows_strategy(entry, False):
            raise ForbiddenError(f"this API key may not use the strategy '{model}'", code="model_not_allowed",
                                 param="model")
    elif model in catalog_index:
        entry = snapshot.strategy_for_key(key)
        if not scope.allows_model(model):
            raise ForbiddenError(f"this API key may not use the model '{model}'", code="model_not_allowed",
                                 param="model")
    else:
        raise _model_not_found(model)
    chain = body.get("models")
    if chain:
        unknown = [m for m in chain if m not in catalog_index]
        if unknown:
            raise UnknownModelsError(unknown, param="models")
        denied = [m for m in chain if not scope.allows_model(m)]
        if denied:
            raise ForbiddenError(f"this API key may not use the model(s) {', '.join(denied)}",
                                 code="model_not_allowed", param="models")
    try:
        req = requirements_from_request(body, default_max_tokens=default_max_tokens)
    except RoutingRequestError as exc:
        raise InvalidParameterError(str(exc), code="invalid_request") from None
    if via_alias and req.model is not None:
        req = replace(req, model=None)
    return RouteChoice(entry, req, snapshot.catalog_for(scope), model)


def decide_route(
    snapshot: Snapshot,
    choice: RouteChoice,
    *,
    cooling: AbstractSet[str],
    today: date,
    cache_size: int,
    cooldown_left: float | None = None,
) -> RoutingDecision:
    """The decision (memoised in the snapshot), or NoRouteApiError."""
    strategy = choice.strategy.strategy
    memo_key = (id(choice.catalog), choice.requirements, strategy, cooling, today)
    memo = snapshot.decisions
    decision = memo.get(memo_key) if cache_size else None
    if decision is not None:
        return decision
    try:
        decision = decide(choice.catalog, choice.requirements, strategy, cooling_down=cooling, today=today)
    except NoRouteError as exc:
        if COOLING_DOWN in exc.codes and _routable(choice, strategy, today):
            raise NoRouteApiError(
                "every candidate model is cooling down after repeated upstream failures; retry shortly",
                status=503, code="models_cooling_down", retry_after=cooldown_left,
            ) from None
        raise NoRouteApiError(str(exc), details={"excluded": dict(exc.excluded_counts)}) from None
    if cache_size:
        if len(memo) >= cache_size:
            memo.clear()
        memo[memo_key] = decision
    return decision


def _routable(choice: RouteChoice, strategy: Any, today: date) -> bool:
    """Whether the request would route without cooldowns (then they are why it did not)."""
    try:
        decide(choice.catalog, choice.requirements, strategy, today=today)
    except NoRouteError:
        return False
    return True


def decision_json(decision: RoutingDecision) -> dict[str, Any]:
    """The decision for the recommend endpoint: JSON-ready, Decimal as strings."""
    return {
        "selected_model": decision.selected_model,
        "fallback_models": list(decision.fallback_models),
        "estimated_cost": None if decision.estimated_cost is None else str(decision.estimated_cost),
        "estimated_latency_ms": decision.estimated_latency_ms,
        "confidence_score": decision.confidence_score,
        "strategy": decision.strategy,
        "ranking": decision.ranking,
        "requested_model": decision.requested_model,
        "prompt_tokens": decision.prompt_tokens,
        "completion_tokens": decision.completion_tokens,
        "reasoning": decision.reasoning_record(),
    }


__all__ = ["RouteChoice", "choose_route", "decide_route", "decision_json"]
