"""Fixtures for the catalog tests: the six real /models snapshots and a literal record maker."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from minerva_core.catalog import NormalisedCatalog, normalise_catalog

SNAPSHOT_DIR = Path(__file__).parents[1] / "fixtures" / "openrouter"
# file -> number of models, as stated in SOURCES.md section 1
SNAPSHOTS = {
    "models-2025-05-23.json": 321,
    "models-2025-11-10.json": 341,
    "models-2026-02-27.json": 344,
    "models-2026-05-01-sorted-data-array.json": 371,
    "models-2026-08-19.json": 414,
    "models-all-modalities-2026-08-19.json": 549,
}
# consecutive snapshots of the same (text-output) listing
CONSECUTIVE = [
    ("models-2025-05-23.json", "models-2025-11-10.json"),
    ("models-2025-11-10.json", "models-2026-02-27.json"),
    ("models-2026-02-27.json", "models-2026-05-01-sorted-data-array.json"),
    ("models-2026-05-01-sorted-data-array.json", "models-2026-08-19.json"),
]


@cache
def _payload_text(name: str) -> str:
    return (SNAPSHOT_DIR / name).read_text(encoding="utf-8")


def load_payload(name: str) -> Any:
    """A fresh parsed copy of a snapshot (tests may not share mutable payloads)."""
    return json.loads(_payload_text(name))


def records_of(payload: Any) -> list[dict[str, Any]]:
    return payload["data"] if isinstance(payload, dict) else payload


@cache
def normalised(name: str) -> NormalisedCatalog:
    return normalise_catalog(load_payload(name))


@pytest.fixture(params=sorted(SNAPSHOTS))
def snapshot_name(request: pytest.FixtureRequest) -> str:
    return request.param


BASE_RECORD: dict[str, Any] = {
    "id": "acme/widget-1",
    "canonical_slug": "acme/widget-1-20260101",
    "hugging_face_id": "",
    "name": "Acme: Widget 1",
    "created": 1767225600,
    "description": "A test model.",
    "context_length": 128000,
    "architecture": {
        "modality": "text+image->text",
        "input_modalities": ["text", "image"],
        "output_modalities": ["text"],
        "tokenizer": "Other",
        "instruct_type": None,
    },
    "pricing": {"prompt": "0.000001", "completion": "0.000002"},
    "top_provider": {
        "context_length": 128000,
        "max_completion_tokens": 8192,
        "is_moderated": False,
    },
    "per_request_limits": None,
    "supported_parameters": ["max_tokens", "temperature"],
    "default_parameters": {"temperature": None, "top_p": None, "frequency_penalty": None},
}


def make_record(model_id: str = "acme/widget-1", **fields: Any) -> dict[str, Any]:
    """A valid record in the 2026 shape; keyword arguments replace (or, as None-valued
    ``_drop=[...]``, remove) top-level fields."""
    record = copy.deepcopy(BASE_RECORD)
    record["id"] = model_id
    record["canonical_slug"] = model_id.split(":")[0]
    for key in fields.pop("_drop", []):
        record.pop(key, None)
    record.update(copy.deepcopy(fields))
    return record
