"""Feature flags: the admin endpoints, and the dependency other routers attach.

GET    flags                       every flag's effective value on a deployment and its source
PUT    flags/{name}                set an override {enabled, deployment ('*' = all), note}
DELETE flags/{name}?deployment=    drop the override: back to '*' or the environment

    router = APIRouter(dependencies=[Depends(require_flag("routing"))])   # 503 feature_disabled when off

The resolver lives on app.state.flags: the gateway's (proxy.gateway.flags, reloaded with
its snapshot on NOTIFY or the version poll) when the app has a started gateway, else one
built on first use. An override changed here is read again at once in this process; other
processes follow on NOTIFY, their version poll, or within the resolver's TTL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from minerva_core.errors import InvalidParameterError, ResourceNotFoundError
from minerva_core.flags import (
    FlagResolver,
    FlagState,
    check_deployment,
    delete_override,
    flag_name,
    load_overrides,
    resolve,
    set_override,
)
from proxy.deps import EngineDep, SettingsDep, require_admin


def get_flag_resolver(request: Request) -> FlagResolver:
    state = request.app.state
    resolver = getattr(state, "flags", None)
    if resolver is None:  # two first requests may race: one resolver wins, both are equivalent
        gateway_flags = getattr(getattr(state, "gateway", None), "flags", None)
        shared = getattr(gateway_flags, "resolver", None)
        if shared is not None and shared.engine is not None:
            resolver = state.flags = shared
        else:
            resolver = state.flags = FlagResolver(state.settings, state.engine)
    return resolver


FlagResolverDep = Annotated[FlagResolver, Depends(get_flag_resolver)]


def require_flag(area: str) -> Callable[[FlagResolver], Awaitable[FlagState]]:
    """A dependency: the request proceeds when the area's flag is on, else 503 feature_disabled.
    In memory on the event loop; only a stale cache (once per TTL) is reloaded, in a thread."""
    name = flag_name(area)

    async def dependency(resolver: FlagResolverDep) -> FlagState:
        if resolver.is_stale():
            await run_in_threadpool(resolver.refresh_if_stale)
        return resolver.require(name, refresh=False)

    dependency.__name__ = f"require_{name.lower()}"
    return dependency


def actor(x_minerva_actor: Annotated[str | None, Header(max_length=200)] = None) -> str:
    """Who acts, for the audit trail: the X-Minerva-Actor header, else 'admin'."""
    return (x_minerva_actor or "").strip() or "admin"


ActorDep = Annotated[str, Depends(actor)]


class OverrideView(BaseModel):
    deployment: str
    enabled: bool
    note: str | None
    updated_by: str | None
    updated_at: datetime | None


class FlagView(BaseModel):
    name: str
    area: str
    enabled: bool
    source: str = Field(description="deployment_override | global_override | environment | default")
    source_detail: str
    environment: bool | None = Field(description="the variable's value when it is set")
    default: bool
    overrides: list[OverrideView] = Field(description="every override of this flag, on any deployment")


class FlagsView(BaseModel):
    deployment: str
    flags: list[FlagView]


class OverrideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool
    deployment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = Field(
        default=None, description="a deployment name, or * for every one; default: this deployment")
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


router = APIRouter(prefix="/flags", tags=["admin: flags"], dependencies=[Depends(require_admin)])


def _known(name: str) -> str:
    try:
        return flag_name(name)
    except InvalidParameterError:
        raise ResourceNotFoundError(f"no feature flag {name!r}", code="unknown_flag", param="name") from None


def _view(engine, settings, deployment: str) -> FlagsView:
    with engine.connect() as conn:
        overrides = load_overrides(conn)
    states = resolve(settings, deployment, overrides)
    flags = [
        FlagView(
            name=s.name, area=s.area, enabled=s.enabled, source=s.source, source_detail=s.source_text,
            environment=s.environment, default=s.default,
            overrides=[OverrideView(deployment=o.deployment, enabled=o.enabled, note=o.note, updated_by=o.updated_by,
                                    updated_at=o.updated_at)
                       for (n, _), o in sorted(overrides.items()) if n == s.name],
        )
        for s in states.values()
    ]
    return FlagsView(deployment=deployment, flags=flags)


def _reread(resolver: FlagResolver) -> None:
    """After a change: read the overrides now (this runs in a worker thread), else on next use."""
    if not resolver.reload():
        resolver.invalidate()


@router.get("", response_model=FlagsView)
def get_flags(
    engine: EngineDep, settings: SettingsDep, resolver: FlagResolverDep,
    deployment: Annotated[str | None, Query(max_length=100)] = None,
) -> FlagsView:
    """Effective values (read from the database now, not the cache) on `deployment`
    (default: this one)."""
    return _view(engine, settings, check_deployment(deployment) if deployment else resolver.deployment)


@router.put("/{name}", response_model=FlagsView)
def put_flag(name: str, body: OverrideRequest, engine: EngineDep, settings: SettingsDep,
             resolver: FlagResolverDep, who: ActorDep) -> FlagsView:
    flag = _known(name)
    deployment = check_deployment(body.deployment or resolver.deployment, allow_all=True)
    with engine.begin() as conn:
        set_override(conn, flag, deployment, body.enabled, actor=who, note=body.note)
    _reread(resolver)
    return _view(engine, settings, resolver.deployment if deployment == "*" else deployment)


@router.delete("/{name}", response_model=FlagsView)
def delete_flag(name: str, engine: EngineDep, settings: SettingsDep, resolver: FlagResolverDep, who: ActorDep,
                deployment: Annotated[str | None, Query(max_length=100)] = None) -> FlagsView:
    flag = _known(name)
    deployment = check_deployment(deployment or resolver.deployment, allow_all=True)
    with engine.begin() as conn:
        removed = delete_override(conn, flag, deployment, actor=who)
    if removed is None:
        raise ResourceNotFoundError(f"{flag} has no override on deployment {deployment!r}",
                                    code="override_not_found", param="deployment")
    _reread(resolver)
    return _view(engine, settings, resolver.deployment if deployment == "*" else deployment)


__all__ = ["ActorDep", "FlagResolverDep", "actor", "get_flag_resolver", "require_flag", "router"]
