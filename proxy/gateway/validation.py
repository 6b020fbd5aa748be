"""Checking a chat completion body by hand (no pydantic on the hot path): the shape the
gateway relies on, and the types of the common parameters, each with a message naming the
parameter. Everything else is the upstream's to judge. Pure."""

from __future__ import annotations

from typing import Any

from minerva_core.errors import InvalidParameterError

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_NUMBERS = {"temperature": (0, 2), "top_p": (0, 1), "frequency_penalty": (-2, 2),
            "presence_penalty": (-2, 2), "repetition_penalty": (0, 2), "min_p": (0, 1), "top_a": (0, 1)}
_INTS = ("seed", "n", "top_k", "top_logprobs")
_OBJECTS = ("provider", "response_format", "stream_options", "reasoning", "logit_bias", "metadata",
            "minerva", "usage", "prediction", "web_search_options")
_LISTS = ("tools", "functions", "transforms", "plugins", "modalities")


def _bad(message: str, param: str) -> InvalidParameterError:
    return InvalidParameterError(message, param=param)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_messages(messages: Any) -> None:
    if messages is None:
        raise _bad("'messages' is required", "messages")
    if not isinstance(messages, list):
        raise _bad("'messages' must be an array of message objects", "messages")
    if not messages:
        raise _bad("'messages' must not be empty", "messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _bad(f"messages[{i}] must be an object", f"messages[{i}]")
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise _bad(f"messages[{i}].role must be one of {', '.join(sorted(ROLES))}", f"messages[{i}].role")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise _bad(f"messages[{i}].content must be a string or an array of content parts",
                       f"messages[{i}].content")


def check_max_tokens(body: dict[str, Any], limit: int) -> None:
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if not _is_int(value):
            raise _bad(f"'{name}' must be an integer", name)
        if value < 1:
            raise _bad(f"'{name}' must be at least 1", name)
        if value > limit:
            raise _bad(f"'{name}' {value} is over this gateway's limit of {limit}", name)


def _number_check(low: float, high: float) -> Any:
    def check(name: str, value: Any) -> None:
        if not _is_number(value) or not low <= value <= high:
            raise _bad(f"'{name}' must be a number from {low} to {high}", name)
    return check


def _int_check(name: str, value: Any) -> None:
    if not _is_int(value):
        raise _bad(f"'{name}' must be an integer", name)


def _object_check(name: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise _bad(f"'{name}' must be an object", name)


def _list_check(name: str, value: Any) -> None:
    if not isinstance(value, list):
        raise _bad(f"'{name}' must be an array", name)


def _model_check(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _bad("'model' must be a non-empty string", "model")


def _models_check(name: str, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(m, str) and m.strip() for m in value):
        raise _bad("'models' must be an array of model ids", "models")


def _stream_check(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise _bad("'stream' must be true or false", "stream")


def _stop_check(name: str, value: Any) -> None:
    if not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(s, str) for s in value))):
        raise _bad("'stop' must be a string or an array of strings", "stop")


def _stream_options_check(name: str, value: Any) -> None:
    _object_check(name, value)
    if value.get("include_usage") is not None and not isinstance(value.get("include_usage"), bool):
        raise _bad("'stream_options.include_usage' must be true or false", "stream_options.include_usage")


# One check per known parameter; the body's keys are walked once (a request sets few).
_CHECKS: dict[str, Any] = {
    **{name: _number_check(low, high) for name, (low, high) in _NUMBERS.items()},
    **dict.fromkeys(_INTS, _int_check),
    **dict.fromkeys(_OBJECTS, _object_check),
    **dict.fromkeys(_LISTS, _list_check),
    "model": _model_check, "models": _models_check, "stream": _stream_check, "stop": _stop_check,
    "stream_options": _stream_options_check,
}


def check_chat_body(body: Any, *, max_tokens_limit: int) -> None:
    """Raise InvalidParameterError (400) for a body the gateway cannot route or forward."""
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object", "body")
    check_messages(body.get("messages"))
    checks = _CHECKS
    for name, value in body.items():
        if value is not None and name in checks:
            checks[name](name, value)
    if "max_tokens" in body or "max_completion_tokens" in body:
        check_max_tokens(body, max_tokens_limit)


__all__ = ["check_chat_body", "check_max_tokens", "check_messages"]
