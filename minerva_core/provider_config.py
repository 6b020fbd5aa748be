"""A provider's configuration row (platform_ai_providers) and its credential, read and saved.

``configure_provider`` upserts the row and, when a secret is given, stores it encrypted
(``credentials.set_credential``), both in the caller's transaction. Only the columns named
in ``changes`` are written: an omitted setting keeps its current value (or the column
default for a new row). JSON configs arrive already validated (the API's schemas) and are
stored as given; money inside them is decimal strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from minerva_core.credentials import (
    CredentialInfo,
    KeyRing,
    Secret,
    list_credentials,
    set_credential,
)
from minerva_core.credentials.store import normalise_provider_name, provider_type_for

CONFIG_COLUMNS = (
    "base_url", "is_enabled", "routing_config", "cost_config", "rate_limit_config", "fallback_providers",
)
_JSON_COLUMNS = frozenset({"routing_config", "cost_config", "rate_limit_config"})


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    type: str
    base_url: str | None
    is_enabled: bool
    routing_config: dict[str, Any]
    cost_config: dict[str, Any]
    rate_limit_config: dict[str, Any]
    fallback_providers: list[str]
    created_at: datetime
    updated_at: datetime
    credential: CredentialInfo | None  # the active stored credential: fingerprint, never the secret


def read_provider(conn: Connection, name: str) -> ProviderConfig | None:
    name = normalise_provider_name(name)
    row = conn.execute(
        text(
            "SELECT name, type::text AS type, base_url, is_enabled, routing_config, cost_config, "
            "rate_limit_config, fallback_providers, created_at, updated_at "
            "FROM platform_ai_providers WHERE name = :name"
        ),
        {"name": name},
    ).one_or_none()
    if row is None:
        return None
    credential = next((c for c in list_credentials(conn) if c.provider == name), None)
    return ProviderConfig(
        name=row.name,
        type=row.type,
        base_url=row.base_url,
        is_enabled=row.is_enabled,
        routing_config=dict(row.routing_config),
        cost_config=dict(row.cost_config),
        rate_limit_config=dict(row.rate_limit_config),
        fallback_providers=list(row.fallback_providers),
        created_at=row.created_at,
        updated_at=row.updated_at,
        credential=credential,
    )


def configure_provider(
    conn: Connection,
    name: str,
    changes: Mapping[str, Any],
    *,
    secret: Secret | None = None,
    keyring: KeyRing | None = None,
) -> ProviderConfig:
    """Upsert the provider row with `changes` (a subset of CONFIG_COLUMNS) and store `secret`.

    Runs in the caller's transaction; the row stays locked until it commits.
    """
    unknown = set(changes) - set(CONFIG_COLUMNS)
    if unknown:
        raise ValueError(f"not provider settings: {sorted(unknown)}")
    name = normalise_provider_name(name)
    columns = [c for c in CONFIG_COLUMNS if c in changes]
    params: dict[str, Any] = {"name": name, "type": provider_type_for(name)}
    values = []
    for column in columns:
        value = changes[column]
        if column in _JSON_COLUMNS:
            params[column] = json.dumps(value if value is not None else {})
            values.append(f"CAST(:{column} AS jsonb)")
        else:
            params[column] = list(value or []) if column == "fallback_providers" else value
            values.append(f":{column}")
    insert_columns = ", ".join(["name", "type", *columns])
    insert_values = ", ".join([":name", "CAST(:type AS provider_type)", *values])
    # ON CONFLICT must update something for RETURNING to see the row; name = name is a no-op.
    updates = ", ".join([f"{c} = EXCLUDED.{c}" for c in columns] or ["name = EXCLUDED.name"])
    conn.execute(
        text(
            f"INSERT INTO platform_ai_providers ({insert_columns}) VALUES ({insert_values}) "
            f"ON CONFLICT (name) DO UPDATE SET {updates}"
        ),
        params,
    )
    if secret is not None:
        set_credential(conn, name, secret, keyring=keyring)
    config = read_provider(conn, name)
    assert config is not None
    return config


__all__ = ["CONFIG_COLUMNS", "ProviderConfig", "configure_provider", "read_provider"]
