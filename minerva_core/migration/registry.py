"""Migrating features: register, read, update, and move their rollout (forward, pause,
resume, back). Every change is audited in the same transaction (migration_audit).

Functions take a Connection and work in the caller's transaction: use
``with engine.begin() as conn``. Transitions lock the feature row (SELECT ... FOR UPDATE),
so an admin's change and an automatic rollback never interleave.

Status machine (rollout in basis points, bp):
    registered  --rollout p>0-->  rolling_out (0<p<100) | completed (p=100)
    rolling_out/completed --rollout p--> rolling_out | completed | rolled_back (p=0)
    rolling_out/completed --pause--> paused (the split is held as is; rollout refused)
    paused --resume--> rolling_out | completed
    any but registered/rolled_back --rollback--> rolled_back (0 %, reason kept)
    rolled_back --rollout p>0--> rolling_out | completed (a new experiment starts)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from minerva_core.errors import ConflictError, InvalidParameterError, ResourceNotFoundError, RolloutStateError
from minerva_core.migration import audit
from minerva_core.migration.bucketing import bp_to_percent, percent_to_bp
from minerva_core.migration.experiments import ExperimentConfig
from minerva_core.migration.guardrails import Guardrails

STATUSES = ("registered", "rolling_out", "paused", "completed", "rolled_back")
ACTIVE = ("rolling_out", "paused", "completed")  # treatment receives traffic
ARM_FIELDS = ("control_provider", "control_model", "treatment_provider", "treatment_model")
EDITABLE = ("description", "app", "guardrails", "experiment", *ARM_FIELDS)
_COLUMNS = (
    "name, description, app, control_provider, control_model, treatment_provider, treatment_model, status, "
    "rollout_bp, guardrails, experiment, experiment_started_at, status_reason, status_changed_by, "
    "status_changed_at, created_by, version, created_at, updated_at"
)


@dataclass(frozen=True)
class Feature:
    name: str
    description: str | None
    app: str | None
    control_provider: str
    control_model: str
    treatment_provider: str
    treatment_model: str
    status: str
    rollout_bp: int
    guardrails: dict
    experiment: dict
    experiment_started_at: datetime | None
    status_reason: str | None
    status_changed_by: str | None
    status_changed_at: datetime
    created_by: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def rollout_percent(self) -> Decimal:
        return bp_to_percent(self.rollout_bp)

    @property
    def guardrail_config(self) -> Guardrails:
        return Guardrails.from_json(self.guardrails)

    @property
    def experiment_config(self) -> ExperimentConfig:
        return ExperimentConfig.from_json(self.experiment)

    def snapshot(self) -> dict[str, Any]:
        """What the audit trail records as before/after."""
        data = asdict(self)
        data["rollout_percent"] = format(self.rollout_percent, "f")
        for key in ("created_at", "updated_at", "status_changed_at", "created_by", "rollout_bp"):
            data.pop(key)
        return data


def _feature(row) -> Feature:
    return Feature(**row._mapping)


def _normalise(changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(changes)
    if "guardrails" in out:
        out["guardrails"] = Guardrails.from_json(out["guardrails"]).to_json()
    if "experiment" in out:
        out["experiment"] = ExperimentConfig.from_json(out["experiment"]).to_json()
    return out


def _jsonb(values: dict[str, Any]) -> dict[str, Any]:
    import json

    return {k: json.dumps(v) if k in ("guardrails", "experiment") else v for k, v in values.items()}


def get_feature(conn: Connection, name: str, *, lock: bool = False) -> Feature:
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM migration_features WHERE name = :name" + (" FOR UPDATE" if lock else "")),
        {"name": name},
    ).one_or_none()
    if row is None:
        raise ResourceNotFoundError(f"no migrating feature {name!r}", code="feature_not_found", param="name")
    return _feature(row)


def list_features(conn: Connection, *, status: str | None = None) -> list[Feature]:
    if status is not None and status not in STATUSES:
        raise InvalidParameterError(f"status must be one of {', '.join(STATUSES)}", param="status")
    where = " WHERE status = :status" if status else ""
    rows = conn.execute(text(f"SELECT {_COLUMNS} FROM migration_features{where} ORDER BY name"), {"status": status})
    return [_feature(r) for r in rows]


def register_feature(
    conn: Connection, *, name: str, control_provider: str, control_model: str, treatment_model: str,
    treatment_provider: str = "openrouter", description: str | None = None, app: str | None = None,
    guardrails: dict | None = None, experiment: dict | None = None, actor: str,
) -> Feature:
    values = _normalise({
        "name": name, "description": description, "app": app, "control_provider": control_provider,
        "control_model": control_model, "treatment_provider": treatment_provider,
        "treatment_model": treatment_model, "guardrails": guardrails or {}, "experiment": experiment or {},
    })
    columns = ", ".join(values)
    params = ", ".join(f"CAST(:{k} AS jsonb)" if k in ("guardrails", "experiment") else f":{k}" for k in values)
    with conn.begin_nested() as savepoint:
        try:
            row = conn.execute(
                text(f"INSERT INTO migration_features ({columns}, created_by, status_changed_by) "
                     f"VALUES ({params}, :actor, :actor) ON CONFLICT (name) DO NOTHING RETURNING {_COLUMNS}"),
                {**_jsonb(values), "actor": actor},
            ).one_or_none()
        except IntegrityError as exc:  # a CHECK the API schema did not catch
            savepoint.rollback()
            raise InvalidParameterError(f"feature refused by the database: {exc.orig.__class__.__name__}",
                                        code="invalid_feature") from None
    if row is None:
        raise ConflictError(f"feature {name!r} is already registered", code="feature_exists", param="name")
    feature = _feature(row)
    audit.record(conn, actor=actor, entity_type="feature", entity=name, action="register",
                 before=None, after=feature.snapshot())
    return feature


def update_feature(conn: Connection, name: str, changes: dict[str, Any], *, actor: str, reason: str | None = None) -> Feature:
    """Change description, app, guardrails, experiment settings or the arms. The arms (and
    so what is being compared) can change only while no traffic is on treatment."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidParameterError(f"cannot change {', '.join(sorted(unknown))}", param=sorted(unknown)[0])
    before = get_feature(conn, name, lock=True)
    values = _normalise(changes)
    if any(values.get(k, getattr(before, k)) != getattr(before, k) for k in ARM_FIELDS) and before.rollout_bp > 0:
        raise RolloutStateError(
            f"feature {name!r} has {before.rollout_percent} % on treatment: roll it back before changing its arms",
            param="treatment_model")
    if not values:
        return before
    sets = ", ".join(f"{k} = CAST(:{k} AS jsonb)" if k in ("guardrails", "experiment") else f"{k} = :{k}" for k in values)
    row = conn.execute(text(f"UPDATE migration_features SET {sets} WHERE name = :name RETURNING {_COLUMNS}"),
                       {**_jsonb(values), "name": name}).one()
    after = _feature(row)
    audit.record(conn, actor=actor, entity_type="feature", entity=name, action="update",
                 before=before.snapshot(), after=after.snapshot(), reason=reason)
    return after


def _transition(conn: Connection, before: Feature, *, status: str, rollout_bp: int, actor: str, action: str,
                reason: str | None) -> Feature:
    new_experiment = before.rollout_bp == 0 and rollout_bp > 0
    row = conn.execute(
        text(
            "UPDATE migration_features SET status = :status, rollout_bp = :bp, status_reason = :reason, "
            "status_changed_by = :actor, status_changed_at = now(), "
            "experiment_started_at = CASE WHEN :new_experiment THEN now() ELSE experiment_started_at END "
            f"WHERE name = :name RETURNING {_COLUMNS}"
        ),
        {"status": status, "bp": rollout_bp, "reason": reason, "actor": actor, "name": before.name,
         "new_experiment": new_experiment},
    ).one()
    after = _feature(row)
    audit.record(conn, actor=actor, entity_type="feature", entity=before.name, action=action,
                 before=before.snapshot(), after=after.snapshot(), reason=reason)
    return after


def _status_for(bp: int) -> str:
    return "completed" if bp == 10_000 else "rolling_out"


def set_rollout(conn: Connection, name: str, percent: Decimal | int | str, *, actor: str, reason: str | None = None) -> Feature:
    """Move the treatment share to `percent` (forward or back). 0 rolls the feature back."""
    bp = percent_to_bp(percent)
    before = get_feature(conn, name, lock=True)
    if before.status == "paused":
        raise RolloutStateError(f"feature {name!r} is paused: resume it before changing its rollout")
    if bp == before.rollout_bp:
        return before  # nothing changes, nothing to audit
    if bp == 0:
        return _transition(conn, before, status="rolled_back", rollout_bp=0, actor=actor, action="rollout",
                           reason=reason or "rollout set to 0 %")
    return _transition(conn, before, status=_status_for(bp), rollout_bp=bp, actor=actor, action="rollout", reason=reason)


def rollback(conn: Connection, name: str, *, reason: str, actor: str, automatic: bool = False) -> Feature:
    if not reason or not reason.strip():
        raise InvalidParameterError("a rollback needs a reason", param="reason")
    before = get_feature(conn, name, lock=True)
    if before.status in ("registered", "rolled_back"):
        raise RolloutStateError(f"feature {name!r} is {before.status}: nothing is on treatment to roll back")
    return _transition(conn, before, status="rolled_back", rollout_bp=0, actor=actor,
                       action="auto_rollback" if automatic else "rollback", reason=reason.strip())


def pause(conn: Connection, name: str, *, actor: str, reason: str | None = None) -> Feature:
    before = get_feature(conn, name, lock=True)
    if before.status not in ("rolling_out", "completed"):
        raise RolloutStateError(f"feature {name!r} is {before.status}: only a rollout in progress can be paused")
    return _transition(conn, before, status="paused", rollout_bp=before.rollout_bp, actor=actor, action="pause",
                       reason=reason)


def resume(conn: Connection, name: str, *, actor: str, reason: str | None = None) -> Feature:
    before = get_feature(conn, name, lock=True)
    if before.status != "paused":
        raise RolloutStateError(f"feature {name!r} is {before.status}, not paused")
    return _transition(conn, before, status=_status_for(before.rollout_bp), rollout_bp=before.rollout_bp,
                       actor=actor, action="resume", reason=reason)


__all__ = [
    "ACTIVE", "EDITABLE", "STATUSES", "Feature", "get_feature", "list_features", "pause", "register_feature",
    "resume", "rollback", "set_rollout", "update_feature",
]
