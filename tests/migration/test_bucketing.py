"""Deterministic bucketing and a rollout that only ever moves users control -> treatment."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from minerva_core.errors import InvalidParameterError
from minerva_core.migration.bucketing import arm_for, assign, bp_to_percent, bucket, percent_to_bp

USERS = [f"user-{i}" for i in range(20_000)]


def test_bucket_is_the_documented_hash():
    # Independently: sha256("feature\0key"), first 8 bytes big-endian, mod 10000.
    expected = int.from_bytes(hashlib.sha256(b"support-chat\x00user-1").digest()[:8], "big") % 10_000
    assert bucket("support-chat", "user-1") == expected == 8391
    assert bucket("support-chat", "user-2") == 7049


def test_same_user_same_bucket_and_arm_every_time():
    first = [bucket("support-chat", u) for u in USERS[:500]]
    assert first == [bucket("support-chat", u) for u in USERS[:500]]
    assert all(0 <= b <= 9_999 for b in first)


def test_shares_match_the_rollout_roughly():
    for bp in (100, 2_500, 5_000):
        share = sum(arm_for(bucket("support-chat", u), bp) == "treatment" for u in USERS) / len(USERS)
        assert abs(share - bp / 10_000) < 0.01


def test_raising_the_rollout_never_moves_anyone_back_to_control():
    buckets = {u: bucket("support-chat", u) for u in USERS}
    previous: set[str] = set()
    for bp in (0, 1, 50, 100, 1_000, 2_500, 2_501, 5_000, 9_999, 10_000):
        treated = {u for u, b in buckets.items() if arm_for(b, bp) == "treatment"}
        assert previous <= treated, f"someone left treatment when the rollout rose to {bp} bp"
        previous = treated
    assert previous == set(USERS)  # 100 %: everybody


def test_features_split_users_independently():
    a = {u for u in USERS if arm_for(bucket("support-chat", u), 5_000) == "treatment"}
    b = {u for u in USERS if arm_for(bucket("summaries", u), 5_000) == "treatment"}
    overlap = len(a & b) / len(USERS)
    assert abs(overlap - 0.25) < 0.02  # independent halves overlap on a quarter


def test_assign_names_provider_and_model_and_honours_the_flag():
    kwargs = dict(rollout_bp=10_000, status="completed", control=("openai", "gpt-4o"),
                  treatment=("openrouter", "openai/gpt-4o"))
    on = assign("support-chat", "user-1", **kwargs)
    assert (on.arm, on.provider, on.model, on.bucket) == ("treatment", "openrouter", "openai/gpt-4o", 8391)
    off = assign("support-chat", "user-1", migration_enabled=False, **kwargs)
    assert (off.arm, off.provider, off.model) == ("control", "openai", "gpt-4o")
    with pytest.raises(InvalidParameterError):
        assign("support-chat", "", **kwargs)


@pytest.mark.parametrize("percent,bp", [(0, 0), ("12.5", 1250), (Decimal("0.01"), 1), (100, 10_000), ("33.33", 3333)])
def test_percent_to_basis_points(percent, bp):
    assert percent_to_bp(percent) == bp
    assert bp_to_percent(bp) == Decimal(str(percent)).quantize(Decimal("0.01"))


@pytest.mark.parametrize("percent", ["-1", "100.01", "12.345", "abc", "NaN"])
def test_bad_percent(percent):
    with pytest.raises(InvalidParameterError):
        percent_to_bp(percent)
