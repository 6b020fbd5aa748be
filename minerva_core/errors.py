"""Every error Minerva raises on purpose, in one tree.

    MinervaError
    ├── ConfigError                 a bad setting; the message names the variable
    ├── DatabaseError
    │   ├── EmbeddedDatabaseError   pgserver could not start or stop
    │   └── MigrationError
    │       └── MigrationChecksumError   an applied migration file was edited
    ├── CredentialError
    │   ├── NoSecretKeysError       no MINERVA_SECRET_KEYS and not in development
    │   └── DecryptionError         ciphertext unreadable with every configured key
    ├── UpstreamError               an upstream (OpenRouter or OpenAI-compatible) failed
    │   ├── UpstreamTimeout             (retryable)
    │   ├── UpstreamConnectionError     (retryable)
    │   ├── UpstreamProtocolError       2xx with a body that breaks the protocol (retryable)
    │   └── UpstreamStatusError     carries status, error type, retry_after
    │       ├── BadRequest (400) · AuthenticationError (401) · InsufficientCredits (402)
    │       ├── PermissionDenied (403) · NotFound (404) · RequestTimeout (408)
    │       ├── ContextLengthExceeded (400, context type) · RateLimited (429)
    │       └── ServerError (5xx)
    ├── CatalogError                a catalog record cannot be normalised
    └── PricingError
        └── MissingPriceError       a price needed for a cost is absent; never defaulted

Foreign exceptions (httpx, psycopg, pgserver) are mapped to these at the boundary, by type
and status, never by message text.
"""

from __future__ import annotations


class MinervaError(Exception):
    """Base of every error Minerva raises on purpose."""


class ConfigError(MinervaError):
    pass


class DatabaseError(MinervaError):
    pass


class EmbeddedDatabaseError(DatabaseError):
    pass


class MigrationError(DatabaseError):
    pass


class MigrationChecksumError(MigrationError):
    pass


class CredentialError(MinervaError):
    pass


class NoSecretKeysError(CredentialError):
    pass


class DecryptionError(CredentialError):
    pass


class CatalogError(MinervaError):
    pass


class PricingError(MinervaError):
    pass


class MissingPriceError(PricingError):
    pass


class UpstreamError(MinervaError):
    """An upstream (OpenRouter or an OpenAI-compatible API) failed to answer usefully."""

    retryable: bool = False

    def __init__(self, message: str, *, provider: str | None = None, model: str | None = None):
        super().__init__(message)
        self.provider = provider
        self.model = model


class UpstreamTimeout(UpstreamError):
    retryable = True


class UpstreamConnectionError(UpstreamError):
    retryable = True


class UpstreamProtocolError(UpstreamError):
    """The upstream answered 2xx with a body that is not what the protocol promises."""

    retryable = True


class UpstreamStatusError(UpstreamError):
    status_code: int = 0

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_type: str | None = None,
        retry_after: float | None = None,
        body: object = None,
        provider: str | None = None,
        model: str | None = None,
    ):
        super().__init__(message, provider=provider, model=model)
        self.status_code = status_code
        self.error_type = error_type
        self.retry_after = retry_after
        self.body = body


class BadRequest(UpstreamStatusError):
    pass


class ContextLengthExceeded(BadRequest):
    pass


class AuthenticationError(UpstreamStatusError):
    pass


class InsufficientCredits(UpstreamStatusError):
    pass


class PermissionDenied(UpstreamStatusError):
    pass


class NotFound(UpstreamStatusError):
    pass


class RequestTimeout(UpstreamStatusError):
    retryable = True


class RateLimited(UpstreamStatusError):
    retryable = True


class ServerError(UpstreamStatusError):
    retryable = True
