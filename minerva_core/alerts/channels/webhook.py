"""The webhook channel: Slack-compatible JSON ({"text": ..., "blocks": [...]}) POSTed with
httpx, retried on 429, 5xx and transport failures (timeouts, refused connections).

config:
    url | url_env       the endpoint, or the environment variable holding it (a Slack URL is
                        a secret: prefer url_env). Only its host is ever logged or stored.
    timeout_seconds     per request, default 10
    max_attempts        tries in this delivery, default 3
    backoff_seconds     first pause between tries, doubled each time, default 1; a
                        Retry-After header wins, up to max_backoff_seconds (default 30)
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import httpx

from minerva_core.alerts.channels.base import AlertMessage
from minerva_core.errors import AlertChannelConfigError, WebhookDeliveryError

log = logging.getLogger("minerva.alerts.webhook")

_sending = threading.local()


class _HideWebhookUrl(logging.Filter):
    """httpx logs each request's full URL at INFO ("HTTP Request: POST <url> ..."); a
    webhook URL's path is its token. While this thread sends a webhook, the URL argument of
    httpx's records is replaced by the host alone."""

    def filter(self, record: logging.LogRecord) -> bool:
        host = getattr(_sending, "host", None)
        if host is not None and isinstance(record.args, tuple) and len(record.args) >= 2:
            record.args = (record.args[0], f"<webhook {host}>", *record.args[2:])
        return True


logging.getLogger("httpx").addFilter(_HideWebhookUrl())

SEVERITY_EMOJI = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}


def _escape(value: str) -> str:
    """Slack mrkdwn control characters."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: AlertMessage) -> dict[str, Any]:
    """The message as Slack's incoming webhooks take it; text is the notification fallback."""
    emoji = SEVERITY_EMOJI.get(alert.severity, "")
    facts = [{"type": "mrkdwn", "text": f"*{label}*\n{_escape(value)}"} for label, value in alert.facts()]
    return {
        "text": _escape(f"{alert.title}: {alert.message}"),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150], "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} {_escape(alert.message)}".strip()[:3000]}},
            # Slack allows at most 10 fields in a section.
            {"type": "section", "fields": facts[:10]},
            {"type": "context",
             "elements": [{"type": "mrkdwn", "text": f"Minerva alert {alert.event_id} · {alert.source}"}]},
        ],
    }


def host_of(url: str) -> str:
    return urlsplit(url).hostname or "?"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._transport = transport
        self._sleep = sleep
        self._environ = environ

    def _url(self, config: Mapping[str, Any]) -> str:
        url = config.get("url")
        if url is None and config.get("url_env"):
            url = (self._environ if self._environ is not None else os.environ).get(str(config["url_env"]))
            if not url:
                raise AlertChannelConfigError(
                    f"webhook url variable {config['url_env']} is not set", channel=self.name, attempts=0
                )
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise AlertChannelConfigError("webhook needs an http(s) url or url_env", channel=self.name, attempts=0)
        return url

    def send(self, alert: AlertMessage, config: Mapping[str, Any]) -> int:
        url = self._url(config)
        host = host_of(url)
        max_attempts = max(int(config.get("max_attempts", 3)), 1)
        backoff = float(config.get("backoff_seconds", 1.0))
        max_backoff = float(config.get("max_backoff_seconds", 30.0))
        body = slack_payload(alert)
        _sending.host = host
        try:
            return self._post(alert, config, url, host, body, max_attempts, backoff, max_backoff)
        finally:
            _sending.host = None

    def _post(
        self, alert: AlertMessage, config: Mapping[str, Any], url: str, host: str, body: dict,
        max_attempts: int, backoff: float, max_backoff: float,
    ) -> int:
        with httpx.Client(timeout=float(config.get("timeout_seconds", 10.0)), transport=self._transport) as client:
            for attempt in range(1, max_attempts + 1):
                wait = backoff * 2 ** (attempt - 1)
                try:
                    response = client.post(url, json=body)
                except httpx.TransportError as exc:
                    error = WebhookDeliveryError(
                        f"webhook to {host} failed: {exc.__class__.__name__}", attempts=attempt, retryable=True
                    )
                else:
                    if response.is_success:
                        log.info("alert %s delivered to webhook host %s (try %d)", alert.event_id, host, attempt)
                        return attempt
                    retryable = response.status_code == 429 or response.status_code >= 500
                    error = WebhookDeliveryError(
                        f"webhook to {host} answered {response.status_code}",
                        attempts=attempt, status_code=response.status_code, retryable=retryable,
                    )
                    wait = _retry_after(response) or wait
                log.warning("alert %s: %s (try %d of %d)", alert.event_id, error, attempt, max_attempts)
                if not error.retryable or attempt == max_attempts:
                    raise error
                self._sleep(min(wait, max_backoff))
        raise AssertionError("unreachable")
