"""Encryption at rest for provider credentials: Secret, fingerprint() and the KeyRing.

MINERVA_SECRET_KEYS holds comma-separated Fernet keys, newest first. The KeyRing encrypts
with the newest and decrypts with any (cryptography's MultiFernet), so a new key is rolled
out by putting it first, running `minerva credentials rotate`, then dropping the old one.

With no keys configured, development and test generate one key into MINERVA_HOME/secret.key
(mode 0600, directory 0700) and reuse it on later runs; production refuses to start.

Nothing here logs, formats or raises with a secret or a key in it: keys and secrets are
named by their fingerprint only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from minerva_core.errors import DecryptionError, InvalidSecretKeyError, NoSecretKeysError
from minerva_core.settings import Settings

log = logging.getLogger(__name__)

KEY_FILE_NAME = "secret.key"
_DEVELOPMENT_ENVS = frozenset({"development", "test"})


def fingerprint(value: str | bytes | Secret) -> str:
    """A stable, non-reversible id for a secret or key: "fp_" + 16 hex digits of its sha256."""
    if isinstance(value, Secret):
        value = value.reveal()
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return "fp_" + hashlib.sha256(data).hexdigest()[:16]


class Secret:
    """A secret string that never shows itself in repr(), str(), f-strings or logs.

    Call reveal() at the one place that needs the plaintext (the upstream request header).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def fingerprint(self) -> str:
        return fingerprint(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.fingerprint})"

    def __str__(self) -> str:
        return "**********"

    def __format__(self, spec: str) -> str:
        return str(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode("utf-8"), other._value.encode("utf-8"))

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):  # pickling would write the plaintext somewhere
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class Encrypted:
    """A ciphertext (Fernet token bytes) and the fingerprint of the key that made it."""

    ciphertext: bytes
    key_version: str

    def __repr__(self) -> str:
        return f"Encrypted(key_version={self.key_version!r}, {len(self.ciphertext)} bytes)"


class KeyRing:
    """Fernet keys, newest first: encrypt with the newest, decrypt with any."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise NoSecretKeysError("a KeyRing needs at least one Fernet key")
        fernets: list[Fernet] = []
        versions: list[str] = []
        for position, key in enumerate(keys, start=1):
            raw = key.encode("ascii", "replace") if isinstance(key, str) else bytes(key)
            try:
                fernets.append(Fernet(raw))
            except (ValueError, TypeError):
                # The message names the position, never the value.
                raise InvalidSecretKeyError(
                    f"secret key #{position} is not a Fernet key (32 url-safe base64-encoded bytes); "
                    "make one with `minerva credentials generate-key`"
                ) from None
            versions.append(fingerprint(raw))
        self._fernets = tuple(fernets)
        self._multi = MultiFernet(fernets)
        self.versions: tuple[str, ...] = tuple(versions)

    @property
    def current_version(self) -> str:
        """Fingerprint of the newest key, the one every encryption uses."""
        return self.versions[0]

    def encrypt(self, secret: Secret | str) -> Encrypted:
        plaintext = secret.reveal() if isinstance(secret, Secret) else secret
        token = self._fernets[0].encrypt(plaintext.encode("utf-8"))
        return Encrypted(token, self.current_version)

    def decrypt(self, ciphertext: bytes) -> Secret:
        try:
            plaintext = self._multi.decrypt(bytes(ciphertext))
        except InvalidToken:
            raise DecryptionError(self._unreadable()) from None
        return Secret(plaintext.decode("utf-8"))

    def rotate(self, ciphertext: bytes) -> Encrypted:
        """Re-encrypt under the newest key (whichever key made it); the plaintext stays unseen."""
        try:
            token = self._multi.rotate(bytes(ciphertext))
        except InvalidToken:
            raise DecryptionError(self._unreadable()) from None
        return Encrypted(token, self.current_version)

    def key_version_of(self, ciphertext: bytes) -> str | None:
        """Fingerprint of the configured key that decrypts this ciphertext, or None."""
        for version, fernet in zip(self.versions, self._fernets):
            try:
                fernet.decrypt(bytes(ciphertext))
            except InvalidToken:
                continue
            return version
        return None

    def _unreadable(self) -> str:
        return (
            "ciphertext cannot be decrypted with any configured key "
            f"({', '.join(self.versions)}); was its key removed from MINERVA_SECRET_KEYS?"
        )

    def __repr__(self) -> str:
        return f"KeyRing(versions={list(self.versions)!r})"


def generate_key() -> str:
    """A new random Fernet key (url-safe base64 text)."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(value: str) -> list[str]:
    """MINERVA_SECRET_KEYS: comma-separated, newest first; blanks around entries ignored."""
    return [part.strip() for part in value.split(",") if part.strip()]


def load_keyring(settings: Settings) -> KeyRing:
    """The KeyRing for these settings (see the module docstring for the rules)."""
    configured = settings.secret_keys.get_secret_value() if settings.secret_keys else ""
    keys = parse_keys(configured)
    if keys:
        return KeyRing(keys)
    if settings.env not in _DEVELOPMENT_ENVS:
        raise NoSecretKeysError(
            f"MINERVA_SECRET_KEYS is not set and MINERVA_ENV is {settings.env!r}: credentials cannot "
            "be encrypted. Set MINERVA_SECRET_KEYS to one or more Fernet keys, newest first "
            "(make one with `minerva credentials generate-key`)."
        )
    path = settings.home / KEY_FILE_NAME
    key = development_key(settings.home)
    try:
        return KeyRing([key])
    except InvalidSecretKeyError:
        raise InvalidSecretKeyError(
            f"{path} does not hold a Fernet key; delete it to have a new one generated "
            "(credentials encrypted with it are then lost) or set MINERVA_SECRET_KEYS"
        ) from None


def development_key(home: Path) -> str:
    """The key in home/secret.key, generated (0600, in a 0700 directory) when missing."""
    path = home / KEY_FILE_NAME
    if not home.exists():
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(home, 0o700)
    created = _create_key_file(path)
    key = path.read_text(encoding="ascii").strip()
    _warn_if_exposed(path)
    log.warning(
        "MINERVA_SECRET_KEYS is not set: %s the development key %s (%s). "
        "Set MINERVA_SECRET_KEYS for production.",
        "generated" if created else "using",
        path,
        fingerprint(key),
    )
    return key


def _create_key_file(path: Path) -> bool:
    """Write a fresh key to path unless it exists; return whether this call created it.

    The key is written to a private temporary file first and then hard-linked into place,
    so a concurrent process sees either no file or the whole key, and only one key wins.
    """
    if path.exists():
        return False
    fd, tmp_name = tempfile.mkstemp(prefix=".secret-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(generate_key() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o600)
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp_name)


def _warn_if_exposed(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s is readable by other users (mode %o); run: chmod 600 %s", path, mode, path)
