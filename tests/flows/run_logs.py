"""The flow-run logs the Prefect API holds (what the UI shows), read back after a run."""

from __future__ import annotations

from datetime import datetime


def run_logs_since(since: datetime) -> list[tuple[int, str]]:
    """(level, message) of every flow or task run log sent to the API at or after ``since``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterTimestamp
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)  # the handler sends in batches: send what is queued
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(timestamp=LogFilterTimestamp(after_=since)), limit=200)
    return [(log.level, log.message) for log in logs]
