"""Admin: the migration of platform features to OpenRouter. Thin: minerva_core.migration
holds the logic. Every route needs the admin token and ENABLE_OPENROUTER_MIGRATION
(503 feature_disabled when it is off). Changes are audited with the X-Minerva-Actor header
(default 'admin') as the actor.

POST   migration/features                        register a feature (201)
GET    migration/features[?status=]              list
GET    migration/features/{name}                 one
PATCH  migration/features/{name}                 update (arms only while 0 % is on treatment)
POST   migration/features/{name}/rollout         {percent, reason?}: forward (or back)
POST   migration/features/{name}/rollback        {reason}: to 0 %, status rolled_back
POST   migration/features/{name}/pause|resume    {reason?}: hold the split / release it
GET    migration/features/{name}/assignment?user=   the user's bucket and arm
GET    migration/experiments/{feature}           per-arm figures, tests, guardrails, verdict
POST   migration/feedback                        {request_id, score: 1-5 | "up" | "down"}
GET    migration/audit[?entity_type=&entity=&limit=&before_id=]   newest first, keyset-paged
POST   migration/guardrails/evaluate             run the guardrail evaluation now
POST   migration/legacy/migrate                  {export?}: legacy data in, counts and checksums out
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from minerva_core.credentials import KeyRing
from minerva_core.migration import audit, registry
from minerva_core.migration.evaluation import evaluate_guardrails, experiment_report
from minerva_core.migration.exposures import assignment_for, record_feedback
from minerva_core.migration.legacy import migrate_legacy
from proxy.deps import EngineDep, get_keyring, require_admin
from proxy.routes.flags import ActorDep, require_flag
from proxy.schemas.migration import (
    AssignmentView,
    AuditPage,
    AuditView,
    ExperimentView,
    FeatureCreate,
    FeatureList,
    FeatureUpdate,
    FeatureView,
    FeedbackRequest,
    FeedbackView,
    GuardrailOutcomeView,
    GuardrailRun,
    LegacyMigrateRequest,
    ReasonRequest,
    RollbackRequest,
    RolloutRequest,
)

router = APIRouter(
    prefix="/migration", tags=["admin: migration"],
    dependencies=[Depends(require_admin), Depends(require_flag("migration"))],
)
Name = Annotated[str, "the feature's name"]


@router.post("/features", response_model=FeatureView, status_code=201)
def register(body: FeatureCreate, engine: EngineDep, who: ActorDep) -> FeatureView:
    with engine.begin() as conn:
        return FeatureView.of(registry.register_feature(conn, **body.model_dump(), actor=who))


@router.get("/features", response_model=FeatureList)
def list_features(engine: EngineDep, status: Annotated[str | None, Query()] = None) -> FeatureList:
    with engine.connect() as conn:
        return FeatureList(data=[FeatureView.of(f) for f in registry.list_features(conn, status=status)])


@router.get("/features/{name}", response_model=FeatureView)
def get_feature(name: Name, engine: EngineDep) -> FeatureView:
    with engine.connect() as conn:
        return FeatureView.of(registry.get_feature(conn, name))


@router.patch("/features/{name}", response_model=FeatureView)
def update_feature(name: Name, body: FeatureUpdate, engine: EngineDep, who: ActorDep) -> FeatureView:
    with engine.begin() as conn:
        return FeatureView.of(registry.update_feature(conn, name, body.changes(), actor=who, reason=body.reason))


@router.post("/features/{name}/rollout", response_model=FeatureView)
def rollout(name: Name, body: RolloutRequest, engine: EngineDep, who: ActorDep) -> FeatureView:
    with engine.begin() as conn:
        return FeatureView.of(registry.set_rollout(conn, name, body.percent, actor=who, reason=body.reason))


@router.post("/features/{name}/rollback", response_model=FeatureView)
def rollback(name: Name, body: RollbackRequest, engine: EngineDep, who: ActorDep) -> FeatureView:
    with engine.begin() as conn:
        return FeatureView.of(registry.rollback(conn, name, reason=body.reason, actor=who))


@router.post("/features/{name}/pause", response_model=FeatureView)
def pause(name: Name, engine: EngineDep, who: ActorDep, body: ReasonRequest | None = None) -> FeatureView:
    with engine.begin() as conn:
        return FeatureView.of(registry.pause(conn, name, actor=who, reason=(body or ReasonRequest()).reason))


@router.post("/features/{name}/resume", response_model=FeatureView)
def resume(name: Name, engine: EngineDep, who: ActorDep, body: ReasonRequest | None = None) -> FeatureView:
    with engine.begin() as conn:
        return FeatureView.of(registry.resume(conn, name, actor=who, reason=(body or ReasonRequest()).reason))


@router.get("/features/{name}/assignment", response_model=AssignmentView)
def assignment(name: Name, engine: EngineDep, user: Annotated[str, Query(min_length=1, max_length=500)]) -> AssignmentView:
    with engine.connect() as conn:
        feature = registry.get_feature(conn, name)
    return AssignmentView.of(assignment_for(feature, user), user, feature.status)


@router.get("/experiments/{feature}", response_model=ExperimentView)
def experiment(feature: str, engine: EngineDep) -> ExperimentView:
    with engine.connect() as conn:
        return ExperimentView.of(experiment_report(conn, feature, datetime.now(UTC)))


@router.post("/feedback", response_model=FeedbackView)
def feedback(body: FeedbackRequest, engine: EngineDep) -> FeedbackView:
    score, thumbs = (body.score, None) if isinstance(body.score, int) else (None, body.score == "up")
    with engine.begin() as conn:
        result = record_feedback(conn, body.request_id, score=score, thumbs_up=thumbs, comment=body.comment)
    return FeedbackView(request_id=result.request_id, quality=format(result.quality.normalize(), "f"),
                        feature=result.feature, arm=result.arm)


@router.get("/audit", response_model=AuditPage)
def audit_trail(
    engine: EngineDep,
    entity_type: Annotated[str | None, Query()] = None,
    entity: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query()] = 50,
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> AuditPage:
    with engine.connect() as conn:
        entries, cursor = audit.list_entries(conn, entity_type=entity_type, entity=entity, before_id=before_id,
                                             limit=limit)
    return AuditPage(data=[AuditView.of(e) for e in entries], next_before_id=cursor)


@router.post("/guardrails/evaluate", response_model=GuardrailRun)
def evaluate(engine: EngineDep) -> GuardrailRun:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        outcomes = evaluate_guardrails(conn, now)
    return GuardrailRun(evaluated_at=now, outcomes=[GuardrailOutcomeView.of(o) for o in outcomes])


@router.post("/legacy/migrate")
def legacy_migrate(request: Request, engine: EngineDep, who: ActorDep, body: LegacyMigrateRequest | None = None) -> dict:
    def keyring() -> KeyRing:  # asked for only when the legacy configs hold keys
        return get_keyring(request)

    with engine.begin() as conn:
        report = migrate_legacy(conn, body.export if body and body.export is not None else "tables",
                                keyring=keyring, actor=who)
    return report.as_dict()


__all__ = ["router"]
