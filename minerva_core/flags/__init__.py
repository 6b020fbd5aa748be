"""Feature flags: ENABLE_OPENROUTER_PROVIDER / _ROUTING / _ANALYTICS / _MIGRATION.

definitions  the flags, the resolution order (deployment row > '*' row > environment >
             default) and resolve() (pure)
store        feature_flags rows: load, set, delete (audited)
resolver     FlagResolver: cached per process (TTL + LISTEN minerva_catalog), require()
flows        flow_enabled(area) -> (bool, reason) for flows

A disabled area answers 503 with code "feature_disabled" (minerva_core.errors.FeatureDisabledError).
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
from minerva_core.flags.flows import flow_enabled
from minerva_core.flags.resolver import FlagResolver
from minerva_core.flags.store import delete_override, load_overrides, set_override

__all__ = [
    "ALL_DEPLOYMENTS", "AREAS", "DEFAULT_DEPLOYMENT", "FLAG_AREAS", "FlagResolver", "FlagState", "Override",
    "check_deployment", "delete_override", "deployment_name", "flag_name", "flow_enabled", "load_overrides",
    "resolve", "set_override",
]
