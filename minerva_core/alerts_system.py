"""System alerts (raised by Minerva itself, not by a rule): quarantined batches, failures."""

from __future__ import annotations

import json
from typing import Any, Mapping

from sqlalchemy import Connection, text


def raise_system_alert(
    conn: Connection,
    *,
    kind: str,
    severity: str,
    message: str,
    fingerprint: str,
    payload: Mapping[str, Any] | None = None,
) -> int:
    """Insert a pending alert event; the alerts flow delivers it."""
    return conn.execute(
        text(
            "INSERT INTO alert_events (source, kind, fingerprint, severity, message, payload) "
            "VALUES ('system', :kind, :fingerprint, :severity, :message, CAST(:payload AS jsonb)) "
            "RETURNING id"
        ),
        {
            "kind": kind,
            "fingerprint": fingerprint,
            "severity": severity,
            "message": message,
            "payload": json.dumps(dict(payload or {}), default=str),
        },
    ).scalar_one()
