"""Analytics over the rollup views (never the raw ledger): usage time series, model
performance with trends, costs with budgets and reconciliation, and the proxy's model health.

    views        names, sentinels, the unpopulated-view mapping (503), refresh times
    params       request parameters and bucketing math (pure)
    usage        analytics/usage          performance  analytics/performance
    costs        analytics/costs          health       load_model_health (the proxy)
    trend        current vs previous period (pure)
    results      the dataclasses every query answers with (Decimal money)

The views themselves: sql/20261128002000_analytics_views.sql.
"""

from minerva_core.analytics.costs import CostQuery, cost_report
from minerva_core.analytics.health import load_model_health
from minerva_core.analytics.performance import PerformanceQuery, performance_report
from minerva_core.analytics.usage import UsageFilter, UsageQuery, usage_report

__all__ = [
    "CostQuery",
    "PerformanceQuery",
    "UsageFilter",
    "UsageQuery",
    "cost_report",
    "load_model_health",
    "performance_report",
    "usage_report",
]
