"""Errors of an upstream (OpenRouter or an OpenAI-compatible provider), typed by what failed
and, for an HTTP answer, by its status.

Part of ``minerva_core.errors`` (the tree is in its docstring); import from there."""

from __future__ import annotations

from minerva_core.errors.base import MinervaError


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


__all__ = ['UpstreamError', 'UpstreamTimeout', 'UpstreamConnectionError', 'UpstreamProtocolError', 'UpstreamStatusError', 'BadRequest', 'ContextLengthExceeded', 'AuthenticationError', 'InsufficientCredits', 'PermissionDenied', 'NotFound', 'RequestTimeout', 'RateLimited', 'ServerError']
