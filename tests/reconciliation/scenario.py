"""A day of real traffic through the emulator, with known faults injected on either side.

The generations are made by POST /chat/completions against a running emulator, so /activity
and /generation exist for them. The ledger is written as the proxy would (cost_usd = the
response's usage.cost, cost_estimated_usd = our cost from the catalog price), the CSV export
is built from GET /generation, and /activity is taken as it is served. Then:

* lost      - a generation never written to the ledger          -> missing_in_ledger
* unbilled  - a ledger row whose line is cut from the bill       -> missing_in_bill
* drift     - our catalog price for the model is stale           -> price_drift
* dup       - one generation written to the ledger twice         -> duplicate
* cent      - the bill charges one line 0.01 USD more             -> amount_mismatch
* clean, free, paid - nothing wrong (free/paid share a permaslug) -> matched
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Engine

from minerva_core.billing import activity_document, generation_csv, load_activity_rows, row_from_generation
from minerva_core.pricing import Usage, cost_of, parse_pricing
from tests.reconciliation import helpers

ROLES = {
    "lost": "openai/gpt-4o-mini",
    "unbilled": "meta-llama/llama-3.3-70b-instruct",
    "drift": "anthropic/claude-sonnet-4.5",
    "dup": "openai/gpt-4.1-mini",
    "cent": "mistralai/mistral-small-3.2-24b-instruct",
    "clean": "deepseek/deepseek-chat-v3.1",
    "free": "nvidia/nemotron-3.5-lightning:free",
    "paid": "nvidia/nemotron-3.5-lightning",
}
COUNTS = {"dup": 2, "clean": 3}
KEYS = ("team-alpha", "team-beta")
CENT = Decimal("0.01")


@dataclass
class Generation:
    role: str
    model: str
    id: str
    key: str
    response: dict[str, Any]
    data: dict[str, Any]

    @property
    def usage(self) -> Usage:
        u = self.response["usage"]
        return Usage(prompt_tokens=u["prompt_tokens"], completion_tokens=u["completion_tokens"],
                     reasoning_tokens=u["completion_tokens_details"]["reasoning_tokens"])

    @property
    def cost(self) -> Decimal:
        return Decimal(self.response["usage"]["cost"])

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.data["created_at"])


@dataclass
class Scenario:
    base_url: str
    catalog: dict[str, dict[str, Any]]
    generations: list[Generation]
    activity_raw: bytes
    key_ids: dict[str, uuid.UUID] = field(default_factory=dict)

    def one(self, role: str) -> Generation:
        return next(g for g in self.generations if g.role == role)

    @property
    def days(self) -> tuple[date, date]:
        dates = [g.created_at.date() for g in self.generations]
        return min(dates) - timedelta(days=1), max(dates)

    # The bills -----------------------------------------------------------------------------
    def csv_bill(self) -> bytes:
        rows = []
        for g in self.generations:
            if g.role == "unbilled":
                continue
            model = self.catalog[g.model]
            row = row_from_generation(
                g.data, permaslug=model["canonical_slug"], api_key_name=g.key,
                variant=g.model.partition(":")[2] or "standard",
            )
            if g.role == "cent":
                row["cost_total"] = row["cost_total"] + CENT
            rows.append(row)
        return generation_csv(rows)

    def activity_bill(self, *, faults: bool = True) -> bytes:
        rows = load_activity_rows(self.activity_raw)
        if faults:
            rows = [r for r in rows if r["model"] != ROLES["unbilled"]]
            for row in rows:
                if row["model"] == ROLES["cent"]:
                    row["usage"] = row["usage"] + CENT
        return activity_document(rows)

    # The ledger ----------------------------------------------------------------------------
    def write_ledger(self, engine: Engine) -> None:
        with engine.begin() as conn:
            self.key_ids = {name: helpers.api_key(conn, name) for name in KEYS}
            for role, model_id in ROLES.items():
                prompt, completion = self.prices(model_id)
                helpers.price(conn, model_id, prompt, completion)
            rows = []
            for g in self.generations:
                if g.role == "lost":
                    continue
                row = self.ledger_row(g)
                rows.append(row)
                if g.role == "dup" and g is self.one("dup"):
                    rows.append({**row, "request_id": f"replay-{g.id}",
                                 "created_at": row["created_at"] + timedelta(milliseconds=1)})
            helpers.ledger(conn, rows)

    def prices(self, model_id: str) -> tuple[Decimal, Decimal]:
        """The catalog price Minerva holds: stale (prompt doubled) for the drift model."""
        pricing = self.catalog[model_id]["pricing"]
        prompt, completion = Decimal(pricing["prompt"]), Decimal(pricing["completion"])
        return (prompt * 2 if model_id == ROLES["drift"] else prompt), completion

    def ledger_row(self, g: Generation) -> dict[str, Any]:
        raw = dict(self.catalog[g.model]["pricing"])
        prompt, _ = self.prices(g.model)
        raw["prompt"] = str(prompt)
        estimate = cost_of(parse_pricing(raw), g.usage, at=g.created_at)
        if g.role != "drift":
            assert estimate == g.cost, (g.model, estimate, g.cost)  # the catalog price is right
        return {
            "request_id": f"req-{g.id}", "created_at": g.created_at - timedelta(milliseconds=5),
            "generation_id": g.id, "api_key_id": self.key_ids[g.key], "model_used": g.response["model"],
            "provider_name": g.response["provider"], "prompt_tokens": g.usage.prompt_tokens,
            "completion_tokens": g.usage.completion_tokens, "reasoning_tokens": g.usage.reasoning_tokens,
            "cost_usd": g.cost, "cost_estimated_usd": estimate,
        }


def _json(response: httpx.Response) -> Any:
    response.raise_for_status()
    return json.loads(response.content, parse_float=Decimal)


def make_scenario(base_url: str, engine: Engine) -> Scenario:
    """Run the traffic (and store the catalog the bills' permaslugs map through)."""
    with httpx.Client(timeout=30) as client:
        catalog = {m["id"]: m for m in _json(client.get(f"{base_url}/models"))["data"]}
        with engine.begin() as conn:
            helpers.models(conn, catalog.values())
        generations = []
        number = 0
        for role, model_id in ROLES.items():
            for _ in range(COUNTS.get(role, 1)):
                number += 1
                key = KEYS[number % 2]
                body = {"model": model_id, "messages": [{"role": "user", "content": f"request {number} for {role}"}]}
                response = _json(client.post(f"{base_url}/chat/completions", json=body,
                                             headers={"Authorization": f"Bearer {key}"}))
                data = _json(client.get(f"{base_url}/generation", params={"id": response["id"]},
                                        headers={"Authorization": f"Bearer {key}"}))["data"]
                generations.append(Generation(role, model_id, response["id"], key, response, data))
        activity = client.get(f"{base_url}/activity", headers={"Authorization": "Bearer mgmt"})
        activity.raise_for_status()
    return Scenario(base_url, catalog, generations, activity.content)


def expected_generation_level(s: Scenario) -> dict[str, str]:
    """Item key (generation id; the replayed request id for the duplicate) -> class."""
    out = {g.id: "matched" for g in s.generations}
    out[s.one("lost").id] = "missing_in_ledger"
    out[s.one("unbilled").id] = "missing_in_bill"
    out[s.one("drift").id] = "price_drift"
    out[s.one("cent").id] = "amount_mismatch"
    out[f"replay-{s.one('dup').id}"] = "duplicate"
    return out


def expected_aggregate_level(*, faults: bool = True) -> dict[str, str]:
    """Model -> class of its day group (the duplicate is keyed "duplicate")."""
    out = {model: "matched" for model in ROLES.values()}
    out[ROLES["lost"]] = "missing_in_ledger"
    out[ROLES["drift"]] = "price_drift"
    if faults:
        out[ROLES["unbilled"]] = "missing_in_bill"
        out[ROLES["cent"]] = "amount_mismatch"
    out["duplicate"] = "duplicate"
    return out


def item_classes(rows: list[dict[str, Any]], level: str) -> dict[str, str]:
    """The same keys from items (DB rows or frame rows); each key must be unique."""
    out: dict[str, str] = {}
    for row in rows:
        if row["classification"] == "duplicate":
            key = row["ledger_request_id"] if level == "generation" else "duplicate"
        else:
            key = row["generation_id"] if level == "generation" else row["model"]
        assert key not in out, f"two items for {key}"
        out[key] = row["classification"]
    return out


def today() -> date:
    return datetime.now(timezone.utc).date()
