"""Deterministic assignment of a user (or request) to an arm. Pure: no I/O.

bucket = first 8 bytes of sha256(feature NUL unit_key), big-endian, mod 10000: 0..9999.
A unit is in the treatment arm when its bucket is below the rollout in basis points
(12.5 % = 1250 bp). So:
  * one unit always lands in the same bucket, hence the same arm at a given rollout;
  * raising the rollout only adds buckets to treatment: nobody moves from treatment back
    to control (lowering it, or a rollback, does move people back, by design);
  * the feature name is part of the hash, so different features split users independently.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from minerva_core.errors import InvalidParameterError

BUCKETS = 10_000
CONTROL, TREATMENT = "control", "treatment"


def bucket(feature: str, unit_key: str) -> int:
    if not unit_key:
        raise InvalidParameterError("a user or request key is needed to assign an arm", param="user")
    digest = hashlib.sha256(f"{feature}\x00{unit_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def arm_for(bucket_: int, rollout_bp: int) -> str:
    return TREATMENT if bucket_ < rollout_bp else CONTROL


def percent_to_bp(percent: Decimal | int | str) -> int:
    """0..100 with at most two decimals (a basis point) -> 0..10000."""
    try:
        value = Decimal(str(percent)) if not isinstance(percent, Decimal) else percent
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
        raise InvalidParameterError("percent must be a number between 0 and 100", param="percent")
    bp = value * 100
    if bp != bp.to_integral_value():
        raise InvalidParameterError("percent takes at most two decimals (0.01 % steps)", param="percent")
    return int(bp)


def bp_to_percent(bp: int) -> Decimal:
    return (Decimal(bp) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Assignment:
    feature: str
    bucket: int
    rollout_bp: int
    arm: str
    provider: str
    model: str
    reason: str

    @property
    def rollout_percent(self) -> Decimal:
        return bp_to_percent(self.rollout_bp)


def assign(
    feature: str, unit_key: str, *, rollout_bp: int, status: str, control: tuple[str, str],
    treatment: tuple[str, str], migration_enabled: bool = True,
) -> Assignment:
    """The arm (and its provider and model) for `unit_key`. With the migration flag off
    everybody is on control, whatever the rollout says."""
    b = bucket(feature, unit_key)
    if not migration_enabled:
        arm, reason = CONTROL, "ENABLE_OPENROUTER_MIGRATION is off: every request stays on control"
    else:
        arm = arm_for(b, rollout_bp)
        side = "<" if arm == TREATMENT else ">="
        reason = f"bucket {b} {side} rollout {rollout_bp} bp (status {status})"
    provider, model = treatment if arm == TREATMENT else control
    return Assignment(feature, b, rollout_bp, arm, provider, model, reason)


__all__ = [
    "BUCKETS", "CONTROL", "TREATMENT", "Assignment", "arm_for", "assign", "bp_to_percent", "bucket",
    "percent_to_bp",
]
