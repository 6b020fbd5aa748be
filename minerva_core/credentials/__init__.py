"""Provider credentials, encrypted at rest.

keyring: Secret, fingerprint(), the Fernet KeyRing and where its keys come from (pure).
store:   set/get/list/rotate rows of platform_ai_credentials over SQLAlchemy Core.
"""

from minerva_core.credentials.keyring import (
    Encrypted,
    KeyRing,
    Secret,
    fingerprint,
    generate_key,
    load_keyring,
)
from minerva_core.credentials.store import (
    CredentialInfo,
    get_credential,
    list_credentials,
    provider_type_for,
    rotate_all,
    set_credential,
)

__all__ = [
    "CredentialInfo",
    "Encrypted",
    "KeyRing",
    "Secret",
    "fingerprint",
    "generate_key",
    "get_credential",
    "list_credentials",
    "load_keyring",
    "provider_type_for",
    "rotate_all",
    "set_credential",
]
