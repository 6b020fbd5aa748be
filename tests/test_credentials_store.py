"""Credentials in real PostgreSQL, and the `minerva credentials` commands.

These tests use a database of their own (not the session's db_engine): rotate_all
re-encrypts every row of platform_ai_credentials, which must not meet rows that other
tests encrypted with other keys.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import typer
from sqlalchemy import Engine, create_engine, text
from typer.testing import CliRunner

from minerva_core.cli import credentials_cmd
from minerva_core.credentials import (
    KeyRing,
    Secret,
    fingerprint,
    generate_key,
    get_credential,
    list_credentials,
    rotate_all,
    set_credential,
)
from minerva_core.db import migrate
from minerva_core.errors import CredentialError, CredentialNotFoundError, DecryptionError
from tests.support.database import scratch_database

SECRET = "sk-or-v1-5ecret-never-to-be-seen-0123456789"


@pytest.fixture(scope="module")
def creds_db_url() -> Iterator[str]:
    with scratch_database("minerva_creds") as url:
        engine = create_engine(url)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        yield url


@pytest.fixture()
def engine(creds_db_url: str) -> Iterator[Engine]:
    eng = create_engine(creds_db_url)
    with eng.begin() as conn:
        conn.execute(
            text("TRUNCATE platform_ai_credentials, platform_ai_providers RESTART IDENTITY CASCADE")
        )
    yield eng
    eng.dispose()


def _rows(engine: Engine):
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT p.name, p.type::text AS type, c.ciphertext, c.key_version, c.fingerprint, "
                "c.revoked_at, c.rotated_at FROM platform_ai_credentials c "
                "JOIN platform_ai_providers p ON p.id = c.provider_id ORDER BY c.id"
            )
        ).all()


def test_set_then_get_stores_only_ciphertext(engine):
    ring = KeyRing([generate_key()])
    with engine.begin() as conn:
        info = set_credential(conn, "openrouter", SECRET, keyring=ring)
    assert info.provider == "openrouter" and info.provider_type == "openrouter"
    assert info.fingerprint == fingerprint(SECRET) and info.key_version == ring.current_version
    assert SECRET not in repr(info)

    (row,) = _rows(engine)
    assert row.type == "openrouter"
    assert SECRET.encode() not in bytes(row.ciphertext)
    assert row.fingerprint == fingerprint(SECRET)

    with engine.connect() as conn:
        secret = get_credential(conn, "openrouter", keyring=ring)
    assert isinstance(secret, Secret) and secret.reveal() == SECRET


@pytest.mark.parametrize(
    ("name", "expected_type"),
    [
        ("openai", "openai"),
        ("google", "google"),
        ("anthropic", "anthropic"),
        ("OpenRouter", "openrouter"),
        ("my-azure", "custom"),
    ],
)
def test_provider_rows_are_created_with_their_type(engine, name, expected_type):
    with engine.begin() as conn:
        info = set_credential(conn, name, SECRET, keyring=KeyRing([generate_key()]))
    assert info.provider == name.lower() and info.provider_type == expected_type


def test_setting_again_revokes_the_previous_credential(engine):
    ring = KeyRing([generate_key()])
    with engine.begin() as conn:
        set_credential(conn, "openai", "first-secret", keyring=ring)
    with engine.begin() as conn:
        set_credential(conn, "openai", "second-secret", keyring=ring)
    rows = _rows(engine)
    assert [r.revoked_at is None for r in rows] == [False, True]
    with engine.connect() as conn:
        assert get_credential(conn, "openai", keyring=ring).reveal() == "second-secret"
        active = list_credentials(conn)
        everything = list_credentials(conn, include_revoked=True)
    assert [(i.provider, i.fingerprint) for i in active] == [
        ("openai", fingerprint("second-secret"))
    ]
    assert len(everything) == 2 and everything[0].active and not everything[1].active


def test_missing_credential_and_bad_input_are_refused(engine):
    ring = KeyRing([generate_key()])
    with engine.connect() as conn, pytest.raises(CredentialNotFoundError):
        get_credential(conn, "anthropic", keyring=ring)
    with engine.begin() as conn:
        with pytest.raises(CredentialError):
            set_credential(conn, "openai", "   ", keyring=ring)
        with pytest.raises(CredentialError):
            set_credential(conn, "bad name!", SECRET, keyring=ring)


def test_rotation_across_keys(engine):
    old, new = generate_key(), generate_key()
    with engine.begin() as conn:
        set_credential(conn, "openrouter", SECRET, keyring=KeyRing([old]))
        set_credential(conn, "openai", "sk-openai-secret", keyring=KeyRing([old]))
        set_credential(conn, "openai", "sk-openai-newer", keyring=KeyRing([old]))  # one revoked row

    both = KeyRing([new, old])
    with engine.connect() as conn:  # the old key, second in the list, still decrypts
        assert get_credential(conn, "openrouter", keyring=both).reveal() == SECRET

    with engine.connect() as conn:
        assert rotate_all(conn, both) == 3
    rows = _rows(engine)
    assert {r.key_version for r in rows} == {fingerprint(new)}
    assert all(r.rotated_at is not None for r in rows)

    with engine.connect() as conn:
        assert get_credential(conn, "openrouter", keyring=KeyRing([new])).reveal() == SECRET
        assert get_credential(conn, "openai", keyring=KeyRing([new])).reveal() == "sk-openai-newer"
        with pytest.raises(DecryptionError):
            get_credential(conn, "openrouter", keyring=KeyRing([old]))


def test_rotation_is_all_or_nothing(engine):
    known, stranger = generate_key(), generate_key()
    with engine.begin() as conn:
        set_credential(conn, "openrouter", SECRET, keyring=KeyRing([known]))
        set_credential(conn, "zz-custom", "sk-other", keyring=KeyRing([stranger]))
    before = _rows(engine)

    with engine.connect() as conn, pytest.raises(DecryptionError) as info:
        rotate_all(conn, KeyRing([generate_key(), known]))
    assert "zz-custom" in str(info.value)
    after = _rows(engine)
    assert [(bytes(r.ciphertext), r.key_version, r.rotated_at) for r in after] == [
        (bytes(r.ciphertext), r.key_version, r.rotated_at) for r in before
    ]


def test_rotate_inside_callers_transaction_uses_a_savepoint(engine):
    key, newer = generate_key(), generate_key()
    with engine.begin() as conn:
        set_credential(conn, "openrouter", SECRET, keyring=KeyRing([key]))
    with engine.connect() as conn:
        conn.begin()
        assert rotate_all(conn, KeyRing([newer, key])) == 1
        conn.rollback()
    assert _rows(engine)[0].key_version == fingerprint(key)


# --- the command line -------------------------------------------------------------------


@pytest.fixture()
def cli(creds_db_url, engine, monkeypatch):
    """A tiny app holding only the credentials commands, on this module's database."""
    monkeypatch.setenv("MINERVA_DATABASE_URL", creds_db_url)
    monkeypatch.setenv("MINERVA_ENV", "production")
    monkeypatch.delenv("MINERVA_SECRET_KEYS", raising=False)
    app = typer.Typer()
    credentials_cmd.register(app)
    app.command("noop", hidden=True)(lambda: None)  # keep `credentials` a sub-command group
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, ["credentials", *args], input=input)

    return run


def test_cli_set_list_rotate(cli, engine, monkeypatch):
    old, new = generate_key(), generate_key()
    monkeypatch.setenv("MINERVA_SECRET_KEYS", old)

    result = cli("set", "openrouter", input=SECRET + "\n")
    assert result.exit_code == 0, result.output
    assert fingerprint(SECRET) in result.stdout
    assert SECRET not in result.output

    listed = cli("list")
    assert listed.exit_code == 0, listed.output
    assert "openrouter" in listed.stdout and fingerprint(SECRET) in listed.stdout
    assert "old key" not in listed.stdout

    monkeypatch.setenv("MINERVA_SECRET_KEYS", f"{new},{old}")
    assert "old key" in cli("list").stdout
    rotated = cli("rotate")
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted 1 credential" in rotated.stdout
    with engine.connect() as conn:
        assert get_credential(conn, "openrouter", keyring=KeyRing([new])).reveal() == SECRET


def test_cli_refuses_empty_secret_and_missing_keys(cli, engine, monkeypatch):
    monkeypatch.setenv("MINERVA_SECRET_KEYS", generate_key())
    for empty in ("", "\n", "  \n"):
        result = cli("set", "openrouter", input=empty)
        assert result.exit_code == 2
        assert "no secret" in result.output
    two_lines = cli("set", "openrouter", input="abc\ndef\n")
    assert two_lines.exit_code == 2 and "single line" in two_lines.output
    assert _rows(engine) == []

    monkeypatch.delenv("MINERVA_SECRET_KEYS")
    refused = cli("set", "openrouter", input=SECRET + "\n")
    assert refused.exit_code == 1
    assert "MINERVA_SECRET_KEYS" in refused.output and SECRET not in refused.output
    assert _rows(engine) == []


def test_cli_generate_key_prints_a_fernet_key(cli):
    result = cli("generate-key")
    assert result.exit_code == 0
    KeyRing([result.stdout.strip()])


def test_no_secret_reaches_logs_or_output(cli, engine, monkeypatch, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy then logs every statement and its parameters.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    old, new = generate_key(), generate_key()
    monkeypatch.setenv("MINERVA_SECRET_KEYS", old)
    outputs = []

    with engine.begin() as conn:
        info = set_credential(conn, "anthropic", SECRET, keyring=KeyRing([old]))
    with engine.connect() as conn:
        secret = get_credential(conn, "anthropic", keyring=KeyRing([old]))
        outputs += [
            repr(secret),
            str(secret),
            f"{secret}",
            repr(info),
            repr(list_credentials(conn)),
        ]
    with engine.connect() as conn:
        rotate_all(conn, KeyRing([new, old]))

    monkeypatch.setenv("MINERVA_SECRET_KEYS", f"{new},{old}")
    for args, stdin in (
        (("set", "openai"), SECRET + "\n"),
        (("list", "--all"), None),
        (("rotate",), None),
    ):
        result = cli(*args, input=stdin)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)

    captured = capsys.readouterr()
    everything = "\n".join([caplog.text, captured.out, captured.err, *outputs])
    logged_sql = [r for r in caplog.records if r.name.startswith("sqlalchemy.engine")]
    assert any("platform_ai_credentials" in r.getMessage() for r in logged_sql)
    assert SECRET not in everything
    for key in (old, new):
        assert key not in everything
