"""What an HTTP API answers with: each carries its status, OpenAI-style type, code and param.

Part of ``minerva_core.errors`` (the tree is in its docstring); import from there."""

from __future__ import annotations

from minerva_core.errors.base import MinervaError


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



class PayloadTooLargeError(ApiError):
    status_code = 413
    error_type = "invalid_request_error"
    code = "payload_too_large"


class RateLimitError(ApiError):
    status_code = 429
    error_type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class BudgetExceededError(ApiError):
    status_code = 402
    error_type = "insufficient_quota"
    code = "budget_exceeded"


class NoRouteApiError(ApiError):
    status_code = 400
    error_type = "invalid_request_error"
    code = "no_route"

    def __init__(self, message: str, *, status: int = 400, code: str | None = None,
                 retry_after: float | None = None, details: dict | None = None) -> None:
        super().__init__(message, code=code, param="model", details=details)
        self.status_code = status
        if status == 503:
            self.error_type = "service_unavailable"
        self.retry_after = retry_after


class UpstreamApiError(ApiError):
    """An upstream failure as the client sees it; ``status_code`` is set per instance."""

    def __init__(self, message: str, *, status: int, error_type: str, code: str | None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.status_code = status
        self.error_type = error_type
        self.retry_after = retry_after

__all__ = ['ApiError', 'InvalidParameterError', 'UnauthorizedError', 'ForbiddenError', 'ResourceNotFoundError', 'UnknownModelsError', 'ConflictError', 'ServiceUnavailableError', 'FeatureDisabledError', 'RolloutStateError', 'LegacyMigrationError', 'LegacyExportError', 'PayloadTooLargeError', 'RateLimitError', 'BudgetExceededError', 'NoRouteApiError', 'UpstreamApiError']
