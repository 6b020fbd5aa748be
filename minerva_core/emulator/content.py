"""Deterministic reply content: words, JSON that fits a schema, tool-call arguments.

Everything is drawn from a random.Random seeded by the caller (seed + request digest), so
the same request always gets the same reply, streamed or not.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from minerva_core.emulator.tokens import CHARS_PER_TOKEN

_WORDS = (
    "the model answers with care and a short plan for each step of the task at hand while "
    "keeping the tone plain clear and direct so that readers can follow every point without "
    "extra effort because good answers explain why a result holds not only what it is and "
    "they name the limits of what is known today including the data sources the tools used "
    "and the checks run before any figure was reported to the team in charge of routing cost "
    "latency quality budgets providers models prompts tokens caches streams retries errors"
).split()
_MAX_DEPTH = 6


def text_pieces(rng: random.Random, count: int) -> list[str]:
    """`count` word tokens, each its own piece (" word"), sentences ending with a period."""
    if count <= 0:
        return []
    words = rng.choices(_WORDS, k=count)
    stops = {index for index in range(count - 1) if rng.random() < 0.08}
    stops.add(count - 1)
    pieces: list[str] = []
    capital = True
    for index, word in enumerate(words):
        if capital:
            word = word.capitalize()
        capital = index in stops
        if capital:
            word += "."
        pieces.append(word if index == 0 else " " + word)
    return pieces


def chop(text: str) -> list[str]:
    """Split serialized text (JSON, arguments) into token-sized pieces."""
    if not text:
        return [""]
    return [text[i : i + CHARS_PER_TOKEN] for i in range(0, len(text), CHARS_PER_TOKEN)]


def json_text(schema: dict[str, Any] | None, rng: random.Random) -> str:
    """A compact JSON document valid for `schema` (an object with an answer when None)."""
    if schema is None:
        value: Any = {"answer": " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 8)))}
    else:
        value = instance_of(schema, rng, schema)
    return orjson.dumps(value).decode()


def instance_of(schema: Any, rng: random.Random, root: dict[str, Any], depth: int = 0) -> Any:
    """A value that satisfies the common JSON-schema keywords of `schema`."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    if "$ref" in schema:
        return instance_of(_resolve_ref(schema["$ref"], root), rng, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return instance_of(schema[key][0], rng, root, depth + 1)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(part if isinstance(part, dict) else {})
        return instance_of(merged, rng, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: instance_of(sub, rng, root, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 1)
        return [instance_of(schema.get("items") or {}, rng, root, depth + 1) for _ in range(count)]
    if kind == "integer":
        low = int(schema.get("minimum", 0))
        return rng.randint(low, int(schema.get("maximum", low + 100)))
    if kind == "number":
        low = float(schema.get("minimum", 0))
        return round(rng.uniform(low, float(schema.get("maximum", low + 100))), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _string(schema, rng)


def tool_call(tool: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    function = tool.get("function") or {}
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    arguments = orjson.dumps(instance_of(parameters, rng, parameters)).decode()
    return {
        "id": "call_" + "".join(rng.choice("0123456789abcdef") for _ in range(24)),
        "type": "function",
        "function": {"name": function.get("name", "tool"), "arguments": arguments},
    }


def _string(schema: dict[str, Any], rng: random.Random) -> str:
    fmt = schema.get("format")
    if fmt == "date":
        return "2026-01-01"
    if fmt == "date-time":
        return "2026-01-01T00:00:00Z"
    if fmt == "email":
        return "someone@example.com"
    if fmt in ("uri", "url"):
        return "https://example.com/"
    length = max(int(schema.get("minLength", 1)), 1)
    text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 4)))
    while len(text) < length:
        text += " " + rng.choice(_WORDS)
    if "maxLength" in schema:
        text = text[: int(schema["maxLength"])]
    return text


def _resolve_ref(ref: str, root: dict[str, Any]) -> Any:
    if not ref.startswith("#/"):
        return {}
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node or {}
