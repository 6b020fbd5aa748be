"""Who was served by which arm, quality feedback, and the per-arm figures read from them.

The gateway (the lead wires it) calls ``assignment_for`` (or the pure ``bucketing.assign``
on its in-memory copy of migration_features) per request of a migrating feature and
``record_exposures`` for the requests served; the ledger rows of those requests, joined on
request_id, give each arm's latency, time to first token, errors and cost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, text

from minerva_core.errors import InvalidParameterError
from minerva_core.migration.arms import ArmFigures, empty
from minerva_core.migration.bucketing import CONTROL, TREATMENT, Assignment, assign
from minerva_core.migration.registry import Feature
from minerva_core.migration.stats import Summary


def assignment_for(feature: Feature, unit_key: str, *, migration_enabled: bool = True) -> Assignment:
    return assign(
        feature.name, unit_key, rollout_bp=feature.rollout_bp, status=feature.status,
        control=(feature.control_provider, feature.control_model),
        treatment=(feature.treatment_provider, feature.treatment_model),
        migration_enabled=migration_enabled,
    )


@dataclass(frozen=True)
class Exposure:
    request_id: str
    feature: str
    arm: str
    bucket: int
    rollout_bp: int
    created_at: datetime | None = None  # None: now()


def record_exposures(conn: Connection, exposures: Iterable[Exposure]) -> int:
    """Insert exposures, ignoring request ids already recorded (a replay is harmless)."""
    rows = [
        {"request_id": e.request_id, "feature": e.feature, "arm": e.arm, "bucket": e.bucket,
         "rollout_bp": e.rollout_bp, "created_at": e.created_at}
        for e in exposures
    ]
    if not rows:
        return 0
    result = conn.execute(
        text(
            "INSERT INTO migration_exposures (request_id, feature, arm, bucket, rollout_bp, created_at) "
            "VALUES (:request_id, :feature, :arm, :bucket, :rollout_bp, COALESCE(:created_at, now())) "
            "ON CONFLICT (request_id) DO NOTHING"
        ),
        rows,
    )
    return result.rowcount


@dataclass(frozen=True)
class FeedbackResult:
    request_id: str
    quality: Decimal
    feature: str | None  # None: the request is not (yet) an exposure of any experiment
    arm: str | None


def record_feedback(
    conn: Connection, request_id: str, *, score: int | None = None, thumbs_up: bool | None = None,
    comment: str | None = None,
) -> FeedbackResult:
    """Store a 1-5 score or a thumbs up/down for a request; a later submission replaces it."""
    if (score is None) == (thumbs_up is None):
        raise InvalidParameterError("give either a score (1-5) or thumbs (up/down)", param="score")
    if score is not None and not 1 <= score <= 5:
        raise InvalidParameterError("score must be between 1 and 5", param="score")
    row = conn.execute(
        text(
            "INSERT INTO migration_feedback (request_id, score, thumbs_up, comment) "
            "VALUES (:rid, :score, :thumbs, :comment) ON CONFLICT (request_id) DO UPDATE SET "
            "score = EXCLUDED.score, thumbs_up = EXCLUDED.thumbs_up, comment = EXCLUDED.comment "
            "RETURNING quality"
        ),
        {"rid": request_id, "score": score, "thumbs": thumbs_up, "comment": comment},
    ).one()
    exposure = conn.execute(
        text("SELECT feature, arm FROM migration_exposures WHERE request_id = :rid"), {"rid": request_id}
    ).one_or_none()
    return FeedbackResult(request_id, row.quality, exposure.feature if exposure else None,
                          exposure.arm if exposure else None)


# Exposures joined to their ledger rows; the ledger is bounded by the window (plus a margin
# for the ledger's created_at, which may precede the exposure's) so partitions are pruned.
_FIGURES_SQL = """
SELECT e.arm,
       count(*) FILTER (WHERE l.status <> 'cancelled')                                   AS requests,
       count(*) FILTER (WHERE l.status IN ('error', 'timeout', 'rate_limited'))          AS errors,
       count(l.latency_ms) FILTER (WHERE l.status = 'ok')                                AS latency_n,
       avg(l.latency_ms) FILTER (WHERE l.status = 'ok')                                  AS latency_mean,
       var_samp(l.latency_ms) FILTER (WHERE l.status = 'ok')                             AS latency_var,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY l.latency_ms) FILTER (WHERE l.status = 'ok') AS latency_p95,
       count(l.ttft_ms) FILTER (WHERE l.status = 'ok')                                   AS ttft_n,
       avg(l.ttft_ms) FILTER (WHERE l.status = 'ok')                                     AS ttft_mean,
       var_samp(l.ttft_ms) FILTER (WHERE l.status = 'ok')                                AS ttft_var,
       count(COALESCE(l.cost_usd, l.cost_estimated_usd)) FILTER (WHERE l.status <> 'cancelled') AS cost_n,
       avg(COALESCE(l.cost_usd, l.cost_estimated_usd)) FILTER (WHERE l.status <> 'cancelled')   AS cost_mean,
       var_samp(COALESCE(l.cost_usd, l.cost_estimated_usd)) FILTER (WHERE l.status <> 'cancelled') AS cost_var,
       COALESCE(sum(COALESCE(l.cost_usd, l.cost_estimated_usd)) FILTER (WHERE l.status <> 'cancelled'), 0) AS cost_total,
       count(f.quality) FILTER (WHERE l.status <> 'cancelled')                           AS quality_n,
       avg(f.quality) FILTER (WHERE l.status <> 'cancelled')                             AS quality_mean,
       var_samp(f.quality) FILTER (WHERE l.status <> 'cancelled')                        AS quality_var
  FROM migration_exposures e
  JOIN usage_ledger l ON l.request_id = e.request_id
   AND l.created_at >= CAST(:since AS timestamptz) - interval '1 day'
   AND l.created_at < CAST(:until AS timestamptz) + interval '1 day'
  LEFT JOIN migration_feedback f ON f.request_id = e.request_id
 WHERE e.feature = :feature AND e.created_at >= :since AND e.created_at < :until
 GROUP BY e.arm
"""


def _summary(n, mean, var) -> Summary:
    return Summary(int(n), float(mean) if mean is not None else float("nan"),
                   float(var) if var is not None else float("nan"))


def arm_figures(conn: Connection, feature: str, since: datetime, until: datetime) -> dict[str, ArmFigures]:
    """Both arms' figures over exposures created in [since, until)."""
    figures = {CONTROL: empty(CONTROL), TREATMENT: empty(TREATMENT)}
    for r in conn.execute(text(_FIGURES_SQL), {"feature": feature, "since": since, "until": until}):
        figures[r.arm] = ArmFigures(
            arm=r.arm, requests=r.requests, errors=r.errors,
            latency=_summary(r.latency_n, r.latency_mean, r.latency_var),
            ttft=_summary(r.ttft_n, r.ttft_mean, r.ttft_var),
            p95_latency_ms=None if r.latency_p95 is None else Decimal(repr(r.latency_p95)),
            cost=_summary(r.cost_n, r.cost_mean, r.cost_var),
            cost_mean_usd=r.cost_mean, cost_total_usd=Decimal(r.cost_total),
            quality=_summary(r.quality_n, r.quality_mean, r.quality_var),
        )
    return figures


def window(feature: Feature, now: datetime, minutes: int | None = None) -> tuple[datetime, datetime]:
    """[since, now): the experiment's life, or its last `minutes` when given; never before
    the experiment began."""
    start = feature.experiment_started_at or now
    if minutes is not None:
        start = max(start, now - timedelta(minutes=minutes))
    return start, now


__all__ = ["Exposure", "FeedbackResult", "arm_figures", "assignment_for", "record_exposures", "record_feedback", "window"]
