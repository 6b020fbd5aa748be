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
    ├── RoutingError
    │   ├── NoRouteError            no model meets the request; carries every exclusion reason
    │   ├── InvalidStrategyError    a strategy's kind, weights or requirement overrides are unusable
    │   └── RoutingRequestError     a chat request body cannot be read for routing (a 400)
    ├── ApiError                    what an HTTP API answers with; carries status, type, code, param
    │   ├── InvalidParameterError   400: a query, path or body value is unusable (param names it)
    │   │   └── LegacyExportError   a legacy export (JSON) that cannot be loaded; names the record
    │   ├── UnauthorizedError       401: no credentials, or wrong ones
    │   ├── ForbiddenError          403: known caller, not allowed here
    │   ├── ResourceNotFoundError   404: an unknown id
    │   │   └── UnknownModelsError  model ids absent from the catalog; carries every one
    │   ├── ConflictError           409: e.g. a sync job of that kind is already queued or running
    │   │   ├── RolloutStateError   a rollout change the feature's status forbids (paused, rolled back)
    │   │   └── LegacyMigrationError    legacy counts/checksums differ after copying; nothing is kept
    │   ├── ServiceUnavailableError 503: something the request needs is not there right now
    │   │   └── FeatureDisabledError    an ENABLE_OPENROUTER_* flag is off here; code feature_disabled
    │   ├── PayloadTooLargeError    413: a request body over the proxy's size limit
    │   ├── RateLimitError          429: a key's rpm/tpm limit; carries retry_after
    │   ├── BudgetExceededError     402: a key's budget would be exceeded
    │   ├── NoRouteApiError         400/503: no model can serve the request (the routing reasons)
    │   └── UpstreamApiError        an upstream failure as the client sees it (status per instance)
    ├── FlowLaunchError             a flow run could not be started (subprocess or deployment)
    ├── SharedLimitsUnavailable     the shared rate-limit/budget store (Redis) did not answer in
    │                               time; the proxy falls back to in-process limits
    ├── BillingError                a bill cannot be imported
    │   └── BillFormatError         a bad bill file; carries line (1-based) and column
    ├── ReconciliationError         the ledger cannot be reconciled as asked
    │   └── ReconciliationInputError    a bad period or tolerance, or an amount that cannot be
    │                                   held exactly (more than 24 decimals)
    ├── OptimisationError           the cost-savings analysis cannot run as asked
    │   ├── OptimisationInputError  an empty or zone-less period, a negative minimum saving
    │   └── SavingsNotReadyError    the daily savings rollup (mv_savings_daily) was never refreshed
    └── AlertError
        ├── AlertRuleError          a rule cannot be evaluated (unknown metric, bad scope value)
        └── AlertDeliveryError      a channel did not deliver; carries channel, attempts, retryable
            ├── AlertChannelConfigError  channel_config unusable (no url, password variable unset)
            ├── WebhookDeliveryError     the webhook failed (status_code when it answered)
            └── EmailDeliveryError       the SMTP exchange failed (smtp_code when it answered)

Foreign exceptions (httpx, psycopg, pgserver) are mapped to these at the boundary, by type
and status, never by message text.

The classes live in four small modules (``base``: the root and the platform's machinery;
``upstream``; ``api``: what HTTP answers with; ``domain``: catalog, pricing, routing, alerts,
billing, reconciliation, savings); always import them from ``minerva_core.errors``.
"""

from __future__ import annotations

from minerva_core.errors.base import *  # noqa: F403
from minerva_core.errors.upstream import *  # noqa: F403
from minerva_core.errors.api import *  # noqa: F403
from minerva_core.errors.domain import *  # noqa: F403
from minerva_core.errors import base as _base
from minerva_core.errors import upstream as _upstream
from minerva_core.errors import api as _api
from minerva_core.errors import domain as _domain

__all__ = [*_base.__all__, *_upstream.__all__, *_api.__all__, *_domain.__all__]
