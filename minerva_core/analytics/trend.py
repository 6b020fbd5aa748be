"""Trend math: a figure now against the period of the same length just before. Pure."""

from __future__ import annotations

from minerva_core.analytics.results import PerformanceFigures, Trend

TREND_FIGURES = ("requests", "p50_latency_ms", "p95_latency_ms", "p50_ttft_ms", "error_rate", "throughput_tps")


def trend(current: float | None, previous: float | None) -> Trend:
    """delta = current - previous; pct_change = 100 * delta / previous. Unknown (None) when a
    side is unknown, and pct_change also when previous is 0 (no finite percentage)."""
    if current is None or previous is None:
        return Trend(current, previous, None, None)
    delta = current - previous
    pct = None if previous == 0 else 100.0 * delta / previous
    return Trend(current, previous, delta, pct)


def figure(figures: PerformanceFigures | None, name: str) -> float | None:
    """A figure of a window; a window without requests has 0 requests and unknown rates."""
    if figures is None:
        return 0 if name == "requests" else None
    value = getattr(figures, name)
    return None if value is None else value


def trends(current: PerformanceFigures | None, previous: PerformanceFigures | None) -> dict[str, Trend]:
    return {name: trend(figure(current, name), figure(previous, name)) for name in TREND_FIGURES}
