"""The feature-flag gate every flow passes first: may this flow run on this deployment?

    skipped = _gate.skip_unless("provider")
    if skipped is not None:
        return skipped            # {"status": "skipped", "area": ..., "flag": ..., "reason": ...}

The flag is read by ``minerva_core.flags.flow_enabled`` (the database overrides for this
deployment, else the environment) in a task of its own, so the decision shows as a step
of the run in the Prefect UI; a skip is logged through the run logger with its reason.
Which area each flow belongs to is ``minerva_core.flags.FLOW_AREAS``.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import _runtime
from minerva_core.flags import flag_name, flow_enabled


@task(name="check-feature-flag", task_run_name="feature-flag-{area}", cache_policy=NO_CACHE)
def check_flag(area: str) -> tuple[bool, str]:
    cfg = _runtime.settings()
    return flow_enabled(area, settings=cfg, engine=_runtime.engine(cfg))


def skip_unless(area: str) -> dict | None:
    """None when ``area`` is on here; else the flow's answer, with the reason logged."""
    enabled, reason = check_flag(area)
    if enabled:
        return None
    get_run_logger().warning("skipped: %s", reason)
    return {"status": "skipped", "area": area, "flag": flag_name(area), "reason": reason}


__all__ = ["check_flag", "skip_unless"]
