"""OpenRouter's error answers for failed upstream calls, as ChatErrors (no I/O).

Bodies follow the recorded ones: a 429 carries `metadata.provider_name` and `metadata.raw`
(tests/fixtures/openrouter/responses/pydantic-ai-cassette-test_openrouter_errors_raised.yaml).
"""

from __future__ import annotations

from minerva_core.emulator.chat_request import ChatError
from minerva_core.emulator.faults import STATUS_FAULTS


def unknown_model(model_id: str) -> ChatError:
    return ChatError(400, f"{model_id} is not a valid model ID")


def no_endpoints(model_id: str) -> ChatError:
    return ChatError(404, f"No endpoints found for {model_id}.")


def no_allowed_providers() -> ChatError:
    return ChatError(404, "No allowed providers are available for the selected model.")


def context_length(limit: int, prompt_tokens: int, max_tokens: int | None, provider: str) -> ChatError:
    output = max_tokens or 0
    return ChatError(
        400,
        f"This endpoint's maximum context length is {limit} tokens. However, you requested "
        f"about {prompt_tokens + output} tokens ({prompt_tokens} of text input, {output} in the "
        "output). Please reduce the length of either one, or use the \"middle-out\" transform "
        "to compress your prompt automatically.",
        {"provider_name": provider, "error_type": "context_length_exceeded"},
    )


def status_fault(
    kind: str,
    *,
    model_id: str,
    provider: str,
    retry_after_s: int,
    context: int | None = None,
    prompt_tokens: int = 0,
    max_tokens: int | None = None,
) -> ChatError:
    """The error answer for a status fault ("429", "5xx", "context_length")."""
    status = STATUS_FAULTS[kind]
    if kind == "429":
        return ChatError(
            429,
            "Provider returned error",
            {
                "provider_name": provider,
                "raw": f"{model_id} is temporarily rate-limited upstream. Please retry shortly, "
                "or add your own key to accumulate your rate limits: "
                "https://openrouter.ai/settings/integrations",
            },
            headers={"Retry-After": str(retry_after_s)},
        )
    if kind == "context_length":
        limit = context or 8192
        return context_length(limit, max(prompt_tokens, limit + 1), max_tokens, provider)
    if status == 500:
        return ChatError(500, "Internal Server Error")
    if status == 502:
        return ChatError(
            502,
            "Provider returned error",
            {"provider_name": provider, "raw": "upstream connect error or disconnect/reset before headers"},
        )
    return ChatError(503, "Service temporarily unavailable", {"provider_name": provider})
