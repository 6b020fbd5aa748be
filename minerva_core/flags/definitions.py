"""The four ENABLE_OPENROUTER_* flags and how one is resolved. Pure: no I/O.

Resolution order, first match wins (the same order the feature_flags table documents):

    1. deployment_override   a feature_flags row for this deployment (MINERVA_DEPLOYMENT)
    2. global_override       a feature_flags row for deployment '*'
    3. environment           the ENABLE_OPENROUTER_* variable, when it is set
    4. default               Settings' default (provider, routing, analytics on; migration off)

A disabled area answers HTTP 503 with code ``feature_disabled`` (FeatureDisabledError):
the route exists, the service behind it is switched off here. 503 rather than 404 so that
a typo in a path and a switched-off area never look alike.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from minerva_core.errors import InvalidParameterError
from minerva_core.settings import Settings

AREAS: dict[str, str] = {
    "provider": "ENABLE_OPENROUTER_PROVIDER",
    "routing": "ENABLE_OPENROUTER_ROUTING",
    "analytics": "ENABLE_OPENROUTER_ANALYTICS",
    "migration": "ENABLE_OPENROUTER_MIGRATION",
}
FLAG_AREAS: dict[str, str] = {flag: area for area, flag in AREAS.items()}
ALL_DEPLOYMENTS = "*"
DEFAULT_DEPLOYMENT = "default"
DEPLOYMENT_ENV = "MINERVA_DEPLOYMENT"
SOURCES = ("deployment_override", "global_override", "environment", "default")

_DEPLOYMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


def flag_name(value: str) -> str:
    """The flag's variable name from an area ('routing'), the name itself, or its lower-case
    settings field; InvalidParameterError (param ``name``) for anything else."""
    key = value.strip()
    if key.lower() in AREAS:
        return AREAS[key.lower()]
    if key.upper() in FLAG_AREAS:
        return key.upper()
    raise InvalidParameterError(
        f"unknown feature flag {value!r}; known: {', '.join(AREAS)} or {', '.join(FLAG_AREAS)}",
        code="unknown_flag", param="name",
    )


def check_deployment(value: str, *, allow_all: bool = False) -> str:
    name = value.strip()
    if allow_all and name == ALL_DEPLOYMENTS:
        return name
    if not _DEPLOYMENT.match(name):
        raise InvalidParameterError(
            "deployment must be 1-100 letters, digits, '.', '_', ':' or '-'"
            + (" (or * for every deployment)" if allow_all else ""),
            code="invalid_deployment", param="deployment",
        )
    return name


def deployment_name(settings: Settings, environ: Mapping[str, str] | None = None) -> str:
    """This process's deployment: Settings.deployment once it exists, else MINERVA_DEPLOYMENT,
    else 'default'."""
    value = getattr(settings, "deployment", None)
    if not value:
        value = (os.environ if environ is None else environ).get(DEPLOYMENT_ENV) or DEFAULT_DEPLOYMENT
    return check_deployment(value)


@dataclass(frozen=True)
class Override:
    name: str
    deployment: str
    enabled: bool
    note: str | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None

    def as_dict(self) -> dict:
        return {
            "name": self.name, "deployment": self.deployment, "enabled": self.enabled, "note": self.note,
            "updated_by": self.updated_by,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


@dataclass(frozen=True)
class FlagState:
    """One flag's effective value on one deployment, and why."""

    name: str
    area: str
    deployment: str
    enabled: bool
    source: str  # one of SOURCES
    environment: bool | None  # the variable's value when set, else None
    default: bool
    override: Override | None = None

    @property
    def source_text(self) -> str:
        if self.override is not None:
            where = "every deployment ('*')" if self.override.deployment == ALL_DEPLOYMENTS else (
                f"deployment {self.override.deployment!r}")
            by = f" by {self.override.updated_by}" if self.override.updated_by else ""
            note = f": {self.override.note}" if self.override.note else ""
            return f"database override for {where}{by}{note}"
        return "environment" if self.source == "environment" else "default"

    def describe(self) -> str:
        state = "on" if self.enabled else "off"
        return f"{self.name} is {state} for deployment {self.deployment!r} ({self.source_text})"


def resolve(
    settings: Settings, deployment: str, overrides: Mapping[tuple[str, str], Override]
) -> dict[str, FlagState]:
    """Every flag's state on `deployment`, from Settings and the database overrides."""
    states = {}
    for flag, area in FLAG_AREAS.items():
        field = flag.lower()
        default = bool(Settings.model_fields[field].default)
        environment = bool(getattr(settings, field)) if field in settings.model_fields_set else None
        own = overrides.get((flag, deployment))
        every = overrides.get((flag, ALL_DEPLOYMENTS))
        if own is not None:
            enabled, source, override = own.enabled, "deployment_override", own
        elif every is not None:
            enabled, source, override = every.enabled, "global_override", every
        elif environment is not None:
            enabled, source, override = environment, "environment", None
        else:
            enabled, source, override = default, "default", None
        states[flag] = FlagState(flag, area, deployment, enabled, source, environment, default, override)
    return states


__all__ = [
    "ALL_DEPLOYMENTS", "AREAS", "DEFAULT_DEPLOYMENT", "DEPLOYMENT_ENV", "FLAG_AREAS", "SOURCES",
    "FlagState", "Override", "check_deployment", "deployment_name", "flag_name", "resolve",
]
