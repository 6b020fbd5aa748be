"""Validate bodies against OpenRouter's official OpenAPI 3.1 spec (tests/fixtures/openrouter).

Schemas are addressed by JSON pointer inside the spec, so inline response schemas (/key,
/credits, /models/.../endpoints) are checked as well as the named components; every $ref
resolves within the one document.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "openrouter" / "openapi.yaml"
_URI = "urn:openrouter-openapi"


@functools.cache
def spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open("rb") as handle:
        return yaml.load(handle, Loader=loader)


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(_URI, DRAFT202012.create_resource(spec()))


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


@functools.cache
def validator_for(pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{_URI}#{pointer}"}, registry=_registry())


def component(name: str) -> Draft202012Validator:
    """The validator of components/schemas/<name>."""
    return validator_for(f"/components/schemas/{name}")


def response_schema(path: str, method: str = "get", status: int = 200,
                    media_type: str = "application/json") -> Draft202012Validator:
    """The validator of one operation's response body, e.g. ("/key", "get", 200)."""
    pointer = "/" + "/".join(
        _escape(s) for s in ("paths", path, method, "responses", str(status), "content", media_type, "schema")
    )
    return validator_for(pointer)


def errors_of(validator: Draft202012Validator, instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message[:300]}"
        for error in validator.iter_errors(instance)
    ]


def assert_valid(validator: Draft202012Validator, instance: Any) -> None:
    problems = errors_of(validator, instance)
    assert not problems, "body breaks the OpenRouter spec:\n" + "\n".join(problems[:20])
