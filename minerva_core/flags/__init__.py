"""Feature flags: ENABLE_OPENROUTER_PROVIDER / _ROUTING / _ANALYTICS / _MIGRATION.

definitions  the flags, the resolution order (deployment row > '*' row > environment >
             default) and resolve() (pure)
store        feature_flags rows: load, set, delete (audited)
resolver     FlagResolver: cached per process (TTL + LISTEN minerva_catalog), require()
flows        flow_enabled(area) -> (bool, reason) for flows; FLOW_AREAS

A disabled area answers 503 with code "feature_disabled" (minerva_core.errors.FeatureDisabledError):

    {"error": {"message": "routing is disabled on deployment 'default': ENABLE_OPENROUTER_ROUTING is off (environment)",
               "type": "service_unavailable", "code": "feature_disabled", "param": "ENABLE_OPENROUTER_ROUTING",
               "details": {"flag": ..., "area": "routing", "deployment": "default", "source": "environment"}}}

What each flag switches off:

    provider   /v1/chat/completions, /v1/models, the admin proxy/chat/completions and
               provider/* routes (503); the discover, pricing, backfill and reconcile flows
    routing    routing/recommend and routing/strategies* (503); chat requests go to the model
               they name only (``model``, else the first of ``models[]``): no strategy, no
               fallbacks, no cooldown substitutes; a strategy alias, minerva/auto or no model
               answers 503 feature_disabled; /v1/models lists models, not aliases
    analytics  analytics/* (503); the refresh flow's materialized-view refreshes (the ledger's
               partitions are still made: the proxy's ledger needs them whatever the flags)
    migration  migration/* (503); the guardrails flow

Flows and their area (FLOW_AREAS, by deployment name). A flow whose area is off returns
{"status": "skipped", "area", "flag", "reason"} without touching the database or the upstream,
and logs the reason through its Prefect run logger:

    discover, pricing, backfill, reconcile   provider
    refresh                                  analytics
    guardrails                               migration
    alerts                                   none: it always runs (it delivers the system alerts
                                             of every area and watches budgets and spend)

A discover or pricing run started for a queued sync job (the admin API) marks that job
failed with the skip reason, so the job's poller sees it end.

The gateway holds the flags in memory (proxy.gateway.flags): read at start and again on
every change (NOTIFY minerva_catalog, or the version poll), never per request.
"""

from minerva_core.flags.definitions import (
    ALL_DEPLOYMENTS,
    AREAS,
    DEFAULT_DEPLOYMENT,
    FLAG_AREAS,
    FlagState,
    Override,
    check_deployment,
    deployment_name,
    flag_name,
    resolve,
)
from minerva_core.flags.flows import FLOW_AREAS, flow_enabled
from minerva_core.flags.resolver import FlagResolver
from minerva_core.flags.store import delete_override, load_overrides, set_override

__all__ = [
    "ALL_DEPLOYMENTS", "AREAS", "DEFAULT_DEPLOYMENT", "FLAG_AREAS", "FLOW_AREAS", "FlagResolver", "FlagState", "Override",
    "check_deployment", "delete_override", "deployment_name", "flag_name", "flow_enabled", "load_overrides",
    "resolve", "set_override",
]
