"""schemathesis (v4, Python API) against the served /openapi.json of the whole proxy app,
served by real uvicorn over loopback, on real PostgreSQL, with the emulator as upstream.

Every operation of the document gets a bounded number of schema-valid (positive) and
schema-violating (negative) requests, authenticated with a virtual key on /v1 paths and the
admin token elsewhere. Two properties are checked on every answer:

- no 5xx (a 5xx is a bug, whatever the input);
- every 4xx is an OpenAI-style error body {"error": {"message", "type", "code", ...}}.

The generation is derandomized (the same cases on every run) and bounded so the module
takes about a minute; MINERVA_FUZZ_EXAMPLES raises the count for a longer local hunt.
A body's ``base_url`` (provider/configure, provider/test) is pointed at the emulator, so
no request ever leaves loopback.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.hostile.conftest import ADMIN, ADMIN_TOKEN, Proxy, catalog_database, new_key, refresh_views, serving_proxy

EXAMPLES = int(os.environ.get("MINERVA_FUZZ_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def fuzzed(hostile_upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """A proxy of its own (the fuzzer rewrites strategies, flags and provider settings), with
    every area switched on and the rollups refreshed, so the code behind them is what answers."""
    with catalog_database("minerva_fuzz") as db:
        refresh_views(db[1])
        with serving_proxy(db, hostile_upstream, tmp_path_factory.mktemp("fuzz_home"),
                           ENABLE_OPENROUTER_MIGRATION="true") as served:
            yield served


def confine(case: Any, upstream: str) -> None:
    """Keep every URL a request carries on loopback: the emulator's."""
    if isinstance(case.body, dict) and "base_url" in case.body:
        case.body["base_url"] = upstream


def error_shape_problem(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return "not JSON"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "no error object"
    if not isinstance(error.get("message"), str) or not isinstance(error.get("type"), str) or "code" not in error:
        return f"error object lacks message/type/code: {sorted(error)}"
    return None


def _has_inputs(operation: Any) -> bool:
    return bool(list(operation.iter_parameters())) or bool(list(operation.body))


def test_no_operation_answers_5xx_and_every_4xx_is_an_openai_error(fuzzed: Proxy) -> None:
    key = new_key(fuzzed, "fuzz")[0]
    schema = schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json", timeout=10)
    # Flag writes last: switching an area off earlier would turn its operations into 503s.
    operations = sorted((result.ok() for result in schema.get_all_operations()),
                        key=lambda op: "/flags/" in op.path and op.method.upper() != "GET")
    paths = {op.path for op in operations}
    assert {"/v1/chat/completions", "/v1/models", "/v1/key", "/metrics"} <= paths  # the gateway is described
    document = requests.get(f"{fuzzed.url}/openapi.json", timeout=10).json()
    assert set(document["components"]["securitySchemes"]) == {"VirtualKey", "AdminToken"}
    assert document["paths"]["/v1/chat/completions"]["post"]["security"] == [{"VirtualKey": []}]
    assert all(op.get("security") == [{"AdminToken": []}] for path, item in document["paths"].items()
               if path.startswith(ADMIN) for op in item.values())

    session = requests.Session()
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    calls: Counter[str] = Counter()
    by_op: Counter[tuple[str, int]] = Counter()

    for operation in operations:
        token = key if operation.path.startswith("/v1/") else ADMIN_TOKEN
        headers = {"Authorization": f"Bearer {token}"}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                confine(case, fuzzed.upstream)
                response = case.call(base_url=fuzzed.url, headers=headers, session=session, timeout=30)
                statuses[response.status_code] += 1
                calls[operation.label] += 1
                by_op[(operation.label, response.status_code)] += 1
                if response.status_code >= 500:
                    failures.append(f"{response.status_code} {case.method} {case.formatted_path} "
                                    f"query={case.query!r} body={case.body!r:.300}: {response.text[:300]}")
                elif response.status_code >= 400:
                    problem = error_shape_problem(response)
                    if problem:
                        failures.append(f"{response.status_code} {case.method} {case.formatted_path}: {problem}: "
                                        f"{response.text[:200]}")

            try:
                run()
            except Unsatisfiable:
                # Nothing to make invalid: an operation without parameters or body.
                assert mode is GenerationMode.NEGATIVE and not _has_inputs(operation), operation.label

    print(f"\n{sum(calls.values())} requests over {len(calls)} operations; statuses {dict(sorted(statuses.items()))}")
    if os.environ.get("MINERVA_FUZZ_VERBOSE"):
        print("\n".join(f"{n:4d} {status} {label}" for (label, status), n in sorted(by_op.items())))
    assert len(calls) == len(operations)
    assert statuses[200] + statuses[201] > 0 and sum(n for s, n in statuses.items() if 400 <= s < 500) > 0
    assert not failures, "\n".join(failures[:40])
