"""Where alerts go: log, webhook (Slack-compatible) and email (SMTP). Each channel takes an
AlertMessage and its rule's channel_config, returns the tries it took, or raises
AlertDeliveryError; none logs a secret (webhook URLs by host only, passwords never)."""

from __future__ import annotations

from typing import Mapping

from minerva_core.alerts.channels.base import AlertMessage, Channel
from minerva_core.alerts.channels.email import EmailChannel
from minerva_core.alerts.channels.log import LogChannel
from minerva_core.alerts.channels.webhook import WebhookChannel, slack_payload

__all__ = [
    "AlertMessage", "Channel", "EmailChannel", "LogChannel", "WebhookChannel",
    "default_channels", "slack_payload",
]


def default_channels(environ: Mapping[str, str] | None = None) -> dict[str, Channel]:
    """One instance of each channel, keyed by alert_rules.channel."""
    return {
        "log": LogChannel(),
        "webhook": WebhookChannel(environ=environ),
        "email": EmailChannel(environ=environ),
    }
