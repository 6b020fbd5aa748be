"""Provider credentials in PostgreSQL (platform_ai_credentials), over SQLAlchemy Core.

Only ciphertext, the encrypting key's fingerprint (key_version) and the secret's fingerprint
are stored. Each provider has at most one active credential (revoked_at IS NULL); setting a
new one revokes the previous one in the same transaction.

Functions take a Connection and work inside the caller's transaction (set/get/list), except
rotate_all, which makes sure its work is one transaction of its own or a savepoint of the
caller's: either every row is re-encrypted or none is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from minerva_core.credentials.keyring import KeyRing, Secret, fingerprint, load_keyring
from minerva_core.errors import CredentialError, CredentialNotFoundError, DecryptionError
from minerva_core.settings import load_settings

log = logging.getLogger(__name__)

# Provider names with a type of their own; any other name is a 'custom' (OpenAI-compatible) one.
KNOWN_PROVIDER_TYPES = {
    "openrouter": "openrouter",
    "openai": "openai",
    "google": "google",
    "anthropic": "anthropic",
}
_PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class CredentialInfo:
    """What may be shown about a credential: never the secret, never the ciphertext."""

    provider: str
    provider_type: str
    fingerprint: str
    key_version: str
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def normalise_provider_name(provider: str) -> str:
    name = provider.strip().lower()
    if not _PROVIDER_NAME.match(name):
        raise CredentialError(
            f"invalid provider name {provider!r}: use lower-case letters, digits, '.', '_' or '-' "
            "(at most 63 characters), e.g. openrouter"
        )
    return name


def provider_type_for(name: str) -> str:
    return KNOWN_PROVIDER_TYPES.get(name, "custom")


def set_credential(
    conn: Connection, provider: str, secret: Secret | str, *, keyring: KeyRing | None = None
) -> CredentialInfo:
    """Store `secret` as the active credential of `provider`, creating the provider if needed.

    The previous active credential is revoked. Runs in the caller's transaction.
    """
    if not isinstance(secret, Secret):
        secret = Secret(secret)
    if not secret.reveal().strip():
        raise CredentialError("refusing to store an empty secret")
    keyring = keyring or default_keyring()
    name = normalise_provider_name(provider)
    provider_id = _lock_provider(conn, name)
    conn.execute(
        text(
            "UPDATE platform_ai_credentials SET revoked_at = now() "
            "WHERE provider_id = :pid AND revoked_at IS NULL"
        ),
        {"pid": provider_id},
    )
    encrypted = keyring.encrypt(secret)
    conn.execute(
        text(
            "INSERT INTO platform_ai_credentials (provider_id, ciphertext, key_version, fingerprint) "
            "VALUES (:pid, :ct, :kv, :fp)"
        ),
        {
            "pid": provider_id,
            "ct": encrypted.ciphertext,
            "kv": encrypted.key_version,
            "fp": secret.fingerprint,
        },
    )
    log.info("stored credential %s for provider %s", secret.fingerprint, name)
    info = _active_info(conn, name)
    assert info is not None
    return info


def get_credential(conn: Connection, provider: str, *, keyring: KeyRing | None = None) -> Secret:
    """The active credential of `provider`, decrypted."""
    name = normalise_provider_name(provider)
    row = conn.execute(
        text(
            "SELECT c.id, c.ciphertext, c.fingerprint FROM platform_ai_credentials c "
            "JOIN platform_ai_providers p ON p.id = c.provider_id "
            "WHERE p.name = :name AND c.revoked_at IS NULL"
        ),
        {"name": name},
    ).one_or_none()
    if row is None:
        raise CredentialNotFoundError(
            f"no credential for provider {name!r}; store one with `minerva credentials set {name}`"
        )
    keyring = keyring or default_keyring()
    try:
        secret = keyring.decrypt(row.ciphertext)
    except DecryptionError as exc:
        raise DecryptionError(f"credential of provider {name!r} (#{row.id}): {exc}") from None
    if secret.fingerprint != row.fingerprint:
        raise DecryptionError(
            f"credential of provider {name!r} (#{row.id}) decrypts to a secret whose fingerprint "
            f"is not the stored {row.fingerprint}"
        )
    return secret


def list_credentials(conn: Connection, *, include_revoked: bool = False) -> list[CredentialInfo]:
    """Credentials by provider name, newest first; fingerprints only."""
    where = "" if include_revoked else "WHERE c.revoked_at IS NULL"
    rows = conn.execute(
        text(_INFO_SELECT + where + " ORDER BY p.name, c.created_at DESC, c.id DESC")
    )
    return [_info(row) for row in rows]


def rotate_all(conn: Connection, keyring: KeyRing) -> int:
    """Re-encrypt every credential row (revoked ones too) under the keyring's newest key.

    All rows or none: one transaction (a savepoint when the caller already has one open).
    A row no configured key can read raises DecryptionError and nothing is changed.
    Returns the number of rows re-encrypted.
    """
    with _atomic(conn):
        rows = conn.execute(
            text(
                "SELECT c.id, c.ciphertext, p.name FROM platform_ai_credentials c "
                "JOIN platform_ai_providers p ON p.id = c.provider_id "
                "ORDER BY c.id FOR UPDATE OF c"
            )
        ).all()
        for row in rows:
            try:
                encrypted = keyring.rotate(row.ciphertext)
            except DecryptionError as exc:
                raise DecryptionError(
                    f"credential #{row.id} of provider {row.name!r}: {exc}; nothing was rotated"
                ) from None
            conn.execute(
                text(
                    "UPDATE platform_ai_credentials "
                    "SET ciphertext = :ct, key_version = :kv, rotated_at = now() WHERE id = :id"
                ),
                {"ct": encrypted.ciphertext, "kv": encrypted.key_version, "id": row.id},
            )
    log.info("re-encrypted %d credential(s) under key %s", len(rows), keyring.current_version)
    return len(rows)


def default_keyring() -> KeyRing:
    """The KeyRing of the process settings (environment)."""
    return load_keyring(load_settings())


_INFO_SELECT = (
    "SELECT p.name AS provider, p.type::text AS provider_type, c.fingerprint, c.key_version, "
    "c.created_at, c.rotated_at, c.revoked_at FROM platform_ai_credentials c "
    "JOIN platform_ai_providers p ON p.id = c.provider_id "
)


def _info(row) -> CredentialInfo:
    return CredentialInfo(
        provider=row.provider,
        provider_type=row.provider_type,
        fingerprint=row.fingerprint,
        key_version=row.key_version,
        created_at=row.created_at,
        rotated_at=row.rotated_at,
        revoked_at=row.revoked_at,
    )


def _active_info(conn: Connection, name: str) -> CredentialInfo | None:
    row = conn.execute(
        text(_INFO_SELECT + "WHERE p.name = :name AND c.revoked_at IS NULL"), {"name": name}
    ).one_or_none()
    return None if row is None else _info(row)


def _lock_provider(conn: Connection, name: str) -> int:
    """The provider's id, inserting the provider if missing; the row stays locked until commit,
    so two concurrent set_credential calls for one provider run one after the other."""
    conn.execute(
        text(
            "INSERT INTO platform_ai_providers (name, type) "
            "VALUES (:name, CAST(:type AS provider_type)) ON CONFLICT (name) DO NOTHING"
        ),
        {"name": name, "type": provider_type_for(name)},
    )
    return conn.execute(
        text("SELECT id FROM platform_ai_providers WHERE name = :name FOR UPDATE"), {"name": name}
    ).scalar_one()


@contextmanager
def _atomic(conn: Connection) -> Iterator[None]:
    if conn.in_transaction():
        with conn.begin_nested():
            yield
    else:
        with conn.begin():
            yield


__all__ = [
    "KNOWN_PROVIDER_TYPES",
    "CredentialInfo",
    "fingerprint",
    "get_credential",
    "list_credentials",
    "normalise_provider_name",
    "provider_type_for",
    "rotate_all",
    "set_credential",
]
