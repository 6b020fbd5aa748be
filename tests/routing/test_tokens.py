"""The prompt-token estimate: deterministic, cheap, documented constants."""

from __future__ import annotations

from minerva_core.routing.tokens import (
    AUDIO_TOKENS,
    IMAGE_TOKENS,
    MESSAGE_OVERHEAD_TOKENS,
    REPLY_PRIMING_TOKENS,
    VIDEO_TOKENS,
    estimate_prompt_tokens,
    part_modality,
    text_tokens,
)


def test_text_is_a_quarter_of_its_utf8_bytes() -> None:
    assert text_tokens("") == 0
    assert text_tokens("abcd") == 1
    assert text_tokens("abcde") == 2
    assert text_tokens("日本語") == 3  # 9 bytes
    assert text_tokens("x" * 4000) == 1000


def test_messages_and_overheads() -> None:
    messages = [{"role": "system", "content": "abcd"}, {"role": "user", "content": "abcdefgh"}]
    assert estimate_prompt_tokens(messages) == REPLY_PRIMING_TOKENS + 2 * MESSAGE_OVERHEAD_TOKENS + 3


def test_tool_calls_and_names_count() -> None:
    messages = [{"role": "assistant", "content": None, "name": "abcd", "tool_calls": [
        {"type": "function", "function": {"name": "abcd", "arguments": "{\"a\": 1}"}}]}]
    assert estimate_prompt_tokens(messages) == 3 + 4 + 1 + 1 + 2


def test_fixed_costs_per_media_part() -> None:
    parts = [{"type": "image_url", "image_url": "https://x"},
             {"type": "input_audio", "input_audio": {}},
             {"type": "video_url", "video_url": {"url": "https://v"}}]
    found: set[str] = set()
    n = estimate_prompt_tokens([{"role": "user", "content": parts}], modalities=found)
    assert n == 3 + 4 + IMAGE_TOKENS + AUDIO_TOKENS + VIDEO_TOKENS
    assert found == {"image", "audio", "video"}


def test_data_urls_count_by_mime_type() -> None:
    def kind(url: str) -> str | None:
        return part_modality({"type": "image_url", "image_url": {"url": url}})

    assert kind("https://example.com/a.png") == "image"
    assert kind("data:image/png;base64,AAA") == "image"
    assert kind("data:application/pdf;base64,AAA") == "file"
    assert kind("data:audio/wav;base64,AAA") == "audio"
    assert kind("data:video/mp4;base64,AAA") == "video"


def test_json_schema_response_format_counts() -> None:
    rf = {"type": "json_schema", "json_schema": {"schema": {"type": "object",
                                                            "properties": {"a": {}}}}}
    assert estimate_prompt_tokens([], response_format=rf) > REPLY_PRIMING_TOKENS


def test_deterministic() -> None:
    tools = [{"b": 1, "a": [1, 2]}]
    a = estimate_prompt_tokens([{"role": "user", "content": "x"}], tools=tools)
    b = estimate_prompt_tokens([{"role": "user", "content": "x"}], tools=[{"a": [1, 2], "b": 1}])
    assert a == b
