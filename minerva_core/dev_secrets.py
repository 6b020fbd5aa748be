"""Development conveniences for `minerva up`: a virtual key and an admin token kept in
MINERVA_HOME (files mode 0600) so the quick start can print a working request every time.

Production sets MINERVA_ADMIN_TOKEN and creates keys with `minerva keys create`; there the
plaintext of a key is shown once and never stored.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import Connection, text

from minerva_core.virtual_keys import create_key, hash_key


def _write_private(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")


def admin_token(home: Path) -> str:
    path = home / "admin-token"
    if path.exists():
        return path.read_text().strip()
    token = "adm-" + secrets.token_urlsafe(24)
    _write_private(path, token)
    return token


def development_key(conn: Connection, home: Path) -> tuple[str, bool]:
    """The development key (created on first run, or again if the database lost it)."""
    path = home / "dev-key"
    if path.exists():
        key = path.read_text().strip()
        alive = conn.execute(
            text("SELECT 1 FROM api_keys WHERE key_hash = :h AND revoked_at IS NULL"), {"h": hash_key(key)}
        ).first()
        if alive:
            return key, False
    created = create_key(conn, name="development", created_by="minerva up", app="development")
    _write_private(path, created.key)
    return created.key, True
