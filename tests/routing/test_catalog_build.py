"""Building the catalog: plain records, the real snapshot, the quality rule, purity."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from minerva_core.errors import CatalogPriceError, CatalogRecordError, DuplicateModelError
from minerva_core.routing import Catalog, ModelHealth, quality_from_benchmarks
from minerva_core.routing.quality import NEUTRAL_QUALITY
from tests.routing.conftest import snapshot_payload_text


def test_the_real_snapshot(snapshot_catalog: Catalog) -> None:
    c = snapshot_catalog
    assert len(c) == 549
    auto = c.get("openrouter/auto")
    assert auto.is_variable_price and auto.prompt_price is None and auto.context_length == 2_000_000
    assert {m.id for m in c.models if m.is_variable_price} == {
        "openrouter/auto", "openrouter/auto-beta", "openrouter/fusion",
        "openrouter/pareto-code", "openrouter/bodybuilder"}
    sonnet = c.get("anthropic/claude-sonnet-4.5")
    assert sonnet.prompt_price == Decimal("0.000003")
    assert sonnet.completion_price == Decimal("0.000015")
    assert sonnet.request_price == 0  # absent key = 0
    assert sonnet.supports_tools and sonnet.supports_structured_output and sonnet.supports_reasoning
    assert sonnet.input_modalities == {"text", "image", "file"}
    assert sonnet.max_completion_tokens == 64_000
    assert c.get("openai/gpt-oss-20b:free").is_free
    assert sum(m.quality_score is not None for m in c.models) == 235  # = with benchmarks
    assert c.get("z-ai/glm-4.5").expiration_date == date(2026, 12, 31)
    assert all(m.upstream_provider == m.id.lstrip("~").split("/")[0] for m in c.models)


def test_snapshot_quality_follows_the_documented_rule(snapshot_catalog: Catalog) -> None:
    data = {m["id"]: m for m in json.loads(snapshot_payload_text())["data"]}
    for model_id in ("anthropic/claude-opus-5", "meituan/longcat-2.0", "amazon/nova-pro-v1"):
        assert snapshot_catalog.get(model_id).quality_score == quality_from_benchmarks(
            data[model_id].get("benchmarks"))
    assert snapshot_catalog.get("anthropic/claude-opus-5").quality_score == round(63.1 / 70, 4)


def test_quality_rule() -> None:
    assert quality_from_benchmarks(None) is None
    assert quality_from_benchmarks({}) is None
    assert quality_from_benchmarks({"artificial_analysis": {"intelligence_index": 35}}) == 0.5
    assert quality_from_benchmarks({"artificial_analysis": {"intelligence_index": 90}}) == 1.0
    coding = quality_from_benchmarks({"artificial_analysis": {"intelligence_index": None,
                                                              "coding_index": 45.3}})
    assert coding == round((0.7265 * 45.3 + 1.65) / 70, 4)
    arena = {"design_arena": [{"arena": "models", "elo": 1200}, {"arena": "models", "elo": 1300},
                              {"arena": "agents", "elo": 100}]}
    assert quality_from_benchmarks(arena) == round((0.1157 * 1250 - 99.45) / 70, 4)
    assert quality_from_benchmarks({"design_arena": [{"arena": "agents", "elo": 800}]}) == 0.0
    assert NEUTRAL_QUALITY == 0.5


def test_from_records_defaults_and_derivations() -> None:
    c = Catalog.from_records([
        {"id": "~acme/latest", "prompt": "0.000001", "completion": Decimal("0.000002"),
         "supported_parameters": ["tools", "structured_outputs", "include_reasoning"],
         "expiration_date": "2026-09-01", "providers": ["Google AI Studio"]},
        {"id": "acme/unpriced", "completion_price": "0.1"},
    ], health={"~acme/latest": {"p50_latency_ms": 10.0, "uptime": 0.5}})
    m = c.get("~acme/latest")
    assert m.upstream_provider == "acme" and m.request_price == 0
    assert (m.supports_tools, m.supports_structured_output, m.supports_reasoning) == (
        True, True, True)
    assert m.expiration_date == date(2026, 9, 1)
    assert m.providers == {"google-ai-studio"}
    assert c.health_of("~acme/latest") == ModelHealth(p50_latency_ms=10.0, uptime=0.5)
    assert not c.get("acme/unpriced").is_priced


@pytest.mark.parametrize(("record", "error"), [
    ({"prompt_price": "1"}, CatalogRecordError),
    ({"id": "a/b", "prompt_price": 0.1, "completion_price": "0"}, CatalogPriceError),
    ({"id": "a/b", "prompt_price": "abc", "completion_price": "0"}, CatalogPriceError),
    ({"id": "a/b", "prompt_price": "-2", "completion_price": "0"}, CatalogPriceError),
    ({"id": "a/b", "prompt_price": "1", "completion_price": "0", "expiration_date": "soon"},
     CatalogRecordError),
])
def test_bad_records_raise(record, error) -> None:
    with pytest.raises(error):
        Catalog.from_records([record])


def test_duplicate_ids_raise() -> None:
    rec = {"id": "a/b", "prompt_price": "0", "completion_price": "0"}
    with pytest.raises(DuplicateModelError):
        Catalog.from_records([rec, rec])


def test_routing_imports_no_io_framework() -> None:
    code = (
        "import sys, minerva_core.routing;"
        "bad = [m for m in ('httpx', 'sqlalchemy', 'prefect', 'fastapi', 'polars', 'psycopg')"
        " if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
