"""A routing decision and the lines of its reasoning. Pure value types."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from minerva_core.routing.model import RankingKind, Verdict


@dataclass(frozen=True, slots=True)
class RoutingEntry:
    """One line of a decision's reasoning: a model, what happened to it, and why.

    ``code`` is machine-readable ("selected", "requested", "models_chain", "strategy_chain",
    "rank:2", or an exclusion code such as "context_too_small", "missing_modality:image").
    """

    model_id: str
    verdict: Verdict
    code: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"model": self.model_id, "verdict": self.verdict, "code": self.code,
                "reason": self.reason}


_DECISION_FIELDS = (
    "selected_model", "fallback_models", "estimated_cost", "estimated_latency_ms",
    "confidence_score", "strategy", "ranking", "requested_model", "prompt_tokens",
    "completion_tokens", "eligible_count", "excluded_counts",
)


class RoutingDecision:
    """The outcome of ``decide`` (immutable).

    ``selected_model`` and ``fallback_models`` (in the order to try them); ``reasoning``: the
    entries (chosen, fallbacks, runner-up, excluded named models); ``estimated_cost``: exact
    Decimal USD for the request's estimated tokens at the selected model's price (None for a
    variable-price router chosen explicitly); ``estimated_latency_ms`` from its health (None
    unknown); ``confidence_score`` in 0..1 (see ``engine``); ``strategy`` the strategy's
    name and ``ranking`` the kind actually used (``provider.sort`` can override it);
    ``excluded_counts``: (code, number of catalog models that filter removed first) in filter
    order; ``eligible_count``: the models left.

    ``reasoning`` may be given as a zero-argument callable: the sentences are then written on
    first access, off the routing hot path (the proxy reads them when it logs the decision).
    """

    __slots__ = (*_DECISION_FIELDS, "_reasoning")

    def __init__(
        self,
        selected_model: str,
        fallback_models: tuple[str, ...],
        reasoning: tuple[RoutingEntry, ...] | Callable[[], tuple[RoutingEntry, ...]],
        estimated_cost: Decimal | None,
        estimated_latency_ms: float | None,
        confidence_score: float,
        strategy: str,
        ranking: RankingKind,
        requested_model: str | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        eligible_count: int = 0,
        excluded_counts: tuple[tuple[str, int], ...] = (),
    ) -> None:
        set_ = object.__setattr__
        set_(self, "selected_model", selected_model)
        set_(self, "fallback_models", tuple(fallback_models))
        set_(self, "_reasoning", reasoning)
        set_(self, "estimated_cost", estimated_cost)
        set_(self, "estimated_latency_ms", estimated_latency_ms)
        set_(self, "confidence_score", confidence_score)
        set_(self, "strategy", strategy)
        set_(self, "ranking", ranking)
        set_(self, "requested_model", requested_model)
        set_(self, "prompt_tokens", prompt_tokens)
        set_(self, "completion_tokens", completion_tokens)
        set_(self, "eligible_count", eligible_count)
        set_(self, "excluded_counts", tuple(excluded_counts))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("RoutingDecision is immutable")

    @property
    def reasoning(self) -> tuple[RoutingEntry, ...]:
        value = self._reasoning
        if callable(value):
            value = tuple(value())
            object.__setattr__(self, "_reasoning", value)
        return value

    @property
    def models(self) -> tuple[str, ...]:
        """The selected model then the fallbacks: the order to try them in."""
        return (self.selected_model, *self.fallback_models)

    def _key(self) -> tuple[Any, ...]:
        return (*(getattr(self, f) for f in _DECISION_FIELDS), self.reasoning)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RoutingDecision):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.selected_model, self.fallback_models, self.strategy))

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in _DECISION_FIELDS[:7])
        return f"RoutingDecision({shown}, ...)"

    def reasoning_record(self) -> dict[str, Any]:
        """A JSON-ready object for ``routing_decisions.reasoning``."""
        return {
            "strategy": self.strategy,
            "ranking": self.ranking,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "eligible": self.eligible_count,
            "excluded": dict(self.excluded_counts),
            "entries": [entry.as_dict() for entry in self.reasoning],
        }
