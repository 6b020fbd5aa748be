"""--snapshot serves any of the six real snapshots, always inside the /models envelope."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import orjson
import pytest

from minerva_core.emulator.catalog import Catalog
from minerva_core.emulator.listing import Listing, ModelQuery
from tests.emulator.openapi_spec import assert_valid, component, errors_of, response_schema
from tests.support.emulator import running_emulator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openrouter"
SNAPSHOTS = sorted(FIXTURES.glob("models-*.json"))


def _models(path: Path) -> list[dict]:
    document = json.loads(path.read_text())
    return document if isinstance(document, list) else document["data"]


@pytest.mark.parametrize("path", SNAPSHOTS, ids=[p.name for p in SNAPSHOTS])
def test_every_snapshot_loads_and_lists_its_text_models(path: Path) -> None:
    listing = Listing(Catalog.from_file(path))
    body = orjson.loads(listing.page(ModelQuery()))
    text = [m for m in _models(path) if "text" in m["architecture"]["output_modalities"]]
    assert body["data"] == text
    assert body["total_count"] == len(text)
    assert body["links"] == {"next": None}


def test_bare_array_snapshot_is_served_with_the_envelope() -> None:
    path = FIXTURES / "models-2026-05-01-sorted-data-array.json"
    with running_emulator(snapshot=path) as base_url:
        body = httpx.get(f"{base_url}/models").json()
        paged = httpx.get(f"{base_url}/models", params={"limit": 300}).json()
        chat = httpx.post(f"{base_url}/chat/completions", headers={"Authorization": "Bearer k"},
                          json={"model": "openai/gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]})
    assert set(body) == {"data", "total_count", "links"}
    assert body["total_count"] == 371 and len(body["data"]) == 371
    assert [m["id"] for m in body["data"]] == [m["id"] for m in _models(path)]
    assert paged["links"]["next"] == "/api/v1/models?offset=300&limit=300"
    assert chat.status_code == 200
    # The 2026-05 records predate `supported_voices`, which today's spec requires:
    assert any("supported_voices" in e for e in errors_of(component("Model"), body["data"][0]))


def test_fill_required_makes_an_old_snapshot_spec_complete() -> None:
    path = FIXTURES / "models-2025-05-23.json"
    with running_emulator(snapshot=path, fill_required=True) as base_url:
        body = httpx.get(f"{base_url}/models").json()
    assert body["total_count"] == 321
    assert_valid(response_schema("/models"), body)
    first = body["data"][0]
    assert first["canonical_slug"] == first["id"]
    assert first["links"] == {"details": f"/api/v1/models/{first['id']}/endpoints"}
