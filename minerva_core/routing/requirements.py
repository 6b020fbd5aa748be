"""Derive a request's ``Requirements`` from an OpenAI/OpenRouter chat request body. Pure.

What is read (everything else is left to the upstream):

* ``messages`` (or a legacy ``prompt`` string): the prompt-token estimate (``tokens``) and the
  input modalities (image_url / input_audio / file / video_url parts; an ``image_url`` holding
  a ``data:`` URL counts by its MIME type, so a PDF sent that way is a file).
* ``max_completion_tokens`` or ``max_tokens`` (else ``default_max_tokens``, not explicit).
* ``tools`` (or legacy ``functions``) non-empty -> tools; ``response_format`` of type
  ``json_schema`` / ``json_object`` -> structured output; ``reasoning`` (unless
  ``{"enabled": false}`` or effort ``"none"``), ``reasoning_effort`` (not ``"none"``) or
  ``include_reasoning: true`` -> reasoning; ``modalities`` -> output modalities.
* ``model`` and ``models[]`` (OpenRouter's fallback list; without ``model`` its first entry is
  the requested model); ``stream``.
* ``provider{}``: ``only`` / ``ignore`` / ``order`` / ``allow_fallbacks`` (provider slugs,
  compared lower-case with spaces as dashes), ``data_collection: "deny"``, ``max_price``
  (OpenRouter's unit, USD per **million** tokens for prompt and completion, per request for
  ``request``; converted here to USD per token), ``sort`` (``"price" | "throughput" |
  "latency"`` or ``{"by": ...}``), ``require_parameters: true`` (every sampling parameter the
  body sets must be in the model's supported_parameters).
* Minerva's extras, in a ``minerva{}`` object the proxy strips before forwarding:
  ``min_uptime`` (0..1), ``max_cost_usd`` (USD for this request, decimal string or number).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from minerva_core.errors import RoutingRequestError
from minerva_core.routing.model import Requirements
from minerva_core.routing.tokens import estimate_prompt_tokens, text_tokens

PER_MILLION = Decimal(1_000_000)
DEFAULT_MAX_TOKENS = 1024

# Request keys that name an OpenRouter "supported_parameters" entry (for require_parameters).
PARAMETER_KEYS = frozenset(
    {
        "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "top_a",
        "min_p", "seed", "stop", "tools", "tool_choice", "parallel_tool_calls",
        "response_format", "structured_outputs", "reasoning", "include_reasoning",
        "reasoning_effort", "frequency_penalty", "presence_penalty", "repetition_penalty",
        "logprobs", "top_logprobs", "logit_bias", "verbosity", "web_search_options",
        "prediction",
    }
)
_SORTS = {"price", "throughput", "latency"}


def provider_slug(name: str) -> str:
    """``"Google AI Studio"`` -> ``"google-ai-studio"``; ``"OpenAI"`` -> ``"openai"``."""
    return "-".join(name.strip().lower().split())


def _slugs(value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise RoutingRequestError(f"provider.{field} must be a list of provider names")
    return tuple(dict.fromkeys(provider_slug(v) for v in value if v.strip()))


def parse_amount(value: Any, field: str) -> Decimal:
    """A non-negative decimal from a string or a JSON number (numbers via their repr, so
    0.1 stays 0.1)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise RoutingRequestError(f"{field} must be a number or a decimal string")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise RoutingRequestError(f"{field} is not a number: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise RoutingRequestError(f"{field} must be a finite non-negative number")
    return amount


def _positive_int(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise RoutingRequestError(f"{field} must be a positive integer")
    return value


def _wants_reasoning(body: Mapping[str, Any]) -> bool:
    reasoning = body.get("reasoning")
    if isinstance(reasoning, Mapping):
        if reasoning.get("enabled") is False or reasoning.get("effort") == "none":
            return False
        return True
    if reasoning is True:
        return True
    effort = body.get("reasoning_effort")
    if isinstance(effort, str) and effort != "none":
        return True
    return body.get("include_reasoning") is True


def _sort(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("by")
    if value is None:
        return None
    if value not in _SORTS:
        raise RoutingRequestError(f"provider.sort must be one of {sorted(_SORTS)}")
    return value


def requirements_from_request(
    body: Mapping[str, Any], *, default_max_tokens: int = DEFAULT_MAX_TOKENS
) -> Requirements:
    """The ``Requirements`` of one chat request body (see the module docstring)."""
    if not isinstance(body, Mapping):
        raise RoutingRequestError("the request body must be a JSON object")

    modalities: set[str] = set()
    messages = body.get("messages")
    tools = body.get("tools") or body.get("functions")
    response_format = body.get("response_format")
    if messages is not None:
        if not isinstance(messages, list):
            raise RoutingRequestError("messages must be a list")
        prompt_tokens = estimate_prompt_tokens(
            messages, tools=tools, response_format=response_format, modalities=modalities
        )
    elif isinstance(body.get("prompt"), str):
        prompt_tokens = text_tokens(body["prompt"])
    else:
        raise RoutingRequestError("the request has neither messages nor a prompt")

    max_tokens = _positive_int(body.get("max_completion_tokens"), "max_completion_tokens")
    if max_tokens is None:
        max_tokens = _positive_int(body.get("max_tokens"), "max_tokens")
    explicit = max_tokens is not None

    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise RoutingRequestError("model must be a string")
    models_raw = body.get("models") or ()
    if not isinstance(models_raw, (list, tuple)) or not all(
        isinstance(m, str) for m in models_raw
    ):
        raise RoutingRequestError("models must be a list of model ids")
    chain = tuple(dict.fromkeys(m.strip() for m in models_raw if m.strip()))
    model = model.strip() or None if model else None
    if model is None and chain:
        model, chain = chain[0], chain[1:]
    chain = tuple(m for m in chain if m != model)

    output = body.get("modalities")
    if output is not None and (
        not isinstance(output, list) or not all(isinstance(m, str) for m in output)
    ):
        raise RoutingRequestError("modalities must be a list of strings")

    structured = isinstance(response_format, Mapping) and response_format.get("type") in (
        "json_schema",
        "json_object",
    )

    provider = body.get("provider")
    provider = {} if provider is None else provider
    if not isinstance(provider, Mapping):
        raise RoutingRequestError("provider must be an object")
    only = _slugs(provider.get("only"), "only")
    order = _slugs(provider.get("order"), "order")
    allow_fallbacks = provider.get("allow_fallbacks") is not False
    allowed: frozenset[str] | None = frozenset(only) if provider.get("only") is not None else None
    if order and not allow_fallbacks:
        allowed = frozenset(order) if allowed is None else allowed & frozenset(order)
    caps = provider.get("max_price")
    caps = {} if caps is None else caps
    if not isinstance(caps, Mapping):
        raise RoutingRequestError("provider.max_price must be an object")

    def per_token(key: str) -> Decimal | None:
        raw = caps.get(key)
        return None if raw is None else parse_amount(raw, f"provider.max_price.{key}") / PER_MILLION

    required: frozenset[str] = frozenset()
    if provider.get("require_parameters") is True:
        required = frozenset(k for k in PARAMETER_KEYS if body.get(k) is not None)

    extras = body.get("minerva")
    extras = {} if extras is None else extras
    if not isinstance(extras, Mapping):
        raise RoutingRequestError("minerva must be an object")
    min_uptime = extras.get("min_uptime")
    if min_uptime is not None:
        if isinstance(min_uptime, bool) or not isinstance(min_uptime, (int, float)) or not (
            0 <= min_uptime <= 1
        ):
            raise RoutingRequestError("minerva.min_uptime must be a number in 0..1")
        min_uptime = float(min_uptime)
    max_cost = extras.get("max_cost_usd")
    request_cap = caps.get("request")

    return Requirements(
        prompt_tokens=prompt_tokens,
        completion_tokens=max_tokens if explicit else default_max_tokens,
        max_tokens_explicit=explicit,
        model=model,
        models=chain,
        input_modalities=frozenset({"text"} | modalities),
        output_modalities=frozenset(output) if output else frozenset({"text"}),
        needs_tools=bool(tools),
        needs_structured_output=structured,
        needs_reasoning=_wants_reasoning(body),
        required_parameters=required,
        allowed_providers=allowed,
        ignored_providers=frozenset(_slugs(provider.get("ignore"), "ignore")),
        provider_order=order,
        allow_provider_fallbacks=allow_fallbacks,
        deny_data_collection=provider.get("data_collection") == "deny",
        max_prompt_price=per_token("prompt"),
        max_completion_price=per_token("completion"),
        max_request_price=None
        if request_cap is None
        else parse_amount(request_cap, "provider.max_price.request"),
        max_cost_usd=None if max_cost is None else parse_amount(max_cost, "minerva.max_cost_usd"),
        min_uptime=min_uptime,
        sort=_sort(provider.get("sort")),
        stream=body.get("stream") is True,
    )
