"""A few thousand usage_ledger rows with known values, plus keys and reconciliation runs.

Rows are Python dicts (kept for the independent expected computations in expected.py) and
inserted as they are. Times are relative to the database's now(): spread over 40 days with
denser traffic in the last two days and the last two hours, so every view and window has
data. Values include NULLs of every grouping column and SQL metacharacters.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Connection, text

EVIL_APP = "x'; DROP TABLE usage_ledger; --"
EVIL_MODEL = "evil/mo'del\"%_\\"
APPS = ["web", "batch", EVIL_APP, None]
MODELS = ["openai/gpt-4o", "anthropic/claude-3.5-sonnet", "meta/llama-3-70b", EVIL_MODEL, None]
PROVIDERS = ["OpenAI", "Azure", "Anthropic", None]
STATUSES = ["ok"] * 16 + ["error", "error", "timeout", "rate_limited", "cancelled"]
NANO = Decimal("0.0000000001")


@dataclass
class Keys:
    day_budget: uuid.UUID
    month_budget: uuid.UUID
    no_budget: uuid.UUID
    revoked: uuid.UUID
    budgets: dict[uuid.UUID, tuple[str, Decimal, str]] = field(default_factory=dict)  # active: (name, usd, period)

    @property
    def all(self) -> list[uuid.UUID | None]:
        return [self.day_budget, self.month_budget, self.no_budget, self.revoked, None]


def make_keys(conn: Connection) -> Keys:
    specs = [("day-key", Decimal("5"), "day", False), ("month-key", Decimal("50.5"), "month", False),
             ("free-key", None, None, False), ("revoked-key", Decimal("1"), "day", True)]
    ids = []
    for name, budget, period, revoked in specs:
        key_id = uuid.uuid4()
        conn.execute(
            text("INSERT INTO api_keys (id, name, key_hash, key_prefix, budget_usd, budget_period, revoked_at) "
                 "VALUES (:id, :n, :h, 'mk-test', :b, :p, CASE WHEN :r THEN now() END)"),
            {"id": key_id, "n": name, "h": uuid.uuid4().hex, "b": budget, "p": period, "r": revoked},
        )
        ids.append(key_id)
    keys = Keys(*ids)
    keys.budgets = {ids[0]: ("day-key", Decimal("5"), "day"), ids[1]: ("month-key", Decimal("50.5"), "month")}
    return keys


def _row(rng: random.Random, i: int, at: datetime, keys: Keys) -> dict:
    status = rng.choice(STATUSES)
    model = rng.choices(MODELS, weights=[5, 4, 3, 1, 0.3])[0]
    provider = rng.choices(PROVIDERS, weights=[4, 2, 3, 0.3])[0]
    prompt = rng.randint(1, 4000)
    completion = rng.randint(0, 1500) if status == "ok" else 0
    estimate = None if rng.random() < 0.05 else Decimal(rng.randint(1, 50_000_000)) * NANO
    known = rng.random() >= 0.15
    cost = (estimate or Decimal("0.001")) * Decimal(rng.choice(["1", "1.01", "0.99"])) if known else None
    streamed = rng.random() < 0.5
    latency = None if rng.random() < 0.05 else rng.randint(80, 9000)
    ttft = (rng.randint(20, latency) if latency else rng.randint(20, 500)) if streamed and rng.random() < 0.95 else None
    return {
        "request_id": f"req-{i}", "created_at": at, "api_key_id": rng.choices(keys.all, weights=[3, 3, 2, 1, 1])[0],
        "app": rng.choices(APPS, weights=[4, 3, 1, 1])[0], "model_used": model, "provider_name": provider,
        "prompt_tokens": prompt, "completion_tokens": completion,
        "reasoning_tokens": rng.randint(0, 300) if rng.random() < 0.3 else 0,
        "cached_tokens": rng.randint(0, prompt), "cache_write_tokens": rng.randint(0, 50),
        "cost_usd": cost, "cost_estimated_usd": estimate, "cost_source": "response" if known else None,
        "latency_ms": latency, "ttft_ms": ttft, "status": status,
        "error_type": None if status == "ok" else f"upstream_{status}",
        "fallback_depth": rng.choices([0, 1, 2], weights=[8, 1.5, 0.5])[0], "streamed": streamed,
    }


def make_rows(now: datetime, keys: Keys, *, seed: int = 7, spread: int = 2400, recent: int = 700,
              last_hours: int = 500) -> list[dict]:
    """``spread`` rows over the last 40 days, ``recent`` over the last 2 days, ``last_hours``
    over the last 2 hours (all strictly before now)."""
    rng = random.Random(seed)
    rows = []
    for count, span in ((spread, timedelta(days=40)), (recent, timedelta(days=2)), (last_hours, timedelta(hours=2))):
        for _ in range(count):
            at = now - timedelta(seconds=rng.uniform(1, span.total_seconds()))
            rows.append(_row(rng, len(rows), at, keys))
    return rows


COLUMNS = list(_row(random.Random(0), 0, datetime.now(timezone.utc), Keys(*[uuid.uuid4()] * 4)).keys())


def insert_rows(conn: Connection, rows: list[dict]) -> None:
    months = {r["created_at"].replace(day=1, hour=0, minute=0, second=0, microsecond=0) for r in rows}
    for month in sorted(months):
        conn.execute(text("SELECT ensure_usage_ledger_partition(:m)"), {"m": month})
    conn.execute(
        text(f"INSERT INTO usage_ledger ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})"),
        rows,
    )


@dataclass(frozen=True)
class Item:
    classification: str
    day: date | None
    model: str | None
    provider: str | None
    ledger: Decimal | None
    bill: Decimal | None


@dataclass(frozen=True)
class Run:
    period_from: datetime
    period_to: datetime
    status: str
    finished_at: datetime
    items: tuple[Item, ...]


def make_runs(today: date) -> list[Run]:
    """Runs over recent days: succeeded ones (one overlapping another, finished later, one
    not midnight-aligned), a failed one (reconciles nothing) and items of every kind."""
    def midnight(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)

    d = lambda n: today - timedelta(days=n)  # noqa: E731
    base = midnight(today) - timedelta(days=30)
    return [
        Run(midnight(d(12)), midnight(d(6)), "succeeded", base, (
            Item("matched", d(10), "openai/gpt-4o", "OpenAI", Decimal("1.25"), Decimal("1.25")),
            Item("amount_mismatch", d(10), "openai/gpt-4o", "OpenAI", Decimal("0.50"), Decimal("0.75")),
            Item("missing_in_ledger", d(9), "ghost/model", "Nowhere", None, Decimal("2.00")),
            Item("missing_in_bill", d(8), EVIL_MODEL, None, Decimal("0.30"), None),
            Item("matched", d(7), "anthropic/claude-3.5-sonnet", "Anthropic", Decimal("3"), Decimal("3")),
        )),
        Run(midnight(d(8)), midnight(d(5)), "succeeded", base + timedelta(hours=1), (  # later: speaks for d8..d6
            Item("matched", d(7), "anthropic/claude-3.5-sonnet", "Anthropic", Decimal("4"), Decimal("4")),
            Item("price_drift", d(6), "meta/llama-3-70b", "Azure", Decimal("1"), Decimal("1.10")),
        )),
        Run(midnight(d(4)) + timedelta(hours=12), midnight(d(2)), "succeeded", base, (  # covers d3 only
            Item("matched", d(3), "openai/gpt-4o", "Azure", Decimal("0.10"), Decimal("0.10")),
            Item("matched", d(4), "openai/gpt-4o", "Azure", Decimal("9"), Decimal("9")),  # d4 not covered
        )),
        Run(midnight(d(25)), midnight(d(20)), "failed", base, (
            Item("matched", d(22), "openai/gpt-4o", "OpenAI", Decimal("5"), Decimal("5")),
        )),
    ]


def insert_runs(conn: Connection, runs: list[Run]) -> None:
    for run in runs:
        run_id = conn.execute(
            text("INSERT INTO reconciliation_runs (period_from, period_to, status, started_at, finished_at, error) "
                 "VALUES (:f, :t, :s, :st, :fin, CASE WHEN :s = 'failed' THEN 'boom' END) RETURNING id"),
            {"f": run.period_from, "t": run.period_to, "s": run.status, "st": run.finished_at - timedelta(minutes=5),
             "fin": run.finished_at},
        ).scalar_one()
        for item in run.items:
            conn.execute(
                text("INSERT INTO reconciliation_items (run_id, classification, day, model, provider_name, "
                     "ledger_amount_usd, bill_amount_usd) VALUES (:r, :c, :d, :m, :p, :l, :b)"),
                {"r": run_id, "c": item.classification, "d": item.day, "m": item.model, "p": item.provider,
                 "l": item.ledger, "b": item.bill},
            )
