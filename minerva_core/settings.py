"""Minerva's one settings class.

Every knob is read from the environment (or an injected mapping in tests) through
pydantic-settings. Names follow ../DESIGN.md: MINERVA_* for Minerva's own settings, the
OpenRouter names and the ENABLE_OPENROUTER_* feature flags as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from minerva_core.errors import ConfigError

DEFAULT_OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MINERVA_",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    home: Path = Field(default=Path("~/.minerva"), description="Where embedded state lives.")
    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql+psycopg://… ; unset means the embedded PostgreSQL under home.",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="redis://… shared by every proxy process for rate limits and budgets; unset "
        "means each process keeps its own.",
    )
    secret_keys: SecretStr | None = Field(
        default=None, description="Comma-separated Fernet keys, newest first."
    )
    admin_token: SecretStr | None = None
    env: str = Field(default="development", pattern="^(development|test|production)$")
    deployment: str = Field(
        default="default",
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$",
        description="This deployment's name, for per-deployment feature-flag overrides.",
    )
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    proxy_host: str = "127.0.0.1"
    proxy_port: int = Field(default=4000, ge=1, le=65535)
    emulator_host: str = "127.0.0.1"
    emulator_port: int = Field(default=4010, ge=1, le=65535)
    prefect_port: int = Field(default=4200, ge=1, le=65535)

    openrouter_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENROUTER_API_KEY", "openrouter_api_key")
    )
    openrouter_base_url: str = Field(
        default=DEFAULT_OPENROUTER_BASE_URL,
        validation_alias=AliasChoices("OPENROUTER_BASE_URL", "openrouter_base_url"),
    )
    enable_openrouter_provider: bool = Field(
        default=True,
        validation_alias=AliasChoices("ENABLE_OPENROUTER_PROVIDER", "enable_openrouter_provider"),
    )
    enable_openrouter_routing: bool = Field(
        default=True,
        validation_alias=AliasChoices("ENABLE_OPENROUTER_ROUTING", "enable_openrouter_routing"),
    )
    enable_openrouter_analytics: bool = Field(
        default=True,
        validation_alias=AliasChoices("ENABLE_OPENROUTER_ANALYTICS", "enable_openrouter_analytics"),
    )
    enable_openrouter_migration: bool = Field(
        default=False,
        validation_alias=AliasChoices("ENABLE_OPENROUTER_MIGRATION", "enable_openrouter_migration"),
    )

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("database_url", mode="after")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        url = value.get_secret_value()
        if not url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("must be a PostgreSQL URL (postgresql+psycopg://user@host/db)")
        return value

    @field_validator("redis_url", mode="after")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a Redis URL (redis://host:6379/0, rediss://… or unix://…)")
        return value

    @field_validator("openrouter_base_url", mode="after")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def uses_emulator(self) -> bool:
        """True when no OpenRouter key is set: `minerva up` then serves the built-in emulator."""
        return self.openrouter_api_key is None


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from the process environment, or from `environ` when given.

    A bad value raises ConfigError naming the variable and what is wrong, never a traceback
    full of pydantic internals.
    """
    try:
        if environ is None:
            return Settings(**overrides)
        return _settings_from_mapping(environ, overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = _env_name(str(err["loc"][0])) if err["loc"] else "settings"
            problems.append(f"{name}: {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


_UNPREFIXED = {
    "openrouter_api_key": "OPENROUTER_API_KEY",
    "openrouter_base_url": "OPENROUTER_BASE_URL",
    "enable_openrouter_provider": "ENABLE_OPENROUTER_PROVIDER",
    "enable_openrouter_routing": "ENABLE_OPENROUTER_ROUTING",
    "enable_openrouter_analytics": "ENABLE_OPENROUTER_ANALYTICS",
    "enable_openrouter_migration": "ENABLE_OPENROUTER_MIGRATION",
}


def _env_name(field: str) -> str:
    if field in _UNPREFIXED:
        return _UNPREFIXED[field]
    if field.isupper():
        return field
    return "MINERVA_" + field.upper()


def _settings_from_mapping(environ: Mapping[str, str], overrides: Mapping[str, Any]) -> Settings:
    values: dict[str, Any] = {}
    for field in Settings.model_fields:
        name = _env_name(field)
        if name in environ:
            values[field] = environ[name]
    values.update(overrides)
    # Only the mapping counts: the process environment is not read.
    return _MappingOnlySettings(**values)


class _MappingOnlySettings(Settings):
    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, *args, **kwargs):  # type: ignore[override]
        return (init_settings,)
