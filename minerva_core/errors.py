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
    │   └── ServiceUnavailableError 503: something the request needs is not there right now
    │       └── FeatureDisabledError    an ENABLE_OPENROUTER_* flag is off here; code feature_disabled
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


class ApiError(MinervaError):
    """An error an HTTP API answers with its own status. The proxy renders every one as an
    OpenAI-style body ``{"error": {"message", "type", "code", "param"}}``; the message must
    never contain a secret."""

    status_code: int = 400
    error_type: str = "invalid_request_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        details: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.param = param
        self.details = details  # extra JSON-safe facts for the client (ids, a job id, ...)


class InvalidParameterError(ApiError):
    status_code = 400
    error_type = "invalid_request_error"
    code = "invalid_parameter"


class UnauthorizedError(ApiError):
    status_code = 401
    error_type = "authentication_error"
    code = "unauthorized"


class ForbiddenError(ApiError):
    status_code = 403
    error_type = "permission_error"
    code = "forbidden"


class ResourceNotFoundError(ApiError):
    status_code = 404
    error_type = "not_found_error"
    code = "not_found"


class UnknownModelsError(ResourceNotFoundError):
    """Model ids that are not in the catalog; ``model_ids`` holds every one, sorted."""

    code = "model_not_found"

    def __init__(self, model_ids, *, param: str | None = "model_ids") -> None:
        self.model_ids = tuple(sorted(model_ids))
        shown = ", ".join(self.model_ids[:20])
        more = f" and {len(self.model_ids) - 20} more" if len(self.model_ids) > 20 else ""
        super().__init__(
            f"{len(self.model_ids)} unknown model id(s): {shown}{more}; nothing was changed",
            param=param,
            details={"unknown_model_ids": list(self.model_ids)},
        )


class ConflictError(ApiError):
    status_code = 409
    error_type = "conflict_error"
    code = "conflict"


class ServiceUnavailableError(ApiError):
    status_code = 503
    error_type = "service_unavailable"
    code = "service_unavailable"


class FeatureDisabledError(ServiceUnavailableError):
    """An area switched off by its ENABLE_OPENROUTER_* flag for this deployment (503,
    code ``feature_disabled``, param = the flag's name). ``source`` says which setting decided."""

    code = "feature_disabled"

    def __init__(self, flag: str, *, area: str, deployment: str, source: str) -> None:
        super().__init__(
            f"{area} is disabled on deployment {deployment!r}: {flag} is off ({source})",
            param=flag,
            details={"flag": flag, "area": area, "deployment": deployment, "source": source},
        )
        self.flag = flag
        self.area = area
        self.deployment = deployment
        self.source = source


class RolloutStateError(ConflictError):
    """A rollout, pause, resume or rollback that the feature's current status forbids."""

    code = "invalid_rollout_state"


class LegacyMigrationError(ConflictError):
    """The legacy migration's counts or checksums differ between source and target; the
    transaction is rolled back. ``details["report"]`` holds the per-table figures."""

    code = "legacy_mismatch"


class LegacyExportError(InvalidParameterError):
    """A legacy export that cannot be loaded; the message names the record and field."""

    code = "invalid_legacy_export"


class FlowLaunchError(MinervaError):
    """A flow run could not be started (the subprocess did not start, or the Prefect API
    refused the deployment run)."""


class SharedLimitsUnavailable(MinervaError):
    pass


class AlertError(MinervaError):
    """The alerts package (``minerva_core.alerts``) failed."""


class AlertRuleError(AlertError):
    """A rule that cannot be evaluated: unknown metric, unknown scope key, unusable value."""

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(f"alert rule {rule!r}: {message}" if rule else message)
        self.rule = rule


class AlertDeliveryError(AlertError):
    """A channel did not deliver. ``attempts`` is how many tries were made (0 when it could
    not start); ``retryable`` whether a later run may succeed. Messages never hold secrets:
    a webhook is named by its host only, never by its URL."""

    retryable: bool = True

    def __init__(
        self, message: str, *, channel: str, attempts: int = 1, retryable: bool | None = None
    ) -> None:
        super().__init__(message)
        self.channel = channel
        self.attempts = attempts
        if retryable is not None:
            self.retryable = retryable


class AlertChannelConfigError(AlertDeliveryError):
    retryable = False


class WebhookDeliveryError(AlertDeliveryError):
    def __init__(
        self, message: str, *, attempts: int, status_code: int | None = None, retryable: bool | None = None
    ) -> None:
        super().__init__(message, channel="webhook", attempts=attempts, retryable=retryable)
        self.status_code = status_code


class EmailDeliveryError(AlertDeliveryError):
    def __init__(
        self, message: str, *, attempts: int, smtp_code: int | None = None, retryable: bool | None = None
    ) -> None:
        super().__init__(message, channel="email", attempts=attempts, retryable=retryable)
        self.smtp_code = smtp_code


class BillingError(MinervaError):
    """A bill (activity rows, an OpenRouter CSV export, a provider invoice) cannot be imported."""


class BillFormatError(BillingError):
    """A bill file that cannot be read. ``line`` is the 1-based line of the file (the CSV
    header is line 1; for /activity JSON, the 1-based position in its ``data`` list), or None
    for the file as a whole; ``column`` names the offending column or field, if any."""

    def __init__(self, line: int | None, column: str | None, message: str) -> None:
        where = ", ".join(
            part
            for part in (
                f"line {line}" if line is not None else None,
                f"column {column!r}" if column else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.line = line
        self.column = column
        self.reason = message


class ReconciliationError(MinervaError):
    """The ledger cannot be reconciled against the bills as asked."""


class ReconciliationInputError(ReconciliationError):
    """A period, tolerance or amount that the reconciliation cannot use exactly."""


class OptimisationError(MinervaError):
    """The cost-savings analysis (``minerva_core.optimisation``) cannot run as asked."""


class OptimisationInputError(OptimisationError):
    """A period that is empty or has no time zone, or an unusable minimum saving."""


class SavingsNotReadyError(OptimisationError):
    """The daily savings rollup (mv_savings_daily) has not been populated yet: the refresh
    flow has not run since it was created."""
