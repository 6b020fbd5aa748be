"""The pure half of credentials: Secret, fingerprint(), KeyRing and where keys come from."""

from __future__ import annotations

import logging
import pickle
import stat

import pytest
from cryptography.fernet import Fernet

from minerva_core.credentials.keyring import (
    KEY_FILE_NAME,
    KeyRing,
    Secret,
    fingerprint,
    generate_key,
    load_keyring,
    parse_keys,
)
from minerva_core.errors import DecryptionError, InvalidSecretKeyError, NoSecretKeysError
from minerva_core.settings import load_settings

PLAINTEXT = "sk-or-v1-0123456789abcdef-THE-SECRET"


def _settings(tmp_path, **env):
    environ = {"MINERVA_HOME": str(tmp_path / "home"), **env}
    return load_settings(environ)


# --- fingerprint and Secret -------------------------------------------------------------


def test_fingerprint_is_stable_short_and_not_the_secret():
    fp = fingerprint(PLAINTEXT)
    assert (
        fp
        == fingerprint(PLAINTEXT)
        == fingerprint(PLAINTEXT.encode())
        == fingerprint(Secret(PLAINTEXT))
    )
    assert fp.startswith("fp_") and len(fp) == 19
    int(fp[3:], 16)
    assert fp != fingerprint(PLAINTEXT + "x")
    assert PLAINTEXT not in fp


def test_secret_never_shows_itself():
    secret = Secret(PLAINTEXT)
    shown = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        "{}".format(secret),  # noqa: UP032
        "%s" % (secret,),  # noqa: UP031
        repr([secret]),
        repr({"key": secret}),
    ]
    for text in shown:
        assert PLAINTEXT not in text
    assert secret.fingerprint in repr(secret)
    assert secret.reveal() == PLAINTEXT


def test_secret_equality_and_refuses_pickle():
    assert Secret(PLAINTEXT) == Secret(PLAINTEXT)
    assert Secret(PLAINTEXT) != Secret("other")
    assert len({Secret(PLAINTEXT), Secret(PLAINTEXT)}) == 1
    with pytest.raises(TypeError):
        pickle.dumps(Secret(PLAINTEXT))
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]


# --- KeyRing ----------------------------------------------------------------------------


def test_encrypt_decrypt_round_trip_names_the_key():
    key = generate_key()
    ring = KeyRing([key])
    encrypted = ring.encrypt(Secret(PLAINTEXT))
    assert encrypted.key_version == fingerprint(key) == ring.current_version
    assert PLAINTEXT.encode() not in encrypted.ciphertext
    assert PLAINTEXT not in repr(encrypted)
    assert ring.decrypt(encrypted.ciphertext) == Secret(PLAINTEXT)


def test_old_key_second_still_decrypts_and_rotate_moves_to_newest():
    old, new = generate_key(), generate_key()
    token = KeyRing([old]).encrypt(PLAINTEXT).ciphertext
    both = KeyRing([new, old])
    assert both.decrypt(token).reveal() == PLAINTEXT
    assert both.key_version_of(token) == fingerprint(old)

    rotated = both.rotate(token)
    assert rotated.key_version == fingerprint(new)
    assert both.key_version_of(rotated.ciphertext) == fingerprint(new)
    assert KeyRing([new]).decrypt(rotated.ciphertext).reveal() == PLAINTEXT
    with pytest.raises(DecryptionError):
        KeyRing([old]).decrypt(rotated.ciphertext)


def test_unknown_key_is_a_decryption_error_without_secret_or_key():
    key, stranger = generate_key(), generate_key()
    token = KeyRing([stranger]).encrypt(PLAINTEXT).ciphertext
    with pytest.raises(DecryptionError) as info:
        KeyRing([key]).decrypt(token)
    assert PLAINTEXT not in str(info.value) and key not in str(info.value)
    assert fingerprint(key) in str(info.value)
    with pytest.raises(DecryptionError):
        KeyRing([key]).rotate(token)
    with pytest.raises(DecryptionError):
        KeyRing([key]).decrypt(b"not a token")


def test_bad_configured_key_is_named_by_position_only():
    good = generate_key()
    with pytest.raises(InvalidSecretKeyError) as info:
        KeyRing([good, "not-a-fernet-key"])
    assert "#2" in str(info.value)
    assert "not-a-fernet-key" not in str(info.value)
    assert good not in repr(KeyRing([good]))


def test_parse_keys_newest_first_ignoring_blanks():
    assert parse_keys(" a , b,,c ,") == ["a", "b", "c"]
    assert parse_keys("") == []


def test_configured_keys_are_used_newest_first(tmp_path):
    new, old = generate_key(), generate_key()
    ring = load_keyring(
        _settings(tmp_path, MINERVA_SECRET_KEYS=f"{new}, {old}", MINERVA_ENV="production")
    )
    assert ring.versions == (fingerprint(new), fingerprint(old))
    assert not (tmp_path / "home" / KEY_FILE_NAME).exists()


# --- where keys come from when none are configured --------------------------------------


@pytest.mark.parametrize("env", ["development", "test"])
def test_development_generates_private_key_file_and_reuses_it(tmp_path, caplog, env):
    settings = _settings(tmp_path, MINERVA_ENV=env)
    caplog.set_level(logging.DEBUG)
    first = load_keyring(settings)

    home = tmp_path / "home"
    key_file = home / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    key = key_file.read_text().strip()
    Fernet(key.encode())  # a real Fernet key
    assert first.current_version == fingerprint(key)
    assert any(
        r.levelno == logging.WARNING and "MINERVA_SECRET_KEYS" in r.getMessage()
        for r in caplog.records
    )
    assert key not in caplog.text

    second = load_keyring(settings)
    assert second.current_version == first.current_version
    token = first.encrypt(PLAINTEXT).ciphertext
    assert second.decrypt(token).reveal() == PLAINTEXT
    assert [p.name for p in home.iterdir()] == [KEY_FILE_NAME]  # no temporary files left


def test_development_key_file_in_existing_home_keeps_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    load_keyring(_settings(tmp_path, MINERVA_ENV="development"))
    assert stat.S_IMODE((home / KEY_FILE_NAME).stat().st_mode) == 0o600


def test_corrupt_development_key_file_is_refused(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / KEY_FILE_NAME).write_text("garbage\n")
    with pytest.raises(InvalidSecretKeyError) as info:
        load_keyring(_settings(tmp_path, MINERVA_ENV="development"))
    assert "garbage" not in str(info.value)


def test_production_without_keys_is_refused(tmp_path):
    for env in (
        {"MINERVA_ENV": "production"},
        {"MINERVA_ENV": "production", "MINERVA_SECRET_KEYS": " , "},
    ):
        with pytest.raises(NoSecretKeysError) as info:
            load_keyring(_settings(tmp_path, **env))
        assert "MINERVA_SECRET_KEYS" in str(info.value)
    assert not (tmp_path / "home").exists()
