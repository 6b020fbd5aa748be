"""The log channel: one line on the ``minerva.alerts`` logger, at a level by severity."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from minerva_core.alerts.channels.base import AlertMessage
from minerva_core.errors import AlertChannelConfigError

LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}


class LogChannel:
    """config: {"level": "INFO|WARNING|ERROR|CRITICAL"} optional, else by severity."""

    name = "log"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("minerva.alerts")

    def send(self, alert: AlertMessage, config: Mapping[str, Any]) -> int:
        level = LEVELS.get(alert.severity, logging.WARNING)
        if "level" in config:
            level = logging.getLevelName(str(config["level"]).upper())
            if not isinstance(level, int):
                raise AlertChannelConfigError(f"log level {config['level']!r} is unknown", channel=self.name, attempts=0)
        facts = " ".join(f"{label.lower().replace(' ', '_')}={value}" for label, value in alert.facts())
        self.logger.log(
            level, "ALERT %s: %s (%s)", alert.title, alert.message, facts,
            extra={"alert_event_id": alert.event_id, "alert_kind": alert.kind, "alert_severity": alert.severity},
        )
        return 1
