"""`minerva credentials set PROVIDER | rotate | list | generate-key`.

`set` reads the secret from standard input (a hidden prompt on a terminal), never echoes
it and prints only its fingerprint. Key rotation: put a new key first in
MINERVA_SECRET_KEYS, run `minerva credentials rotate`, then remove the old key.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from minerva_core.cli._common import console, err_console, reported_errors, settings_or_exit
from minerva_core.credentials import keyring as keyring_mod
from minerva_core.credentials import store
from minerva_core.db import get_engine, migrate
from minerva_core.errors import CredentialError, DatabaseError
from minerva_core.settings import Settings

credentials_app = typer.Typer(
    help="Provider credentials, encrypted at rest with MINERVA_SECRET_KEYS.",
    no_args_is_help=True,
)


@credentials_app.command("set")
def set_(
    provider: str = typer.Argument(
        ..., help="openrouter, openai, google, anthropic or a custom name"
    ),
) -> None:
    """Store PROVIDER's secret, read from standard input; prints its fingerprint only."""
    settings = settings_or_exit()
    secret = _read_secret(provider)
    with reported_errors():
        keyring = keyring_mod.load_keyring(settings)
        with _engine(settings) as engine, engine.begin() as conn:
            info = store.set_credential(conn, provider, secret, keyring=keyring)
    console.print(
        f"stored credential for {info.provider} ({info.provider_type}): {info.fingerprint}",
        soft_wrap=True,
    )


@credentials_app.command()
def rotate() -> None:
    """Re-encrypt every stored credential under the newest key in MINERVA_SECRET_KEYS."""
    settings = settings_or_exit()
    with reported_errors():
        keyring = keyring_mod.load_keyring(settings)
        with _engine(settings) as engine, engine.connect() as conn:
            count = store.rotate_all(conn, keyring)
    console.print(
        f"re-encrypted {count} credential(s) under key {keyring.current_version}", soft_wrap=True
    )


@credentials_app.command("list")
def list_(
    all_: bool = typer.Option(False, "--all", help="include revoked (replaced) credentials"),
) -> None:
    """Show stored credentials by fingerprint (never the secrets)."""
    settings = settings_or_exit()
    with reported_errors():
        current = _current_key_version(settings)
        with _engine(settings) as engine, engine.connect() as conn:
            infos = store.list_credentials(conn, include_revoked=all_)
    if not infos:
        console.print("no credentials stored")
        return
    for info in infos:
        key_note = (
            "" if current is None or info.key_version == current else " (old key: run rotate)"
        )
        state = "active" if info.active else f"revoked {info.revoked_at:%Y-%m-%d %H:%M}"
        console.print(
            f"{info.provider:<16} {info.provider_type:<10} {info.fingerprint}  "
            f"key {info.key_version}{key_note}  {state}  created {info.created_at:%Y-%m-%d %H:%M}",
            soft_wrap=True,
        )


@credentials_app.command("generate-key")
def generate_key() -> None:
    """Print a new Fernet key, to put first in MINERVA_SECRET_KEYS."""
    print(keyring_mod.generate_key())


def register(app: typer.Typer) -> None:
    app.add_typer(credentials_app, name="credentials")


def _read_secret(provider: str) -> str:
    if sys.stdin is None:
        _fail("no standard input to read the secret from")
    if sys.stdin.isatty():
        value = getpass.getpass(f"secret for {provider} (input hidden): ", stream=sys.stderr)
    else:
        value = sys.stdin.read()
    value = value.rstrip("\r\n")
    if not value.strip():
        _fail(
            "no secret on standard input; pipe it in, e.g. "
            "`printenv OPENROUTER_API_KEY | minerva credentials set openrouter`"
        )
    if "\n" in value or "\r" in value:
        _fail("the secret must be a single line")
    return value


def _fail(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=2)


def _current_key_version(settings: Settings) -> str | None:
    """The newest key's fingerprint, or None when no key can be loaded (list still works)."""
    try:
        return keyring_mod.load_keyring(settings).current_version
    except CredentialError:  # listing shows fingerprints only: it needs no key
        return None


@contextmanager
def _engine(settings: Settings) -> Iterator[Engine]:
    """An engine on an up-to-date schema; database failures become DatabaseError."""
    engine = get_engine(settings)
    try:
        if migrate.pending(engine):
            raise DatabaseError("the database schema is not up to date: run `minerva db upgrade`")
        yield engine
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        raise DatabaseError(f"database error: {first}") from None
    finally:
        engine.dispose()
