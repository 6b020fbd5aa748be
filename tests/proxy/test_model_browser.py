"""GET models/discover on a catalog loaded by one real discover run (module-scoped), every
expectation worked out independently from the snapshot file (tests/proxy/snapshot_facts.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.proxy.conftest import ADMIN, API, SNAPSHOT
from tests.proxy.snapshot_facts import expected_order, facts

pytestmark = pytest.mark.slow
DISCOVER = f"{API}/models/discover"
MODELS = facts(SNAPSHOT)
BY_ID = {f.id: f for f in MODELS}
M = Decimal(1_000_000)


@pytest.fixture(scope="module")
def client(make_client, catalog_db):
    url, engine = catalog_db
    with make_client(url, engine) as client:
        yield client


def _get(client, **params) -> dict:
    response = client.get(DISCOVER, headers=ADMIN, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _all_ids(client, **params) -> list[str]:
    """Every matching id, walking next_cursor pages."""
    ids: list[str] = []
    page = _get(client, limit=500, **params)
    while True:
        ids += [m["id"] for m in page["data"]]
        if not page["next_cursor"]:
            return ids
        page = _get(client, limit=500, cursor=page["next_cursor"], **params)


def test_the_default_page_is_the_first_fifty_active_models_by_id(client):
    page = _get(client)
    assert page["total"] == len(MODELS) == 549
    assert page["limit"] == 50 and page["offset"] == 0 and page["sort"] == "id" and page["order"] == "asc"
    assert [m["id"] for m in page["data"]] == sorted(BY_ID)[:50]
    assert page["next_offset"] == 50 and page["next_cursor"]


def test_offset_paging_walks_the_whole_catalog(client):
    ids, offset = [], 0
    while offset is not None:
        page = _get(client, limit=200, offset=offset)
        assert page["total"] == 549
        ids += [m["id"] for m in page["data"]]
        offset = page["next_offset"]
    assert ids == sorted(BY_ID)
    assert _get(client, offset=10_000)["data"] == []


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", ["id", "name", "context_length", "prompt_price", "completion_price",
                                  "quality", "created"])
def test_every_sort_with_cursor_paging_matches_an_independent_sort(client, sort, order):
    want = expected_order(MODELS, sort, order == "desc")
    got: list[str] = []
    page = _get(client, sort=sort, order=order, limit=97)
    while True:
        got += [m["id"] for m in page["data"]]
        if not page["next_cursor"]:
            break
        page = _get(client, sort=sort, order=order, limit=97, cursor=page["next_cursor"])
    assert got == want


def _count(predicate) -> set[str]:
    return {f.id for f in MODELS if predicate(f)}


def _in_any_field(term: str):
    t = term.lower()
    return lambda f: t in f.id.lower() or t in f.name.lower() or t in f.description.lower()


FILTERS = [
    ({"q": "claude"}, _in_any_field("claude")),
    ({"q": "CLAUDE sonnet"}, lambda f: _in_any_field("claude")(f) and _in_any_field("sonnet")(f)),
    ({"q": "_"}, _in_any_field("_")),  # LIKE wildcards are taken literally
    ({"q": "100%"}, _in_any_field("100%")),
    ({"provider": "openai"}, lambda f: f.provider == "openai"),
    ({"provider": ["anthropic", "google"]}, lambda f: f.provider in {"anthropic", "google"}),
    ({"provider": "anthropic,x-ai"}, lambda f: f.provider in {"anthropic", "x-ai"}),
    ({"modality": "image"}, lambda f: "image" in f.inputs or "image" in f.outputs),
    ({"modality": ["audio", "text"]}, lambda f: all(m in f.inputs + f.outputs for m in ("audio", "text"))),
    ({"modality": "embeddings"}, lambda f: "embeddings" in f.inputs + f.outputs),
    ({"capability": "tools"}, lambda f: "tools" in f.capabilities),
    ({"capability": "structured_output"}, lambda f: "structured_output" in f.capabilities),
    ({"capability": "reasoning"}, lambda f: "reasoning" in f.capabilities),
    ({"capability": "vision"}, lambda f: "vision" in f.capabilities),
    ({"capability": "audio"}, lambda f: "audio" in f.capabilities),
    ({"capability": ["tools", "vision", "reasoning"]},
     lambda f: {"tools", "vision", "reasoning"} <= f.capabilities),
    ({"min_context": 1_000_000}, lambda f: (f.context_length or 0) >= 1_000_000),
    ({"max_prompt_price": "0.5"}, lambda f: f.prompt is not None and f.prompt * M <= Decimal("0.5")),
    ({"max_completion_price": "2"}, lambda f: f.completion is not None and f.completion * M <= 2),
    ({"max_prompt_price": "0"}, lambda f: f.prompt == 0),
    ({"free_only": "true"}, lambda f: f.free),
    ({"status": "all"}, lambda f: True),
    ({"status": "active"}, lambda f: True),
    ({"status": ["deprecated", "disabled"]}, lambda f: False),
    ({"provider": "openai", "capability": "tools", "max_prompt_price": "1", "min_context": 100_000},
     lambda f: f.provider == "openai" and "tools" in f.capabilities and f.prompt is not None
     and f.prompt * M <= 1 and (f.context_length or 0) >= 100_000),
    ({"q": "free", "free_only": "1", "modality": "text"},
     lambda f: _in_any_field("free")(f) and f.free and "text" in f.inputs + f.outputs),
]


@pytest.mark.parametrize(("params", "predicate"), FILTERS, ids=[str(p) for p, _ in FILTERS])
def test_every_filter_matches_an_independent_count(client, params, predicate):
    want = _count(predicate)
    page = _get(client, limit=500, **params)
    assert page["total"] == len(want)
    assert set(_all_ids(client, **params)) == want


def test_the_family_filter_matches_the_stored_families(client, catalog_db):
    from sqlalchemy import text

    with catalog_db[1].connect() as conn:
        families = dict(conn.execute(text(
            "SELECT model_family, count(*) FROM ai_models WHERE status = 'active' AND model_family IS NOT NULL "
            "GROUP BY model_family ORDER BY count(*) DESC, model_family LIMIT 3")).all())
    for family, count in families.items():
        page = _get(client, family=family, limit=500)
        assert page["total"] == count and {m["model_family"] for m in page["data"]} == {family}
    two = list(families)[:2]
    assert _get(client, family=two)["total"] == sum(families[f] for f in two)


def test_prices_are_exact_decimal_strings_per_token_and_per_million(client):
    page = _get(client, limit=500, provider="openai")
    for model in page["data"]:
        facts_ = BY_ID[model["id"]]
        pricing = model["pricing"]
        if facts_.prompt is None:
            assert pricing["is_variable"] is True and pricing["prompt_per_token"] is None
            continue
        for side, value in (("prompt", facts_.prompt), ("completion", facts_.completion)):
            per_token, per_million = pricing[f"{side}_per_token"], pricing[f"{side}_per_million"]
            assert isinstance(per_token, str) and isinstance(per_million, str)
            assert "e" not in per_token.lower() and "e" not in per_million.lower()
            assert Decimal(per_token) == value and Decimal(per_million) == value * M
        for dim, amount in pricing["other"].items():
            assert isinstance(amount, str) and Decimal(amount) == Decimal(str(facts_.pricing[dim]))
        assert pricing["is_free"] == facts_.free


def test_a_variable_price_router_has_no_prices_and_sorts_last(client):
    routers = [f.id for f in MODELS if f.prompt is None]
    assert routers
    page = _get(client, sort="prompt_price", order="asc", limit=500, offset=500)
    tail = [m["id"] for m in page["data"]][-len(routers):]
    assert tail == sorted(routers)
    one = _get(client, q=routers[0], limit=500)
    model = next(m for m in one["data"] if m["id"] == routers[0])
    assert model["pricing"]["is_variable"] is True and model["pricing"]["completion_per_million"] is None


def test_a_model_reads_as_its_snapshot_record(client):
    model = next(m for m in _get(client, q="anthropic/", limit=500)["data"] if "tools" in BY_ID[m["id"]].capabilities)
    f = BY_ID[model["id"]]
    assert model["upstream_provider"] == f.provider and model["context_length"] == f.context_length
    assert {k for k, v in model["capabilities"].items() if v} >= f.capabilities
    assert model["status"] == "active" and model["disabled_by_admin"] is False


BAD = [
    ({"limit": 0}, "limit"),
    ({"limit": 501}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"offset": -1}, "offset"),
    ({"sort": "popularity"}, "sort"),
    ({"order": "sideways"}, "order"),
    ({"capability": "telepathy"}, "capability"),
    ({"status": "gone"}, "status"),
    ({"min_context": "lots"}, "min_context"),
    ({"min_context": 0}, "min_context"),
    ({"max_prompt_price": "cheap"}, "max_prompt_price"),
    ({"max_prompt_price": "-1"}, "max_prompt_price"),
    ({"max_completion_price": "Infinity"}, "max_completion_price"),
    ({"free_only": "maybe"}, "free_only"),
    ({"provider": "Open AI!"}, "provider"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"sortt": "name"}, "sortt"),
    ({"q": "x" * 201}, "q"),
]


@pytest.mark.parametrize(("params", "param"), BAD, ids=[str(p)[:40] for p, _ in BAD])
def test_bad_parameters_are_a_400_naming_the_parameter(client, params, param):
    response = client.get(DISCOVER, headers=ADMIN, params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert param in error["message"]


def test_a_cursor_only_works_with_its_own_sort_and_without_offset(client):
    cursor = _get(client, sort="name", limit=5)["next_cursor"]
    for params in ({"sort": "context_length"}, {"sort": "name", "order": "desc"},
                   {"sort": "name", "offset": 5}):
        response = client.get(DISCOVER, headers=ADMIN, params={"cursor": cursor, **params})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["param"] == "cursor"
