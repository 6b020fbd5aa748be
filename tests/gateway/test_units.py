"""The gateway's pure parts on literal data (no I/O)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from decimal import Decimal

import orjson
import pytest

from minerva_core.errors import (
    ContextLengthExceeded,
    ForbiddenError,
    InvalidParameterError,
    RateLimited,
    ResourceNotFoundError,
    ServerError,
    UnauthorizedError,
    UpstreamConnectionError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from minerva_core.limits import Admission
from minerva_core.virtual_keys import hash_key
from proxy.gateway.admission import AdmissionControl, queue_verdict
from proxy.gateway.attempts import client_error, retryable, upstream_payload
from proxy.gateway.auth import authenticate, check_admin
from proxy.gateway.build import build_snapshot, health_from_endpoints
from proxy.gateway.exchange import Exchange
from proxy.gateway.recording import cost_digits, decision_row, ledger_row, usage_columns
from proxy.gateway.responses import BudgetExceededError, NoRouteApiError, dumps
from proxy.gateway.route import choose_route, decide_route
from proxy.gateway.state import KeyInfo, SnapshotRows
from proxy.gateway.strategies import strategy_values
from proxy.gateway.streaming import EventSplitter, StreamRelay, _without_usage, split_events
from proxy.gateway.upstream import parse_completion
from proxy.gateway.validation import check_chat_body

NOW = datetime(2026, 9, 1, 12, tzinfo=timezone.utc)


def _model(model_id: str, prompt: str, completion: str, **extra) -> dict:
    return {"id": model_id, "upstream_provider": model_id.split("/")[0], "context_length": 100_000,
            "supported_parameters": ["tools", "response_format"], "status": "active", "prompt": Decimal(prompt),
            "completion": Decimal(completion), "request": Decimal(0),
            "pricing_raw": {"prompt": prompt, "completion": completion}, **extra}


def _snapshot(keys=()) -> object:
    rows = SnapshotRows(
        models=[_model("a/cheap", "0.000001", "0.000002"), _model("b/mid", "0.000002", "0.000004"),
                _model("c/dear", "0.00001", "0.00002"), _model("d/gone", "0.000001", "0.000001", status="deprecated")],
        strategies=[{"name": "chain", "alias": "t/chain", "kind": "cheapest", "fallback_chain": ["c/dear"]}],
        keys=list(keys), versions={"ai_models": 3},
    )
    return build_snapshot(rows, serial=7)


def _key_row(key: str, **extra) -> dict:
    return {"id": "00000000-0000-0000-0000-000000000001", "name": "k", "key_hash": hash_key(key), **extra}


BODY = {"messages": [{"role": "user", "content": "hello"}]}


# -- snapshot, auth, routing ------------------------------------------------------------------
def test_snapshot_build() -> None:
    s = _snapshot()
    assert len(s.catalog.models) == 4 and set(s.prices) == {"a/cheap", "b/mid", "c/dear", "d/gone"}
    assert [m["id"] for m in s.listing] == ["a/cheap", "b/mid", "c/dear"]  # active only
    assert {"minerva/cheapest", "minerva/balanced", "t/chain"} <= set(s.aliases)
    assert s.default_strategy.name == "balanced"


def test_key_or_strategy_change_keeps_the_catalog() -> None:
    first = _snapshot()
    rows = SnapshotRows(keys=[_key_row("mk-new")], strategies=[], versions={"ai_models": 3, "api_keys": 2},
                        catalog_loaded=False)
    second = build_snapshot(rows, serial=8, previous=first)
    assert second.catalog is first.catalog and second.prices is first.prices
    assert authenticate(second, "Bearer mk-new", NOW) and second.serial == 8


def test_health_from_endpoints() -> None:
    health, providers = health_from_endpoints([
        {"model_id": "a/x", "provider_name": "P1", "latency_p50_ms": 300, "throughput_p50": 50, "uptime_last_30m": 99},
        {"model_id": "a/x", "provider_name": "P2", "latency_p50_ms": 200, "throughput_p50": 80, "uptime_last_30m": 97},
    ])
    assert health["a/x"].ttft_ms == 200 and health["a/x"].throughput_tps == 80 and health["a/x"].uptime == 0.99
    assert providers["a/x"] == {"P1", "P2"}


def test_authenticate() -> None:
    s = _snapshot([_key_row("mk-good"), {**_key_row("mk-old"), "id": "2", "revoked_at": NOW}])
    assert authenticate(s, "Bearer mk-good", NOW).name == "k"
    for header, code in ((None, "missing_api_key"), ("Basic x", "invalid_authorization"),
                         ("Bearer mk-nope", "invalid_api_key"), ("Bearer mk-old", "revoked_api_key")):
        with pytest.raises(UnauthorizedError) as err:
            authenticate(s, header, NOW)
        assert err.value.code == code


def test_check_admin() -> None:
    check_admin("Bearer s3cret", "s3cret")
    with pytest.raises(UnauthorizedError):
        check_admin("Bearer wrong", "s3cret")
    with pytest.raises(ForbiddenError):
        check_admin("Bearer anything", None)


def test_choose_route_resolves_model_alias_and_auto() -> None:
    s = _snapshot([_key_row("mk-k", default_strategy="chain")])
    key = authenticate(s, "Bearer mk-k", NOW)
    assert choose_route(s, {**BODY, "model": "a/cheap"}, key, default_max_tokens=100).strategy.name == "chain"
    assert choose_route(s, {**BODY, "model": "minerva/fastest"}, key, default_max_tokens=100).strategy.name == "fastest"
    auto = choose_route(s, {**BODY, "model": "minerva/auto"}, key, default_max_tokens=100)
    assert auto.strategy.name == "chain" and auto.requirements.model is None
    assert choose_route(s, BODY, None, default_max_tokens=100).strategy.name == "balanced"
    with pytest.raises(ResourceNotFoundError):
        choose_route(s, {**BODY, "model": "x/none"}, key, default_max_tokens=100)


def test_allowed_models_scope() -> None:
    s = _snapshot([_key_row("mk-k", allowed_models=["b/mid"]),
                   {**_key_row("mk-s", allowed_models=["minerva/cheapest"]), "id": "3"}])
    only_b = authenticate(s, "Bearer mk-k", NOW)
    with pytest.raises(ForbiddenError):
        choose_route(s, {**BODY, "model": "a/cheap"}, only_b, default_max_tokens=100)
    choice = choose_route(s, {**BODY, "model": "minerva/cheapest"}, only_b, default_max_tokens=100)
    decision = decide_route(s, choice, cooling=frozenset(), today=NOW.date(), cache_size=10)
    assert decision.selected_model == "b/mid" and decision.fallback_models == ()
    strategy_only = authenticate(s, "Bearer mk-s", NOW)
    with pytest.raises(ForbiddenError):
        choose_route(s, {**BODY, "model": "minerva/fastest"}, strategy_only, default_max_tokens=100)
    assert choose_route(s, {**BODY, "model": "minerva/cheapest"}, strategy_only, default_max_tokens=100)
    body = orjson.loads(s.models_body(s.scope_of(strategy_only), strategy_only, dumps))
    assert [m["id"] for m in body["data"]][:1] == ["minerva/cheapest"]


def test_decide_route_candidates_memo_and_cooling() -> None:
    s = _snapshot()
    choice = choose_route(s, {**BODY, "model": "a/cheap"}, None, default_max_tokens=100)
    first = decide_route(s, choice, cooling=frozenset(), today=NOW.date(), cache_size=10)
    assert first.selected_model == "a/cheap"
    assert decide_route(s, choice, cooling=frozenset(), today=NOW.date(), cache_size=10) is first
    cooled = decide_route(s, choice, cooling=frozenset({"a/cheap"}), today=NOW.date(), cache_size=10)
    assert cooled.selected_model != "a/cheap"
    with pytest.raises(NoRouteApiError) as err:
        decide_route(s, choice, cooling=frozenset({"a/cheap", "b/mid", "c/dear"}), today=NOW.date(), cache_size=0,
                     cooldown_left=3.2)
    assert err.value.status_code == 503 and err.value.retry_after == 3.2


# -- validation ----------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    {"messages": []}, {"messages": [{"role": "robot", "content": "x"}]}, {"messages": [{"role": "user", "content": 5}]},
    {**BODY, "max_tokens": True}, {**BODY, "max_tokens": 2_000_000}, {**BODY, "top_p": 3},
    {**BODY, "stop": [1]}, {**BODY, "stream_options": {"include_usage": "yes"}},
])
def test_check_chat_body_rejects(body) -> None:
    with pytest.raises(InvalidParameterError):
        check_chat_body(body, max_tokens_limit=1_000_000)


def test_check_chat_body_accepts_a_full_request() -> None:
    check_chat_body({**BODY, "model": "a/b", "models": ["a/b", "c/d"], "stream": True, "max_tokens": 100,
                     "temperature": 0.2, "tools": [], "provider": {"sort": "price"}, "stop": ["x"], "seed": 1,
                     "stream_options": {"include_usage": True}}, max_tokens_limit=1_000_000)


# -- admission -------------------------------------------------------------------------------
def test_queue_verdict() -> None:
    key = KeyInfo(id="k", name="k", rpm_limit=1, queue_when_limited=True, max_queue_wait_ms=2000)
    limited = Admission(False, 1.5, "rpm")
    assert queue_verdict(Admission(True), key, 0, 0, 5) == "admit"
    assert queue_verdict(limited, key, 0, 0, 5) == "wait"
    assert queue_verdict(limited, key, 5, 0, 5) == "reject"  # queue full
    assert queue_verdict(limited, key, 0, 1.0, 5) == "reject"  # would wait too long
    assert queue_verdict(limited, KeyInfo(id="k", name="k", rpm_limit=1), 0, 0, 5) == "reject"


def test_budget_reserve_and_settle() -> None:
    clock = [0.0]
    control = AdmissionControl(clock=lambda: clock[0])
    key = KeyInfo(id="k", name="k", budget_usd=Decimal("1.00"), budget_period="day")
    held = control.reserve(key, Decimal("0.60"), NOW)
    with pytest.raises(BudgetExceededError):
        control.reserve(key, Decimal("0.50"), NOW)
    control.settle(key, held, Decimal("0.123456789012345678901"), NOW)
    assert control.budgets.spent[("k", "2026-09-01")] == Decimal("0.123456789012345678901")
    assert control.reserve(key, Decimal("0.50"), NOW) == Decimal("0.50")


# -- streaming -------------------------------------------------------------------------------
def test_event_splitter_handles_split_events_and_crlf() -> None:
    splitter = EventSplitter()
    assert splitter.feed(b": OPENROUTER PROCESSING\n\ndata: {\"a\"") == b": OPENROUTER PROCESSING\n\n"
    block = splitter.feed(b":1}\n\ndata: [DONE]\r\n\r\n")
    assert split_events(block) == [b'data: {"a":1}\n\n', b"data: [DONE]\n\n"]
    assert splitter.feed(b"data: {") == b"" and splitter.buffer == b"data: {"


def _relay(include_usage: bool) -> StreamRelay:
    ex = Exchange(request_id="r", created_at=NOW, started=time.perf_counter(), route="chat", stream=True,
                  include_usage=include_usage)
    return StreamRelay(ex, None, EventSplitter(), [], [], lambda ex: None)  # type: ignore[arg-type]


USAGE_EVENT = (b'data: {"id":"gen-1","choices":[{"index":0,"delta":{"role":"assistant","content":""},'
               b'"finish_reason":null}],"usage":{"prompt_tokens":5,"completion_tokens":7,'
               b'"cost":0.000012345678901234567891}}\n\n')
FINISH_EVENT = b'data: {"id":"gen-1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'


def test_relay_hides_usage_unless_asked_and_keeps_exact_cost() -> None:
    hidden = _relay(False)
    out = hidden.process(FINISH_EVENT + USAGE_EVENT + b"data: [DONE]\n\n")
    assert b"usage" not in out and out.endswith(b"data: [DONE]\n\n")
    assert hidden.ex.cost_text == "0.000012345678901234567891" and hidden.ex.finish_reason == "stop"
    shown = _relay(True)
    assert USAGE_EVENT in shown.process(USAGE_EVENT)
    plain = b'data: {"choices":[{"index":0,"delta":{"content":"\\"usage\\" x"},"finish_reason":null}]}\n\n'
    assert shown.process(plain) is plain  # nothing to look into: forwarded as is


def test_usage_stripped_but_content_kept() -> None:
    obj = {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}], "usage": {"cost": 1}}
    assert b"usage" not in _without_usage(obj) and b'"hi"' in _without_usage(obj)


def test_relay_marks_midstream_error() -> None:
    relay = _relay(False)
    error = b'data: {"error":{"code":502,"message":"x","metadata":{"error_type":"provider_unavailable"}},"choices":[]}\n\n'
    assert relay.process(error) == error
    assert relay.ex.status == "error" and relay.ex.error_type == "provider_unavailable" and relay.ex.http_status == 502


# -- upstream and attempts -------------------------------------------------------------------
def test_parse_completion() -> None:
    assert parse_completion(b'{"choices": []}', "m") == {"choices": []}
    with pytest.raises(UpstreamProtocolError):
        parse_completion(b'{"choices": [', "m")
    with pytest.raises(ServerError):
        parse_completion(b'{"error": {"code": 502, "message": "Provider returned error"}}', "m")


def test_retryable_and_client_errors() -> None:
    assert all(retryable(e) for e in (
        RateLimited("x", status_code=429), ServerError("x", status_code=503), UpstreamTimeout("x"),
        UpstreamConnectionError("x"), UpstreamProtocolError("x"), ContextLengthExceeded("x", status_code=400)))
    error, status, kind = client_error(RateLimited("x", status_code=429, retry_after=2.5), 3)
    assert error.status_code == 429 and error.retry_after == 2.5 and status == "rate_limited"
    error, status, _ = client_error(UpstreamTimeout("slow"), 2)
    assert error.status_code == 504 and status == "timeout"


def test_upstream_payload() -> None:
    body = {"model": "minerva/auto", "messages": [], "models": ["a/x", "b/y", "c/z"], "minerva": {"min_uptime": 0.9},
            "stream": True}
    sent = orjson.loads(upstream_payload(body, "b/y", {"a/x", "b/y"}, stream=True))
    assert sent["model"] == "b/y" and sent["models"] == ["b/y", "c/z"] and "minerva" not in sent
    assert sent["stream_options"] == {"include_usage": True}
    assert "models" not in orjson.loads(upstream_payload(body, "c/z", {"a/x", "b/y", "c/z"}, stream=False))


# -- recording ------------------------------------------------------------------------------
def test_cost_digits_exact_and_not_fooled_by_content() -> None:
    raw = b'{"choices":[{"message":{"content":"\\"cost\\": 9"}}],"usage":{"prompt_tokens":1,"cost":1.10000000000000000001}}'
    assert cost_digits(raw) == "1.10000000000000000001"
    assert cost_digits(b'{"choices":[]}') is None


def test_usage_columns_tolerates_reasoning_over_completion() -> None:
    cols = usage_columns({"prompt_tokens": 43, "completion_tokens": 10, "completion_tokens_details":
                          {"reasoning_tokens": 11}, "prompt_tokens_details": {"cached_tokens": 3}})
    assert cols["reasoning_tokens"] == 11 and cols["cached_tokens"] == 3


def test_ledger_and_decision_rows() -> None:
    s = _snapshot()
    choice = choose_route(s, {**BODY, "model": "a/cheap"}, None, default_max_tokens=100)
    ex = Exchange(request_id="r1", created_at=NOW, started=time.perf_counter(), route="admin",
                  strategy=choice.strategy, model_requested="a/cheap")
    ex.decision = decide_route(s, choice, cooling=frozenset(), today=NOW.date(), cache_size=0)
    ex.attempts = [{"model": "a/cheap", "status": 503, "error": "ServerError"}, {"model": "b/mid", "status": 200}]
    ex.attempted_model, ex.model_used, ex.fallback_depth = "b/mid", "b/mid", 1
    ex.usage = {"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.00004}
    ex.cost_text = "0.00004"
    ex.finish()
    row = ledger_row(ex, s.prices)
    assert row.cost_usd == Decimal("0.00004") and row.cost_source == "response"
    assert row.cost_estimated_usd == Decimal("0.000040")  # 10 * 2e-6 + 5 * 4e-6
    assert row.fallback_depth == 1 and row.model_used == "b/mid" and row.error_type is None
    decision = decision_row(ex)
    assert decision.selected_model == "a/cheap" and decision.outcome == "ok" and len(decision.attempts) == 2


# -- strategies ------------------------------------------------------------------------------
def test_strategy_values() -> None:
    values = strategy_values({"name": "mine", "kind": "custom", "weights": {"cost": 1}}, known_models={"a/x"})
    assert values["alias"] == "minerva/mine" and values["fallback_chain"] == []
    update = strategy_values({"fallback_chain": ["a/x"]}, known_models={"a/x"},
                             current={"name": "mine", "alias": "minerva/mine", "kind": "custom",
                                      "weights": {"cost": 1}, "requirements": {}, "fallback_chain": []})
    assert update == {"fallback_chain": ["a/x"]}
    with pytest.raises(InvalidParameterError):
        strategy_values({"name": "cheapest", "alias": "x/y"}, known_models=set(),
                        current={"name": "cheapest", "alias": "minerva/cheapest", "kind": "cheapest",
                                 "weights": {}, "requirements": {}, "fallback_chain": []})


# -- spool -------------------------------------------------------------------------------------
def test_fast_spool_writes_what_the_ledger_reads_back(tmp_path) -> None:
    from minerva_core.ledger import DecisionRow, LedgerRow
    from minerva_core.ledger.records import to_document
    from minerva_core.ledger.spool import read_segment
    from proxy.gateway.spool import FastSpool, fast_document

    ledger = LedgerRow(request_id="r", created_at=NOW, status="ok", cost_usd=Decimal("0.000012345678901234567891"),
                       cost_estimated_usd=Decimal("0.0000123"), usage={"cost": 1.2e-05, "nested": {"a": [1]}},
                       api_key_id="k", prompt_tokens=3)
    decision = DecisionRow(request_id="r", created_at=NOW, reasoning={"entries": [{"model": "a"}]},
                           attempts=[{"model": "a", "status": 200}], estimated_cost=Decimal("0.5"),
                           confidence_score=Decimal("0.625"), fallback_models=["b"])
    for row in (ledger, decision):
        assert orjson.loads(orjson.dumps(fast_document(row), default=str)) == orjson.loads(
            orjson.dumps(to_document(row), default=str))
    spool = FastSpool(tmp_path)
    spool.append(ledger, decision)
    sealed = spool.rotate()
    assert list(read_segment(sealed)) == [ledger, decision]
