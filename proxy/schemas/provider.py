"""Bodies of provider/configure and provider/test.

Money is a decimal string (an integer is accepted, a JSON float is not: 0.1 is not exact);
stored as the string given. Unknown keys are refused, so a typo is a 400, not a silent no-op.
Validation messages never repeat the value they refuse (an API key must not come back).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
)

_PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$")
_MAX_USD = Decimal("1e12")


def _usd(value: Any) -> Decimal:
    # pydantic reports ValueError as a validation error (a TypeError would escape as a 500).
    if isinstance(value, (bool, float)):
        raise ValueError('must be a decimal string such as "50.00" (JSON numbers with a fraction are not exact)')  # noqa: TRY004
    if not isinstance(value, (str, int)):
        raise ValueError('must be a decimal string such as "50.00"')  # noqa: TRY004
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError('must be a decimal string such as "50.00"') from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("must be a finite, non-negative amount of USD")
    if amount > _MAX_USD:
        raise ValueError("must be at most 1000000000000 USD")
    return amount


UsdAmount = Annotated[Decimal, BeforeValidator(_usd), PlainSerializer(lambda d: format(d, "f"), return_type=str)]


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError("must be an upstream provider slug such as 'anthropic' or 'deepinfra/fp8'")
    return value


def _provider_name(value: str) -> str:
    value = value.strip().lower()
    if not _PROVIDER_NAME.match(value):
        raise ValueError("must be a provider name: lower-case letters, digits, '.', '_' or '-'")
    return value


def _base_url(value: str) -> str:
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError("must be an http(s) URL such as https://openrouter.ai/api/v1")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials; send the key as api_key")
    return value


def _api_key(value: SecretStr) -> SecretStr:
    raw = value.get_secret_value().strip()
    if not raw:
        raise ValueError("must not be empty")
    # An API key travels in an HTTP header: printable ASCII only (anything else cannot be sent).
    if not raw.isascii() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in raw) or len(raw) > 1024:
        raise ValueError("must be a single token of printable ASCII characters without spaces "
                         "(at most 1024 characters)")
    return SecretStr(raw)


def _fallbacks(names: list[str] | None) -> list[str] | None:
    if names is None:
        return None
    names = list(dict.fromkeys(names))
    if "openrouter" in names:
        raise ValueError("cannot name openrouter itself")
    return names


Slug = Annotated[str, AfterValidator(_slug)]
ProviderName = Annotated[str, AfterValidator(_provider_name)]
BaseUrl = Annotated[str, Field(max_length=2048), AfterValidator(_base_url)]
ApiKey = Annotated[SecretStr, AfterValidator(_api_key)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoutingPreferences(_Strict):
    """Stored in routing_config: defaults for OpenRouter's provider{} object plus the name of
    Minerva's default routing strategy."""

    default_strategy: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    sort: Literal["price", "throughput", "latency"] | None = None
    order: list[Slug] | None = Field(default=None, max_length=50)
    only: list[Slug] | None = Field(default=None, max_length=50)
    ignore: list[Slug] | None = Field(default=None, max_length=50)
    allow_fallbacks: bool | None = None
    require_parameters: bool | None = None
    data_collection: Literal["allow", "deny"] | None = None
    zdr: bool | None = None
    quantizations: list[Annotated[str, Field(pattern=r"^[a-z0-9]{2,16}$")]] | None = Field(default=None, max_length=20)


class CostLimits(_Strict):
    """Stored in cost_config: spend limits in USD, decimal strings."""

    daily_limit_usd: UsdAmount | None = None
    monthly_limit_usd: UsdAmount | None = None


class RateLimits(_Strict):
    """Stored in rate_limit_config: upstream limits to respect."""

    rpm: int | None = Field(default=None, ge=1, le=10_000_000)
    tpm: int | None = Field(default=None, ge=1, le=10_000_000_000)


class ConfigureRequest(_Strict):
    """Every field is optional: an omitted one keeps its value; null resets it to the default
    (base_url null = OPENROUTER_BASE_URL, a config null = {})."""

    api_key: ApiKey | None = None
    base_url: BaseUrl | None = None
    routing_preferences: RoutingPreferences | None = None
    cost_limits: CostLimits | None = None
    rate_limits: RateLimits | None = None
    fallback_providers: Annotated[list[ProviderName] | None, AfterValidator(_fallbacks)] = Field(
        default=None, max_length=20
    )
    is_enabled: bool = True

    def column_changes(self) -> dict[str, Any]:
        """The platform_ai_providers columns this request sets (only the fields it sent)."""
        sent = self.model_fields_set
        changes: dict[str, Any] = {}
        if "base_url" in sent:
            changes["base_url"] = self.base_url
        if "is_enabled" in sent:
            changes["is_enabled"] = self.is_enabled
        for field, column in (("routing_preferences", "routing_config"), ("cost_limits", "cost_config"),
                              ("rate_limits", "rate_limit_config")):
            if field in sent:
                value = getattr(self, field)
                changes[column] = {} if value is None else value.model_dump(mode="json", exclude_none=True)
        if "fallback_providers" in sent:
            changes["fallback_providers"] = list(self.fallback_providers or [])
        return changes


class CredentialView(BaseModel):
    configured: bool
    source: Literal["environment", "stored"] | None = Field(
        description="which key the flows and provider/test use: OPENROUTER_API_KEY wins over the stored one")
    fingerprint: str | None
    stored_fingerprint: str | None
    stored_at: datetime | None
    environment_fingerprint: str | None


class ProviderConfigResponse(BaseModel):
    provider: str
    type: str
    configured: bool = Field(description="false until the provider row exists (defaults shown)")
    base_url: str | None
    effective_base_url: str
    is_enabled: bool
    routing_preferences: dict[str, Any]
    cost_limits: dict[str, Any]
    rate_limits: dict[str, Any]
    fallback_providers: list[str]
    credential: CredentialView
    created_at: datetime | None
    updated_at: datetime | None


class ProviderTestRequest(_Strict):
    """Optional overrides, to try a key or URL before saving it."""

    api_key: ApiKey | None = None
    base_url: BaseUrl | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)


class ProviderTestResponse(BaseModel):
    status: Literal["healthy", "unhealthy"]
    reachable: bool
    key_valid: bool | None
    latency_ms: float | None
    credits_remaining: str | None = Field(description="USD, a decimal string")
    base_url: str
    credential_source: Literal["request", "environment", "stored"] | None
    credential_fingerprint: str | None
    detail: str
    checked_at: datetime
