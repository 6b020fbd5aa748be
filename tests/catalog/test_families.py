"""upstream_provider, split_variant and model_family on real ids from the snapshots."""

from __future__ import annotations

import polars as pl
import pytest

from minerva_core.catalog.families import (
    base_id_expr,
    model_family,
    model_family_series,
    split_variant,
    upstream_provider,
    upstream_provider_expr,
    variant_expr,
)

# (real id from tests/fixtures/openrouter/models-*.json, expected family)
FAMILIES = [
    ("anthropic/claude-3.7-sonnet", "claude-3.7-sonnet"),
    ("anthropic/claude-3.7-sonnet:thinking", "claude-3.7-sonnet"),
    ("anthropic/claude-3.5-haiku-20241022:beta", "claude-3.5-haiku"),
    ("anthropic/claude-3-opus", "claude-3-opus"),
    ("anthropic/claude-sonnet-4", "claude-sonnet-4"),
    ("anthropic/claude-sonnet-4.5", "claude-sonnet-4.5"),
    ("anthropic/claude-opus-4.6-fast", "claude-opus-4.6"),
    ("anthropic/claude-haiku-4.5:batch", "claude-haiku-4.5"),
    ("openai/gpt-4.1", "gpt-4.1"),
    ("openai/gpt-4.1-mini:batch", "gpt-4.1"),
    ("openai/gpt-4o", "gpt-4o"),
    ("openai/gpt-4o-mini-2024-07-18", "gpt-4o"),
    ("openai/gpt-4o:extended", "gpt-4o"),
    ("openai/gpt-4-32k-0314", "gpt-4"),
    ("openai/gpt-3.5-turbo-instruct", "gpt-3.5"),
    ("openai/gpt-5.6-sol-pro:batch", "gpt-5.6"),
    ("openai/o4-mini-high", "o4"),
    ("openai/gpt-oss-120b:free", "gpt-oss"),
    ("openai/text-embedding-3-large", "text-embedding-3"),
    ("meta-llama/llama-3.1-70b-instruct", "llama-3.1"),
    ("meta-llama/llama-3.2-11b-vision-instruct:free", "llama-3.2"),
    ("meta-llama/llama-4-maverick", "llama-4"),
    ("meta-llama/llama-guard-3-8b", "llama-guard-3"),
    ("scb10x/llama3.1-typhoon2-70b-instruct", "llama-3.1"),
    ("sao10k/l3.3-euryale-70b", "llama-3.3"),
    ("google/gemini-2.5-pro-preview-05-06", "gemini-2.5"),
    ("google/gemini-2.5-flash-lite-preview-09-2025", "gemini-2.5"),
    ("google/gemini-2.5-flash-preview:thinking", "gemini-2.5"),
    ("google/gemini-flash-1.5-8b", "gemini-1.5"),
    ("google/gemma-3n-e4b-it:free", "gemma-3n"),
    ("qwen/qwen3-235b-a22b-thinking-2507", "qwen3"),
    ("qwen/qwen3-coder:exacto", "qwen3"),
    ("qwen/qwen3.5-plus-20260420", "qwen3.5"),
    ("qwen/qwen3.8-2.4t-a95b", "qwen3.8"),
    ("qwen/qwen-2.5-72b-instruct", "qwen2.5"),
    ("qwen/qwen2.5-vl-72b-instruct:free", "qwen2.5"),
    ("qwen/qwq-32b", "qwq"),
    ("deepseek/deepseek-chat", "deepseek-v3"),
    ("deepseek/deepseek-chat-v3-0324:free", "deepseek-v3"),
    ("deepseek/deepseek-chat-v3.1", "deepseek-v3.1"),
    ("deepseek/deepseek-v3.2-speciale", "deepseek-v3.2"),
    ("deepseek/deepseek-r1-distill-llama-70b", "deepseek-r1"),
    ("deepseek/deepseek-v4-pro-0813", "deepseek-v4"),
    ("mistralai/mistral-small-3.1-24b-instruct:free", "mistral-3.1"),
    ("mistralai/mistral-large-2411", "mistral"),
    ("mistralai/mixtral-8x22b-instruct", "mixtral"),
    ("mistralai/devstral-small-2505", "devstral"),
    ("cohere/command-r-plus-08-2024", "command-r"),
    ("x-ai/grok-3-mini-beta", "grok-3"),
    ("x-ai/grok-4.1-fast", "grok-4.1"),
    ("moonshotai/kimi-k2-0905:exacto", "kimi-k2"),
    ("z-ai/glm-4.5-air:free", "glm-4.5"),
    ("minimax/minimax-m2.5", "minimax-m2.5"),
    ("microsoft/phi-3.5-mini-128k-instruct", "phi-3.5"),
    ("nvidia/llama-3.1-nemotron-ultra-253b-v1:free", "llama-3.1"),
    ("nousresearch/hermes-3-llama-3.1-405b", "hermes-3"),
    ("amazon/nova-pro-v1", "nova-v1"),
    ("perplexity/sonar-reasoning-pro", "sonar"),
    ("black-forest-labs/flux.2-klein-4b", "flux.2"),
    ("openrouter/auto", "auto"),
    ("openrouter/free", "free"),
    ("~anthropic/claude-sonnet-latest", "claude-sonnet"),
]


@pytest.mark.parametrize(("model_id", "family"), FAMILIES)
def test_model_family(model_id: str, family: str) -> None:
    assert model_family(model_id) == family


def test_family_ignores_author_alias_prefix_and_variant() -> None:
    assert model_family("meta-llama/llama-3.1-8b-instruct:free") == model_family(
        "llama-3.1-8b-instruct"
    )
    assert model_family("~deepseek/deepseek-v4-flash-latest") == "deepseek-v4"


@pytest.mark.parametrize(
    ("model_id", "provider"),
    [
        ("anthropic/claude-3.7-sonnet", "anthropic"),
        ("meta-llama/llama-3.1-405b:free", "meta-llama"),
        ("~x-ai/grok-latest", "x-ai"),
        ("~anthropic/claude-opus-latest", "anthropic"),
        ("openrouter/auto", "openrouter"),
        ("no-slash-id", None),
    ],
)
def test_upstream_provider(model_id: str, provider: str | None) -> None:
    assert upstream_provider(model_id) == provider
    frame = pl.DataFrame({"id": [model_id]}).select(upstream_provider_expr())
    assert frame.item() == provider


@pytest.mark.parametrize(
    ("model_id", "base", "variant"),
    [
        ("mistralai/mistral-nemo:free", "mistralai/mistral-nemo", "free"),
        ("anthropic/claude-3.7-sonnet:thinking", "anthropic/claude-3.7-sonnet", "thinking"),
        ("anthropic/claude-2:beta", "anthropic/claude-2", "beta"),
        ("neversleep/llama-3-lumimaid-8b:extended", "neversleep/llama-3-lumimaid-8b", "extended"),
        ("z-ai/glm-4.6:exacto", "z-ai/glm-4.6", "exacto"),
        ("openai/gpt-4o-mini:batch", "openai/gpt-4o-mini", "batch"),
        ("openai/gpt-4o", "openai/gpt-4o", None),
        ("~google/gemini-pro-latest", "~google/gemini-pro-latest", None),
    ],
)
def test_split_variant(model_id: str, base: str, variant: str | None) -> None:
    assert split_variant(model_id) == (base, variant)
    frame = pl.DataFrame({"id": [model_id]}).select(base_id_expr(), variant_expr().alias("v"))
    assert frame.row(0) == (base, variant)


def test_family_series_matches_function_and_keeps_order() -> None:
    ids = pl.Series([m for m, _ in FAMILIES] + [FAMILIES[0][0], None])
    expected = [f for _, f in FAMILIES] + [FAMILIES[0][1], None]
    assert model_family_series(ids).to_list() == expected
