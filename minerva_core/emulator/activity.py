"""The bill, kept as generations finish: /activity rows, key spend, credits (pure, exact).

Totals are added up once per generation (not recomputed per request), so they stay exact and
cheap however many generations a benchmark produces, even after old records are evicted.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, localcontext
from typing import Any

from minerva_core.emulator.generations import Generation

_ZERO = Decimal(0)
_EXACT = 200  # significant digits: sums of 22-decimal prices never round


class Ledger:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._key_days: dict[tuple[str, date], Decimal] = {}
        self._total = _ZERO

    def add(self, generation: Generation) -> None:
        day = generation.created_at.astimezone(timezone.utc).date()
        key = (day.isoformat(), generation.model_id, generation.endpoint_id)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = {
                "date": key[0],
                "model": generation.model_id,
                "model_permaslug": generation.permaslug,
                "endpoint_id": generation.endpoint_id,
                "provider_name": generation.provider_name,
                "usage": _ZERO,
                "byok_usage_inference": _ZERO,
                "requests": 0,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "reasoning_tokens": 0,
            }
        cost = generation.total_cost
        with localcontext(prec=_EXACT):
            row["usage"] += cost
            spent = (generation.api_key, day)
            self._key_days[spent] = self._key_days.get(spent, _ZERO) + cost
            self._total += cost
        row["requests"] += 1
        row["prompt_tokens"] += generation.usage.prompt_tokens
        row["completion_tokens"] += generation.usage.completion_tokens
        row["reasoning_tokens"] += generation.usage.reasoning_tokens

    def rows(self, on: date | None = None) -> list[dict[str, Any]]:
        """One row per UTC day x model x endpoint, newest day first, as GET /activity has them."""
        keys = [k for k in self._rows if on is None or k[0] == on.isoformat()]
        keys.sort(key=lambda k: (k[1], k[2]))
        keys.sort(key=lambda k: k[0], reverse=True)
        return [dict(self._rows[k]) for k in keys]

    @property
    def total(self) -> Decimal:
        return self._total

    def key_usage(self, api_key: str, now: datetime) -> dict[str, Decimal]:
        """Spend of one key: all time, this UTC day, ISO week (from Monday) and month."""
        today = now.astimezone(timezone.utc).date()
        week_start = today - timedelta(days=today.weekday())
        totals = {"usage": _ZERO, "usage_daily": _ZERO, "usage_weekly": _ZERO, "usage_monthly": _ZERO}
        with localcontext(prec=_EXACT):
            for (key, day), cost in self._key_days.items():
                if key != api_key:
                    continue
                totals["usage"] += cost
                if day == today:
                    totals["usage_daily"] += cost
                if day >= week_start:
                    totals["usage_weekly"] += cost
                if (day.year, day.month) == (today.year, today.month):
                    totals["usage_monthly"] += cost
        return totals

    def clear(self) -> None:
        self._rows.clear()
        self._key_days.clear()
        self._total = _ZERO
