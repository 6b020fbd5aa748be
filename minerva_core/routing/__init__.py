"""The routing engine: which model serves a chat request. Pure (no I/O library imported),
deterministic, Decimal for money.

    catalog = Catalog.from_records(rows, health={model_id: ModelHealth(...)})
    req = requirements_from_request(body, default_max_tokens=1024)
    decision = decide(catalog, req, BUILTIN_STRATEGIES["cheapest"], cooling_down={...})

Modules: ``model`` (value types and reason codes), ``tokens`` (prompt-token estimate),
``decision`` (RoutingDecision, RoutingEntry), ``requirements`` (request body ->
Requirements), ``strategies`` (built-ins, DB rows, overrides), ``quality`` (benchmarks ->
0..1), ``records`` (plain dicts and OpenRouter /models -> models), ``catalog`` (bitmask and
threshold indexes), ``orders`` (pre-sorted orders), ``candidates`` (filters and reasons),
``scoring`` (rankings), ``engine`` (``decide``), ``narration`` (the reasoning sentences).
"""

from minerva_core.errors import InvalidStrategyError, NoRouteError, RoutingError, RoutingRequestError
from minerva_core.routing.candidates import eligibility, explain
from minerva_core.routing.catalog import Catalog, model_from_record
from minerva_core.routing.engine import decide
from minerva_core.routing.decision import RoutingDecision, RoutingEntry
from minerva_core.routing.model import (
    ModelHealth,
    RequirementOverrides,
    Requirements,
    RoutableModel,
    Strategy,
    Weights,
)
from minerva_core.routing.quality import NEUTRAL_QUALITY, quality_from_benchmarks
from minerva_core.routing.records import record_from_openrouter, records_from_openrouter
from minerva_core.routing.requirements import requirements_from_request
from minerva_core.routing.strategies import (
    BUILTIN_STRATEGIES,
    apply_overrides,
    make_strategy,
    parse_overrides,
    strategy_from_record,
    strategy_weights,
)
from minerva_core.routing.tokens import estimate_prompt_tokens

__all__ = [
    "BUILTIN_STRATEGIES",
    "NEUTRAL_QUALITY",
    "Catalog",
    "InvalidStrategyError",
    "ModelHealth",
    "NoRouteError",
    "RequirementOverrides",
    "Requirements",
    "RoutableModel",
    "RoutingDecision",
    "RoutingEntry",
    "RoutingError",
    "RoutingRequestError",
    "Strategy",
    "Weights",
    "apply_overrides",
    "decide",
    "eligibility",
    "estimate_prompt_tokens",
    "explain",
    "make_strategy",
    "model_from_record",
    "parse_overrides",
    "quality_from_benchmarks",
    "record_from_openrouter",
    "records_from_openrouter",
    "requirements_from_request",
    "strategy_from_record",
    "strategy_weights",
]
