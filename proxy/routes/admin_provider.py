"""Admin: the OpenRouter provider's configuration and a live health test.

GET  provider/configure   the current configuration; the key only as its fingerprint
POST provider/configure   upsert settings (omitted fields unchanged) and store a new key encrypted
POST provider/test        reachability, key validity, latency, credits: always 200 with a status

All three need the admin token, then ENABLE_OPENROUTER_PROVIDER (503 feature_disabled when off).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from minerva_core.credentials import Secret, fingerprint, get_credential
from minerva_core.errors import CredentialError
from minerva_core.provider_config import (
    ProviderConfig,
    configure_provider,
    read_provider,
)
from minerva_core.providers import NO_RETRY, Availability, OpenRouterProvider
from minerva_core.settings import Settings
from proxy.deps import EngineDep, HttpClientDep, SettingsDep, get_keyring, require_admin
from proxy.routes.flags import require_flag
from proxy.schemas.provider import (
    ConfigureRequest,
    CredentialView,
    ProviderConfigResponse,
    ProviderTestRequest,
    ProviderTestResponse,
)

PROVIDER = "openrouter"
router = APIRouter(prefix="/provider", tags=["admin: provider"],
                   dependencies=[Depends(require_admin), Depends(require_flag("provider"))])


@router.get("/configure", response_model=ProviderConfigResponse)
def get_configuration(engine: EngineDep, settings: SettingsDep) -> ProviderConfigResponse:
    with engine.connect() as conn:
        return _view(read_provider(conn, PROVIDER), settings)


@router.post("/configure", response_model=ProviderConfigResponse)
def configure(body: ConfigureRequest, request: Request, engine: EngineDep, settings: SettingsDep) -> ProviderConfigResponse:
    secret = Secret(body.api_key.get_secret_value()) if body.api_key is not None else None
    keyring = get_keyring(request) if secret is not None else None
    with engine.begin() as conn:
        config = configure_provider(conn, PROVIDER, body.column_changes(), secret=secret, keyring=keyring)
    return _view(config, settings)


@router.post("/test", response_model=ProviderTestResponse)
async def test_provider(
    request: Request, engine: EngineDep, settings: SettingsDep, client: HttpClientDep,
    body: ProviderTestRequest | None = None,
) -> ProviderTestResponse:
    body = body or ProviderTestRequest()
    target = await run_in_threadpool(_target, request, engine, settings, body)
    provider = OpenRouterProvider(base_url=target.base_url, api_key=target.key, client=client, retry=NO_RETRY)
    try:
        found = await asyncio.wait_for(provider.is_available(), timeout=body.timeout_seconds)
    except TimeoutError:
        found = Availability(False, None, None, f"no answer within {body.timeout_seconds:g} s")
    key_valid, detail = found.key_valid, found.detail
    if target.key is None:
        key_valid = False if found.reachable else None
        detail = f"{target.problem or 'no API key configured'}; upstream: {detail}"
    elif target.key in detail:  # never echo a key, whatever an upstream put in its error
        detail = detail.replace(target.key, "***")
    return ProviderTestResponse(
        status="healthy" if found.reachable and key_valid else "unhealthy",
        reachable=found.reachable, key_valid=key_valid,
        latency_ms=None if found.latency_ms is None else round(found.latency_ms, 2),
        credits_remaining=None if found.credits_remaining is None else format(found.credits_remaining, "f"),
        base_url=target.base_url, credential_source=target.source,
        credential_fingerprint=None if target.key is None else fingerprint(target.key),
        detail=detail[:1000], checked_at=datetime.now(UTC),
    )


@dataclass(frozen=True)
class _Target:
    base_url: str
    key: str | None
    source: str | None
    problem: str | None = None


def _target(request: Request, engine, settings: Settings, body: ProviderTestRequest) -> _Target:
    """Which URL and key to test: the request's, else the environment's / stored ones."""
    with engine.connect() as conn:
        config = read_provider(conn, PROVIDER)
        base_url = body.base_url or (config.base_url if config else None) or settings.openrouter_base_url
        if body.api_key is not None:
            return _Target(base_url, body.api_key.get_secret_value(), "request")
        if settings.openrouter_api_key is not None:
            return _Target(base_url, settings.openrouter_api_key.get_secret_value(), "environment")
        if config is None or config.credential is None:
            return _Target(base_url, None, None)
        try:
            return _Target(base_url, get_credential(conn, PROVIDER, keyring=get_keyring(request)).reveal(), "stored")
        except CredentialError as exc:
            return _Target(base_url, None, None, f"the stored key cannot be used: {exc}")


def _view(config: ProviderConfig | None, settings: Settings) -> ProviderConfigResponse:
    env_fp = fingerprint(settings.openrouter_api_key.get_secret_value()) if settings.openrouter_api_key else None
    stored = config.credential if config else None
    source = "environment" if env_fp else ("stored" if stored else None)
    credential = CredentialView(
        configured=source is not None, source=source,
        fingerprint=env_fp or (stored.fingerprint if stored else None),
        stored_fingerprint=stored.fingerprint if stored else None,
        stored_at=stored.created_at if stored else None, environment_fingerprint=env_fp,
    )
    if config is None:
        return ProviderConfigResponse(
            provider=PROVIDER, type=PROVIDER, configured=False, base_url=None,
            effective_base_url=settings.openrouter_base_url, is_enabled=settings.enable_openrouter_provider,
            routing_preferences={}, cost_limits={}, rate_limits={}, fallback_providers=[],
            credential=credential, created_at=None, updated_at=None,
        )
    return ProviderConfigResponse(
        provider=config.name, type=config.type, configured=True, base_url=config.base_url,
        effective_base_url=config.base_url or settings.openrouter_base_url, is_enabled=config.is_enabled,
        routing_preferences=config.routing_config, cost_limits=config.cost_config,
        rate_limits=config.rate_limit_config, fallback_providers=config.fallback_providers,
        credential=credential, created_at=config.created_at, updated_at=config.updated_at,
    )
