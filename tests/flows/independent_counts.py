"""An independent count of what a discover run over each snapshot should report, in plain
Python over the snapshot files (no polars, no Minerva code)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

SNAPSHOTS_IN_DATE_ORDER = (
    "models-2025-05-23.json",
    "models-2025-11-10.json",
    "models-2026-02-27.json",
    "models-2026-05-01-sorted-data-array.json",
    "models-all-modalities-2026-08-19.json",
)


def records(path: Path) -> list[dict]:
    body = json.loads(path.read_text())
    return body["data"] if isinstance(body, dict) else body


def price_key(pricing: dict) -> tuple:
    """Prices as exact decimals, absent keys as zero, so 2025 "0"s equal 2026 omissions."""
    values = []
    for key in sorted(k for k in pricing if k != "overrides"):
        value = Decimal(str(pricing[key]))
        if value != 0:
            values.append((key, value))
    overrides = json.dumps(pricing.get("overrides"), sort_keys=True) if pricing.get("overrides") else None
    return tuple(values), overrides


def expected_counts(paths: list[Path]) -> list[dict[str, int]]:
    seen: dict[str, tuple] = {}  # id -> last price seen
    active: set[str] = set()
    out = []
    for path in paths:
        current = {r["id"]: price_key(r.get("pricing") or {}) for r in records(path)}
        new = [i for i in current if i not in seen]
        repriced = [i for i in current if i in seen and seen[i] != current[i]]
        deprecated = [i for i in active if i not in current]
        reactivated = [i for i in current if i in seen and i not in active]
        out.append(
            {
                "new": len(new),
                "repriced": len(repriced),
                "deprecated": len(deprecated),
                "reactivated": len(reactivated),
                "total": len(current),
            }
        )
        seen.update(current)
        active = set(current)
    return out
