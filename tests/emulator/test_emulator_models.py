"""GET /models, /models/count and /models/{author}/{slug}/endpoints over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.emulator.openapi_spec import assert_valid, response_schema

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openrouter"
EMULATOR_OPTIONS = {"seed": 11}


@pytest.fixture(scope="module")
def snapshot_ids() -> tuple[list[str], list[str]]:
    text = json.loads((FIXTURES / "models-2026-08-19.json").read_text())["data"]
    every = json.loads((FIXTURES / "models-all-modalities-2026-08-19.json").read_text())["data"]
    return [m["id"] for m in text], [m["id"] for m in every]


def test_default_lists_the_text_output_models_like_the_real_api(client: httpx.Client, snapshot_ids) -> None:
    body = client.get("/models").json()
    assert [m["id"] for m in body["data"]] == snapshot_ids[0]
    assert body["total_count"] == 414
    assert body["links"] == {"next": None}
    assert_valid(response_schema("/models"), body)


def test_output_modalities_all_and_lists(client: httpx.Client, snapshot_ids) -> None:
    every = client.get("/models", params={"output_modalities": "all"}).json()
    assert [m["id"] for m in every["data"]] == snapshot_ids[1]
    assert every["total_count"] == 549
    assert_valid(response_schema("/models"), every)
    images = client.get("/models", params={"output_modalities": "image"}).json()["data"]
    assert images and all("image" in m["architecture"]["output_modalities"] for m in images)
    both = client.get("/models", params={"output_modalities": "image,text"}).json()
    assert both["total_count"] == len({*snapshot_ids[0], *(m["id"] for m in images)})


def test_the_served_models_are_the_snapshot_bytes_for_bytes(client: httpx.Client) -> None:
    served = client.get("/models", params={"output_modalities": "all"}).json()["data"]
    recorded = json.loads((FIXTURES / "models-all-modalities-2026-08-19.json").read_text())["data"]
    assert served == recorded


def test_count(client: httpx.Client) -> None:
    body = client.get("/models/count").json()
    assert body == {"data": {"count": 414}}
    assert_valid(response_schema("/models/count"), body)
    assert client.get("/models/count", params={"output_modalities": "all"}).json()["data"]["count"] == 549


@pytest.mark.parametrize("limit", [3, 37, 548, 549, 1000])
def test_paging_through_links_next_yields_every_model_once(client: httpx.Client, snapshot_ids, limit: int) -> None:
    seen: list[str] = []
    url: str | None = f"/models?output_modalities=all&limit={limit}"
    pages = 0
    origin = str(client.base_url).split("/api/v1")[0]
    while url:
        body = client.get(url if url.startswith("/models") else origin + url).json()
        assert body["total_count"] == 549
        assert_valid(response_schema("/models"), {**body, "data": body["data"][:2]})  # all: above
        seen += [m["id"] for m in body["data"]]
        url = body["links"]["next"]
        assert url is None or url.startswith("/api/v1/models?")
        pages += 1
    assert seen == snapshot_ids[1]
    assert pages == -(-549 // limit)


def test_offset_without_limit_pages_by_500(client: httpx.Client) -> None:
    body = client.get("/models", params={"offset": 400}).json()
    assert len(body["data"]) == 14 and body["links"]["next"] is None
    first = client.get("/models", params={"offset": 0, "output_modalities": "all"}).json()
    assert len(first["data"]) == 500
    assert first["links"]["next"] == "/api/v1/models?output_modalities=all&offset=500&limit=500"


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}])
def test_bad_paging_is_a_400_in_openrouter_format(client: httpx.Client, params) -> None:
    response = client.get("/models", params=params)
    assert response.status_code == 400
    assert_valid(response_schema("/models", status=400), response.json())


def test_other_filters(client: httpx.Client) -> None:
    tools = client.get("/models", params={"supported_parameters": "tools,response_format"}).json()["data"]
    assert tools and all({"tools", "response_format"} <= set(m["supported_parameters"]) for m in tools)
    found = client.get("/models", params={"q": "gpt-4.1-mini"}).json()["data"]
    assert "openai/gpt-4.1-mini" in [m["id"] for m in found]


def test_endpoints_by_id_and_by_canonical_slug(client: httpx.Client) -> None:
    by_id = client.get("/models/openai/gpt-4.1-mini/endpoints")
    by_slug = client.get("/models/openai/gpt-4.1-mini-2025-04-14/endpoints")
    assert by_id.status_code == by_slug.status_code == 200
    assert by_id.json() == by_slug.json()
    data = by_id.json()["data"]
    assert data["id"] == "openai/gpt-4.1-mini"
    assert_valid(response_schema("/models/{author}/{slug}/endpoints"), by_id.json())
    first = data["endpoints"][0]
    assert first["pricing"] == {"prompt": "0.0000004", "completion": "0.0000016", "web_search": "0.01",
                                "input_cache_read": "0.0000001"}
    assert first["model_id"] == "openai/gpt-4.1-mini-2025-04-14"
    assert {e["provider_name"] for e in data["endpoints"]} <= {"OpenAI", "Azure"}


def test_endpoints_validate_across_the_catalog(client: httpx.Client, snapshot_ids) -> None:
    validator = response_schema("/models/{author}/{slug}/endpoints")
    for model_id in snapshot_ids[1][::5]:
        response = client.get(f"/models/{model_id}/endpoints")
        assert response.status_code == 200, model_id
        assert_valid(validator, response.json())


def test_endpoints_are_deterministic_per_seed(client: httpx.Client) -> None:
    one = client.get("/models/meta-llama/llama-4-scout/endpoints").json()
    two = client.get("/models/meta-llama/llama-4-scout/endpoints").json()
    assert one == two
    assert 1 <= len(one["data"]["endpoints"]) <= 4
    for endpoint in one["data"]["endpoints"]:
        assert 0 <= endpoint["uptime_last_5m"] <= 100
        assert endpoint["latency_last_30m"]["p50"] <= endpoint["latency_last_30m"]["p99"]


def test_endpoints_without_a_key_hide_latency(emulator_url: str) -> None:
    body = httpx.get(f"{emulator_url}/models/openai/gpt-4.1-mini/endpoints").json()
    assert body["data"]["endpoints"][0]["latency_last_30m"] is None
    assert httpx.get(f"{emulator_url}/models").status_code == 200


def test_unknown_model_endpoints_is_a_404(client: httpx.Client) -> None:
    response = client.get("/models/nobody/nothing/endpoints")
    assert response.status_code == 404
    assert_valid(response_schema("/models/{author}/{slug}/endpoints", status=404), response.json())


def test_unknown_paths_answer_in_openrouter_error_format(client: httpx.Client) -> None:
    response = client.get("/no/such/path")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": 404, "message": "Not Found"}}
