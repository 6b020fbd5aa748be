"""Response bodies shaped like the recorded real ones and complete per the official spec."""

from __future__ import annotations

from datetime import timezone
from typing import Any

from minerva_core.emulator.generations import Generation
from minerva_core.emulator.jsonbody import dumps
from minerva_core.emulator.planner import ChatPlan
from minerva_core.emulator.reply import Piece
from minerva_core.pricing import CostBreakdown, Usage

SSE_DONE = b"data: [DONE]\n\n"
PROCESSING = b": OPENROUTER PROCESSING\n\n"
PADDING = b"\n         \n"  # the unit OpenRouter repeats before a non-stream body


def usage_json(usage: Usage, cost: CostBreakdown) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "cost": cost.total,
        "is_byok": False,
        "prompt_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens + usage.cache_write_1h_tokens,
            "audio_tokens": usage.audio_tokens,
            "video_tokens": 0,
        },
        "cost_details": {
            "upstream_inference_cost": None,
            "upstream_inference_prompt_cost": cost.prompt_side,
            "upstream_inference_completions_cost": cost.completion_side,
        },
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "image_tokens": 0,
        },
    }
    if usage.web_search_requests:
        body["server_tool_use_details"] = {"web_search_requests": usage.web_search_requests}
    return body


def completion_json(plan: ChatPlan, generation_id: str, created: int) -> dict[str, Any]:
    usage = plan.usage()
    reasoning = plan.text("reasoning")
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if plan.tool_call else plan.text("content"),
        "refusal": None,
        "reasoning": reasoning or None,
    }
    if reasoning:
        message["reasoning_details"] = [_reasoning_detail(reasoning)]
    if plan.tool_call:
        message["tool_calls"] = [plan.tool_call]
    return {
        "id": generation_id,
        "provider": plan.endpoint.provider_name,
        "model": plan.model.id,
        "object": "chat.completion",
        "created": created,
        "choices": [
            {
                "logprobs": None,
                "finish_reason": plan.finish_reason,
                "native_finish_reason": plan.finish_reason,
                "index": 0,
                "message": message,
            }
        ],
        "system_fingerprint": None,
        "usage": usage_json(usage, plan.cost(usage)),
    }


class ChunkWriter:
    """SSE `data:` lines for one streamed completion, in the recorded chunk shape."""

    def __init__(self, plan: ChatPlan, generation_id: str, created: int) -> None:
        self._plan = plan
        self._head = {
            "id": generation_id,
            "provider": plan.endpoint.provider_name,
            "model": plan.model.id,
            "object": "chat.completion.chunk",
            "created": created,
        }
        self._tool_started = False

    def _line(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish,
                  "native_finish_reason": finish, "logprobs": None}
        return b"data: " + dumps({**self._head, "choices": [choice], **extra}) + b"\n\n"

    def opening(self) -> bytes:
        return self._line({"role": "assistant", "content": "", "reasoning": None, "reasoning_details": []})

    def piece(self, piece: Piece) -> bytes:
        if piece.kind == "reasoning":
            return self._line({"role": "assistant", "content": "", "reasoning": piece.text,
                               "reasoning_details": [_reasoning_detail(piece.text)]})
        if piece.kind == "tool":
            call = self._plan.tool_call or {}
            if not self._tool_started:
                self._tool_started = True
                fragment = {"index": 0, "id": call.get("id"), "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": piece.text}}
            else:
                fragment = {"index": 0, "function": {"arguments": piece.text}}
            return self._line({"role": "assistant", "content": None, "tool_calls": [fragment]})
        return self._line({"role": "assistant", "content": piece.text, "reasoning": None,
                           "reasoning_details": []})

    def finish(self, reason: str) -> bytes:
        return self._line({"role": "assistant", "content": "", "reasoning": None,
                           "reasoning_details": []}, reason)

    def usage(self, usage: Usage, cost: CostBreakdown) -> bytes:
        return self._line({"role": "assistant", "content": ""}, usage=usage_json(usage, cost))

    def whole(self, prefix: bytes = b"") -> bytes:
        """The complete stream at once: prefix, opening, every piece, finish, usage, [DONE]."""
        usage = self._plan.usage()
        return (prefix + self.opening() + b"".join(self.piece(p) for p in self._plan.pieces)
                + self.finish(self._plan.finish_reason) + self.usage(usage, self._plan.cost(usage)) + SSE_DONE)

    def error(self, code: int, message: str, usage: Usage, cost: CostBreakdown) -> bytes:
        error = {"code": code, "message": message, "metadata": {"error_type": "provider_unavailable"}}
        return self._line({"role": "assistant", "content": ""}, "error", error=error,
                          usage=usage_json(usage, cost))


def generation_json(generation: Generation) -> dict[str, Any]:
    usage = generation.usage
    created = generation.created_at.astimezone(timezone.utc)
    return {
        "data": {
            "id": generation.id,
            "upstream_id": generation.upstream_id,
            "total_cost": generation.total_cost,
            "cache_discount": generation.cache_discount,
            "upstream_inference_cost": 0,
            "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "model": generation.model_id,
            "app_id": None,
            "streamed": generation.streamed,
            "cancelled": generation.cancelled,
            "provider_name": generation.provider_name,
            "latency": generation.latency_ms,
            "moderation_latency": None,
            "generation_time": generation.generation_time_ms,
            "finish_reason": generation.finish_reason,
            "native_finish_reason": generation.finish_reason,
            "service_tier": None,
            "tokens_prompt": usage.prompt_tokens,
            "tokens_completion": usage.completion_tokens,
            "native_tokens_prompt": usage.prompt_tokens,
            "native_tokens_completion": usage.completion_tokens,
            "native_tokens_completion_images": 0,
            "native_tokens_reasoning": usage.reasoning_tokens,
            "native_tokens_cached": usage.cached_tokens,
            "num_media_prompt": generation.media or None,
            "num_input_audio_prompt": None,
            "num_media_completion": 0,
            "num_search_results": 5 * usage.web_search_requests or None,
            "num_fetches": None,
            "web_search_engine": "exa" if usage.web_search_requests else None,
            "origin": generation.origin,
            "usage": generation.total_cost,
            "is_byok": False,
            "external_user": generation.user,
            "api_type": "completions",
            "preset_id": None,
            "router": generation.router,
            "provider_responses": list(generation.provider_responses),
            "user_agent": generation.user_agent,
            "http_referer": generation.http_referer,
            "data_region": "global",
            "workspace_id": None,
            "request_id": generation.request_id,
            "session_id": None,
            "response_cache_source_id": None,
        }
    }


def _reasoning_detail(text: str) -> dict[str, Any]:
    return {"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}
