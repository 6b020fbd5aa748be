"""Errors of the domain logic: catalog normalisation, pricing, routing, alerts, billing,
reconciliation and the savings analysis.

Part of ``minerva_core.errors`` (the tree is in its docstring); import from there."""

from __future__ import annotations

from minerva_core.errors.base import MinervaError


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


__all__ = ['CatalogError', 'CatalogFormatError', 'CatalogRecordError', 'CatalogPriceError', 'DuplicateModelError', 'PricingError', 'MissingPriceError', 'VariablePriceError', 'InvalidPriceError', 'InvalidUsageError', 'RoutingError', 'NoRouteError', 'InvalidStrategyError', 'RoutingRequestError', 'AlertError', 'AlertRuleError', 'AlertDeliveryError', 'AlertChannelConfigError', 'WebhookDeliveryError', 'EmailDeliveryError', 'BillingError', 'BillFormatError', 'ReconciliationError', 'ReconciliationInputError', 'OptimisationError', 'OptimisationInputError', 'SavingsNotReadyError']
