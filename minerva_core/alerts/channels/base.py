"""What every channel receives (AlertMessage) and promises (Channel.send)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, Protocol

from minerva_core.alerts.rules import describe


@dataclass(frozen=True)
class AlertMessage:
    """An alert event as channels render it; no channel configuration in it."""

    event_id: int
    source: str
    kind: str
    severity: str
    message: str
    fired_at: datetime
    rule_name: str | None = None
    observed_value: Decimal | None = None
    threshold: Decimal | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        what = self.rule_name or self.kind
        return f"[{self.severity.upper()}] {what}"

    def facts(self) -> list[tuple[str, str]]:
        """(label, value) pairs every channel shows, in order."""
        facts = [("Severity", self.severity), ("Kind", self.kind), ("Source", self.source)]
        if self.observed_value is not None:
            facts.append(("Observed", describe(self.observed_value)))
        if self.threshold is not None:
            comparison = self.payload.get("comparison")
            limit = describe(self.threshold)
            facts.append(("Threshold", f"{comparison} {limit}" if comparison else limit))
        subject = self.payload.get("subject")
        if subject:
            facts.append(("Subject", ", ".join(f"{k}={v}" for k, v in sorted(subject.items()))))
        facts.append(("Fired at", self.fired_at.isoformat()))
        facts.append(("Event", str(self.event_id)))
        return facts


class Channel(Protocol):
    name: str

    def send(self, alert: AlertMessage, config: Mapping[str, Any]) -> int:
        """Deliver the alert; return how many tries it took. Raise AlertDeliveryError (with
        its attempts and whether a later run may succeed) when it could not."""
        ...
