"""Every error Minerva raises on purpose, in one tree.

    MinervaError
    ├── ConfigError                 a bad setting; the message names the variable
    ├── DatabaseError
    │   ├── EmbeddedDatabaseError   pgserver could not start or stop
    │   └── MigrationError
    │       └── MigrationChecksumError   an applied migration file was edited
    ├── CredentialError
    │   ├── NoSecretKeysError       no MINERVA_SECRET_KEYS and not in development
    │   ├── InvalidSecretKeyError   an entry of MINERVA_SECRET_KEYS (or the key file) is no Fernet key
    │   ├── DecryptionError         ciphertext unreadable with every configured key
    │   └── CredentialNotFoundError no active credential for that provider
    ├── UpstreamError               an upstream (OpenRouter or OpenAI-compatible) failed
    │   ├── UpstreamTimeout             (retryable)
    │   ├── UpstreamConnectionError     (retryable)
    │   ├── UpstreamProtocolError       2xx with a body that breaks the protocol (retryable)
    │   └── UpstreamStatusError     carries status, error type, retry_after
    │       ├── BadRequest (400) · AuthenticationError (401) · InsufficientCredits (402)
    │       ├── PermissionDenied (403) · NotFound (404) · RequestTimeout (408)
    │       ├── ContextLengthExceeded (400, context type) · RateLimited (429)
    │       └── ServerError (5xx)
    ├── CatalogError                a /models catalog cannot be normalised
    │   ├── CatalogFormatError      the payload is neither {"data": [...]} nor a JSON array
    │   └── CatalogRecordError      one record cannot be normalised; carries index, model_id, field
    │       ├── CatalogPriceError   a required price is absent, or a price is unreadable/negative
    │       └── DuplicateModelError the same id appears twice in one catalog
    ├── PricingError
    │   ├── MissingPriceError       a price needed for a cost is absent; never defaulted
    │   ├── VariablePriceError      the price varies per request ("-1", routers such as openrouter/auto)
    │   ├── InvalidPriceError       a pricing value or override cannot be read
    │   └── InvalidUsageError       a usage record contradicts itself (e.g. cached > prompt tokens)
    └── RoutingError
        ├── NoRouteError            no model meets the request; carries every exclusion reason
        ├── InvalidStrategyError    a strategy's kind, weights or requirement overrides are unusable
        └── RoutingRequestError     a chat request body cannot be read for routing (a 400)

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


class InvalidSecretKeyError(CredentialError):
    pass


class DecryptionError(CredentialError):
    pass


class CredentialNotFoundError(CredentialError):
    pass


class CatalogError(MinervaError):
    pass


class CatalogFormatError(CatalogError):
    pass


class CatalogRecordError(CatalogError):
    """A record of a catalog that cannot be normalised. ``index`` is its position in the
    payload's model list; ``model_id`` is its id when it has one; ``field`` the offending key."""

    def __init__(
        self, message: str, *, index: int, model_id: str | None = None, field: str | None = None
    ) -> None:
        where = f"catalog record #{index}" + (f" ({model_id})" if model_id else "")
        super().__init__(f"{where}: {message}")
        self.index = index
        self.model_id = model_id
        self.field = field


class CatalogPriceError(CatalogRecordError):
    pass


class DuplicateModelError(CatalogRecordError):
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


class VariablePriceError(PricingError):
    """The model's price is "-1": it varies per request, so no cost can be computed from it."""


class InvalidPriceError(PricingError):
    """A price string, discount or override in a pricing record cannot be read."""


class InvalidUsageError(PricingError):
    """A usage record is inconsistent, e.g. more cached or reasoning tokens than their total."""


class RoutingError(MinervaError):
    """The routing engine (``minerva_core.routing``) cannot produce a decision."""


class NoRouteError(RoutingError):
    """No model meets the request. ``reasons`` holds one ``RoutingEntry`` per (model, reason)
    with ``verdict == "excluded"``; ``excluded_counts`` the number of catalog models removed
    per reason code; ``requested_model`` what the client named (None for a strategy)."""

    def __init__(
        self,
        message: str,
        *,
        reasons: tuple = (),
        excluded_counts: tuple = (),
        requested_model: str | None = None,
        strategy: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reasons = tuple(reasons)
        self.excluded_counts = tuple(excluded_counts)
        self.requested_model = requested_model
        self.strategy = strategy

    @property
    def codes(self) -> frozenset[str]:
        """Every reason code present, e.g. {"context_too_small", "no_tools"}."""
        return frozenset(entry.code for entry in self.reasons) | frozenset(
            code for code, _ in self.excluded_counts
        )


class InvalidStrategyError(RoutingError):
    pass


class RoutingRequestError(RoutingError):
    """A request body that cannot be routed (not an object, messages not a list, ...)."""
